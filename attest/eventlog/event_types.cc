#include "attest/eventlog/event_types.h"

#include "absl/strings/str_format.h"

namespace bootgate::attest {

namespace {

struct TypeName {
  uint32_t type;
  const char* name;
};

constexpr TypeName kTypeNames[] = {
    {kEvPrebootCert, "EV_PREBOOT_CERT"},
    {kEvPostCode, "EV_POST_CODE"},
    {kEvUnused, "EV_UNUSED"},
    {kEvNoAction, "EV_NO_ACTION"},
    {kEvSeparator, "EV_SEPARATOR"},
    {kEvAction, "EV_ACTION"},
    {kEvEventTag, "EV_EVENT_TAG"},
    {kEvSCrtmContents, "EV_S_CRTM_CONTENTS"},
    {kEvSCrtmVersion, "EV_S_CRTM_VERSION"},
    {kEvCpuMicrocode, "EV_CPU_MICROCODE"},
    {kEvPlatformConfigFlags, "EV_PLATFORM_CONFIG_FLAGS"},
    {kEvTableOfDevices, "EV_TABLE_OF_DEVICES"},
    {kEvCompactHash, "EV_COMPACT_HASH"},
    {kEvIpl, "EV_IPL"},
    {kEvIplPartitionData, "EV_IPL_PARTITION_DATA"},
    {kEvNonhostCode, "EV_NONHOST_CODE"},
    {kEvNonhostConfig, "EV_NONHOST_CONFIG"},
    {kEvNonhostInfo, "EV_NONHOST_INFO"},
    {kEvOmitBootDeviceEvents, "EV_OMIT_BOOT_DEVICE_EVENTS"},
    {kEvPostCode2, "EV_POST_CODE2"},
    {kEvEfiEventBase, "EV_EFI_EVENT_BASE"},
    {kEvEfiVariableDriverConfig, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
    {kEvEfiVariableBoot, "EV_EFI_VARIABLE_BOOT"},
    {kEvEfiBootServicesApplication, "EV_EFI_BOOT_SERVICES_APPLICATION"},
    {kEvEfiBootServicesDriver, "EV_EFI_BOOT_SERVICES_DRIVER"},
    {kEvEfiRuntimeServicesDriver, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
    {kEvEfiGptEvent, "EV_EFI_GPT_EVENT"},
    {kEvEfiAction, "EV_EFI_ACTION"},
    {kEvEfiPlatformFirmwareBlob, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
    {kEvEfiHandoffTables, "EV_EFI_HANDOFF_TABLES"},
    {kEvEfiPlatformFirmwareBlob2, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
    {kEvEfiHandoffTables2, "EV_EFI_HANDOFF_TABLES2"},
    {kEvEfiVariableBoot2, "EV_EFI_VARIABLE_BOOT2"},
    {kEvEfiGptEvent2, "EV_EFI_GPT_EVENT2"},
    {kEvEfiHcrtmEvent, "EV_EFI_HCRTM_EVENT"},
    {kEvEfiVariableAuthority, "EV_EFI_VARIABLE_AUTHORITY"},
    {kEvEfiSpdmFirmwareBlob, "EV_EFI_SPDM_FIRMWARE_BLOB"},
    {kEvEfiSpdmFirmwareConfig, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
    {kEvEfiSpdmDevicePolicy, "EV_EFI_SPDM_DEVICE_POLICY"},
    {kEvEfiSpdmDeviceAuthority, "EV_EFI_SPDM_DEVICE_AUTHORITY"},
};

const char* Find(uint32_t type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return nullptr;
}

}  // namespace

std::string EventTypeName(uint32_t type) {
  const char* name = Find(type);
  if (name != nullptr) return name;
  return absl::StrFormat("EV_UNKNOWN_0x%08x", type);
}

bool IsKnownEventType(uint32_t type) { return Find(type) != nullptr; }

}  // namespace bootgate::attest
