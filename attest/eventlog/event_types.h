// TCG PC Client event types (PC Client Platform Firmware Profile 1.06, section 10.4.1) and the
// signatures of the EV_NO_ACTION records that carry structured data.
#ifndef BOOTGATE_ATTEST_EVENTLOG_EVENT_TYPES_H_
#define BOOTGATE_ATTEST_EVENTLOG_EVENT_TYPES_H_

#include <cstdint>
#include <string>

namespace bootgate::attest {

inline constexpr uint32_t kEvPrebootCert = 0x00000000;
inline constexpr uint32_t kEvPostCode = 0x00000001;
inline constexpr uint32_t kEvUnused = 0x00000002;
inline constexpr uint32_t kEvNoAction = 0x00000003;
inline constexpr uint32_t kEvSeparator = 0x00000004;
inline constexpr uint32_t kEvAction = 0x00000005;
inline constexpr uint32_t kEvEventTag = 0x00000006;
inline constexpr uint32_t kEvSCrtmContents = 0x00000007;
inline constexpr uint32_t kEvSCrtmVersion = 0x00000008;
inline constexpr uint32_t kEvCpuMicrocode = 0x00000009;
inline constexpr uint32_t kEvPlatformConfigFlags = 0x0000000A;
inline constexpr uint32_t kEvTableOfDevices = 0x0000000B;
inline constexpr uint32_t kEvCompactHash = 0x0000000C;
inline constexpr uint32_t kEvIpl = 0x0000000D;
inline constexpr uint32_t kEvIplPartitionData = 0x0000000E;
inline constexpr uint32_t kEvNonhostCode = 0x0000000F;
inline constexpr uint32_t kEvNonhostConfig = 0x00000010;
inline constexpr uint32_t kEvNonhostInfo = 0x00000011;
inline constexpr uint32_t kEvOmitBootDeviceEvents = 0x00000012;
inline constexpr uint32_t kEvPostCode2 = 0x00000013;

inline constexpr uint32_t kEvEfiEventBase = 0x80000000;
inline constexpr uint32_t kEvEfiVariableDriverConfig = 0x80000001;
inline constexpr uint32_t kEvEfiVariableBoot = 0x80000002;
inline constexpr uint32_t kEvEfiBootServicesApplication = 0x80000003;
inline constexpr uint32_t kEvEfiBootServicesDriver = 0x80000004;
inline constexpr uint32_t kEvEfiRuntimeServicesDriver = 0x80000005;
inline constexpr uint32_t kEvEfiGptEvent = 0x80000006;
inline constexpr uint32_t kEvEfiAction = 0x80000007;
inline constexpr uint32_t kEvEfiPlatformFirmwareBlob = 0x80000008;
inline constexpr uint32_t kEvEfiHandoffTables = 0x80000009;
inline constexpr uint32_t kEvEfiPlatformFirmwareBlob2 = 0x8000000A;
inline constexpr uint32_t kEvEfiHandoffTables2 = 0x8000000B;
inline constexpr uint32_t kEvEfiVariableBoot2 = 0x8000000C;
inline constexpr uint32_t kEvEfiGptEvent2 = 0x8000000D;
inline constexpr uint32_t kEvEfiHcrtmEvent = 0x80000010;
inline constexpr uint32_t kEvEfiVariableAuthority = 0x800000E0;
inline constexpr uint32_t kEvEfiSpdmFirmwareBlob = 0x800000E1;
inline constexpr uint32_t kEvEfiSpdmFirmwareConfig = 0x800000E2;
inline constexpr uint32_t kEvEfiSpdmDevicePolicy = 0x800000E3;
inline constexpr uint32_t kEvEfiSpdmDeviceAuthority = 0x800000E4;

// "EV_EFI_ACTION" etc.; unknown types render as "EV_UNKNOWN_0x12345678".
std::string EventTypeName(uint32_t type);
// True for the types this file names (the rest are vendor or future types).
bool IsKnownEventType(uint32_t type);

// EV_NO_ACTION signatures (16 bytes including the NUL terminators).
inline constexpr char kSpecIdEvent03Signature[] = "Spec ID Event03";
inline constexpr char kStartupLocalitySignature[] = "StartupLocality";
inline constexpr char kSp800155Event3Signature[] = "SP800-155 Event3";
inline constexpr char kSp800155Event2Signature[] = "SP800-155 Event2";
inline constexpr char kSp800155EventSignature[] = "SP800-155 Event";

// Tagged-event ids used by Linux's EFI stub (drivers/firmware/efi/libstub).
inline constexpr uint32_t kLinuxInitrdTagId = 0x8F3B22EC;
inline constexpr uint32_t kLinuxLoadOptionsTagId = 0x8F3B22ED;

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_EVENT_TYPES_H_
