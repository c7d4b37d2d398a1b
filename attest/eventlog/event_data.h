// Typed decoders for TCG PC Client event data. Each is a pure function over an Event's untrusted
// data bytes: it returns a value or an InvalidArgument error naming the field, never reads out of
// bounds and never trusts a length before checking it against what is left.
//
// Nothing decoded here is verified. The event type is not covered by the digest, and for many
// types the digest is not over these bytes (e.g. EV_EFI_BOOT_SERVICES_APPLICATION hashes the PE
// image). Policy must only use decoded data of events that replay verified and whose digest it
// has checked against the data where the spec says the digest covers it.
#ifndef BOOTGATE_ATTEST_EVENTLOG_EVENT_DATA_H_
#define BOOTGATE_ATTEST_EVENTLOG_EVENT_DATA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/eventlog/efi_types.h"
#include "attest/eventlog/event_log.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// ---- EV_NO_ACTION ----------------------------------------------------------------------------

// TCG_EfiSpecIDEvent ("Spec ID Event03", crypto-agile header) or the older TCG_EfiSpecIdEventStruct
// / TCG_PCClientSpecIDEventStruct ("Spec ID Event02" / "Spec ID Event00"; no algorithm list).
struct SpecIdEvent {
  std::string signature;  // without the NUL
  uint32_t platform_class = 0;
  uint8_t spec_version_minor = 0;
  uint8_t spec_version_major = 0;
  uint8_t spec_errata = 0;
  uint8_t uintn_size = 0;                   // 1 = UINT32, 2 = UINT64
  std::vector<SpecIdAlgorithm> algorithms;  // Event03 only
  Bytes vendor_info;
};
// Event03 checks: 1..kMaxDigestsPerEvent algorithms, no duplicates, every size in 1..64 and equal
// to the known size for known algorithms; no bytes after vendorInfo.
absl::StatusOr<SpecIdEvent> DecodeSpecIdEvent(ByteSpan data);
// True when `data` starts with a "Spec ID EventNN" signature.
bool IsSpecIdEvent(ByteSpan data);

// TCG_EfiStartupLocalityEvent: exactly "StartupLocality\0" + one byte.
struct StartupLocalityEvent {
  uint8_t locality = 0;
};
absl::StatusOr<StartupLocalityEvent> DecodeStartupLocalityEvent(ByteSpan data);
bool IsStartupLocalityEvent(ByteSpan data);

// A TCG locator (SP800-155 Event3 RIM and platform-certificate locators).
struct TcgLocator {
  uint32_t type = 0;  // 0 raw, 1 URI, 2 device path, 3 UEFI variable
  Bytes data;
  std::string text;  // URI, device path text or "guid:name"; hex for raw data
};

// TCG_Sp800_155_PlatformId_Event{,2,3}: platform and firmware identity and, in Event3, where to
// fetch the reference integrity manifest. Informational (EV_NO_ACTION, never extended).
struct Sp800155Event {
  int version = 3;         // 1 = "SP800-155 Event", 2 = "SP800-155 Event2", 3 = "SP800-155 Event3"
  uint32_t vendor_id = 0;  // IANA enterprise number
  EfiGuid reference_manifest_guid;
  std::string platform_manufacturer;
  std::string platform_model;
  std::string platform_version;
  std::string firmware_manufacturer;
  uint32_t firmware_manufacturer_id = 0;
  std::string firmware_version;
  std::optional<TcgLocator> rim_locator;            // Event3
  std::optional<TcgLocator> platform_cert_locator;  // Event3
};
absl::StatusOr<Sp800155Event> DecodeSp800155Event(ByteSpan data);
bool IsSp800155Event(ByteSpan data);

// ---- UEFI variables (EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2, _AUTHORITY) ----------------

// UEFI_VARIABLE_DATA.
struct UefiVariableData {
  EfiGuid vendor;
  std::string name;  // UTF-8
  Bytes data;
  size_t padding_bytes = 0;  // bytes after VariableData (shim quirk, see quirks.h)
};
// Strict unless `max_padding` > 0: then up to that many bytes may follow VariableData.
absl::StatusOr<UefiVariableData> DecodeUefiVariableData(ByteSpan data, size_t max_padding = 0);

// EFI_SIGNATURE_DATA.
struct EfiSignatureData {
  EfiGuid owner;
  Bytes data;  // DER certificate for EFI_CERT_X509, a hash for EFI_CERT_SHA256, ...
};
// EFI_SIGNATURE_LIST.
struct EfiSignatureList {
  EfiGuid type;
  Bytes header;
  std::vector<EfiSignatureData> signatures;
};
// A sequence of EFI_SIGNATURE_LISTs, as in PK, KEK, db, dbx and MokList. Empty data is an empty
// list (an empty dbx).
absl::StatusOr<std::vector<EfiSignatureList>> DecodeEfiSignatureLists(ByteSpan data);
// One EFI_SIGNATURE_DATA spanning all of `data` (EV_EFI_VARIABLE_AUTHORITY).
absl::StatusOr<EfiSignatureData> DecodeEfiSignatureData(ByteSpan data);

// The parts of an X.509 certificate worth showing. DER must be one complete certificate.
struct X509Summary {
  std::string subject;  // "C=US, O=Microsoft Corporation, CN=..."
  std::string issuer;
  std::string serial;      // hex
  std::string not_before;  // "2011-10-19T18:41:42Z"
  std::string not_after;
  Bytes sha256_fingerprint;
};
absl::StatusOr<X509Summary> SummarizeX509(ByteSpan der);

// EFI_LOAD_OPTION (Boot####).
struct EfiLoadOption {
  uint32_t attributes = 0;
  std::string description;
  std::vector<std::string> device_paths;  // FilePathList as text; [0] is the boot device
  Bytes optional_data;
};
absl::StatusOr<EfiLoadOption> DecodeEfiLoadOption(ByteSpan data);

// BootOrder: a list of UINT16 option numbers.
absl::StatusOr<std::vector<uint16_t>> DecodeBootOrder(ByteSpan data);

// A variable event with its contents decoded according to the variable's name and vendor.
struct UefiVariableEvent {
  UefiVariableData variable;
  // At most one of these is set; none for variables whose contents we do not interpret.
  std::optional<uint8_t> flag;                      // SecureBoot, SetupMode, AuditMode, ...
  std::optional<std::vector<uint16_t>> boot_order;  // BootOrder
  std::optional<EfiLoadOption> load_option;         // Boot####
  std::optional<std::vector<EfiSignatureList>> signature_lists;  // PK, KEK, db, dbx, MokList...
  std::optional<EfiSignatureData> signature_data;                // EV_EFI_VARIABLE_AUTHORITY
  std::optional<Bytes> certificate;  // a bare DER certificate (shim's "Shim")
  std::optional<std::string> text;   // SbatLevel and other text
};
absl::StatusOr<UefiVariableEvent> DecodeUefiVariableEvent(uint32_t event_type, ByteSpan data);

// ---- Images, firmware blobs, tables, GPT -----------------------------------------------------

// UEFI_IMAGE_LOAD_EVENT (EV_EFI_BOOT_SERVICES_APPLICATION / _DRIVER,
// EV_EFI_RUNTIME_SERVICES_DRIVER).
struct ImageLoadEvent {
  uint64_t image_location = 0;
  uint64_t image_length = 0;
  uint64_t link_time_address = 0;
  Bytes device_path;
  std::string device_path_text;  // empty when LengthOfDevicePath is 0
  size_t padding_bytes = 0;      // bytes after the device path (shim quirk, see quirks.h)
};
absl::StatusOr<ImageLoadEvent> DecodeImageLoadEvent(ByteSpan data);

// UEFI_PLATFORM_FIRMWARE_BLOB and (with a description) UEFI_PLATFORM_FIRMWARE_BLOB2.
struct FirmwareBlobEvent {
  std::optional<std::string> description;  // BLOB2 only
  uint64_t base = 0;
  uint64_t length = 0;
};
absl::StatusOr<FirmwareBlobEvent> DecodeFirmwareBlob(ByteSpan data);
absl::StatusOr<FirmwareBlobEvent> DecodeFirmwareBlob2(ByteSpan data);

// UEFI_HANDOFF_TABLE_POINTERS and (with a description) UEFI_HANDOFF_TABLE_POINTERS2.
struct HandoffTablesEvent {
  struct Table {
    EfiGuid vendor_guid;
    uint64_t address = 0;
  };
  std::optional<std::string> description;  // TABLES2 only
  std::vector<Table> tables;
};
absl::StatusOr<HandoffTablesEvent> DecodeHandoffTables(ByteSpan data);
absl::StatusOr<HandoffTablesEvent> DecodeHandoffTables2(ByteSpan data);

// UEFI_GPT_DATA: the GPT header and the partition entries in use.
struct GptPartition {
  EfiGuid type;
  EfiGuid unique;
  uint64_t first_lba = 0;
  uint64_t last_lba = 0;
  uint64_t attributes = 0;
  std::string name;
};
struct GptEvent {
  uint32_t revision = 0;
  uint64_t my_lba = 0;
  uint64_t alternate_lba = 0;
  uint64_t first_usable_lba = 0;
  uint64_t last_usable_lba = 0;
  EfiGuid disk_guid;
  uint64_t partition_entry_lba = 0;
  uint32_t number_of_partition_entries = 0;
  uint32_t size_of_partition_entry = 0;
  std::vector<GptPartition> partitions;
};
absl::StatusOr<GptEvent> DecodeGptEvent(ByteSpan data);

// ---- Strings and small events ------------------------------------------------------------------

// TCG_PCClientTaggedEvent (EV_EVENT_TAG). Linux's EFI stub tags its initrd and load-options
// measurements (kLinuxInitrdTagId, kLinuxLoadOptionsTagId) with a short description.
struct TaggedEvent {
  uint32_t id = 0;
  Bytes data;
  std::optional<std::string> text;  // data as text when it is text
};
absl::StatusOr<TaggedEvent> DecodeTaggedEvent(ByteSpan data);

// EV_IPL: boot-loader measurements of strings.
enum class IplKind {
  kGrubCommand,     // grub: "grub_cmd: <command>" (PCR 8)
  kKernelCmdline,   // grub: "kernel_cmdline: <cmdline>" (PCR 8)
  kSystemdSection,  // systemd-stub: UKI section name, UTF-16 (PCR 11)
  kString,          // any other text: grub file paths (PCR 9), shim's MokList names (PCR 14), ...
  kBinary,
};
struct IplEvent {
  IplKind kind = IplKind::kBinary;
  std::string text;  // without the "grub_cmd: " / "kernel_cmdline: " prefix; empty for binary
  bool utf16 = false;
};
absl::StatusOr<IplEvent> DecodeIplEvent(uint32_t pcr, ByteSpan data);
const char* IplKindName(IplKind kind);

// EV_SEPARATOR: 0 (normal), or 1 / 0xFFFFFFFF (an error was detected).
struct SeparatorEvent {
  uint32_t value = 0;
};
absl::StatusOr<SeparatorEvent> DecodeSeparator(ByteSpan data);

// Strings that may be 8-bit or UTF-16 (EV_EFI_ACTION, EV_ACTION, EV_S_CRTM_VERSION,
// EV_PLATFORM_CONFIG_FLAGS, ...), with a GUID or raw bytes where the data is not text.
struct TextEvent {
  std::optional<std::string> text;
  bool utf16 = false;
  std::optional<EfiGuid> guid;  // EV_S_CRTM_VERSION: some firmware logs a GUID
  Bytes raw;                    // set when the data is neither text nor a GUID
};
// EV_EFI_ACTION / EV_ACTION: must be 8-bit text.
absl::StatusOr<TextEvent> DecodeActionEvent(ByteSpan data);
// EV_S_CRTM_VERSION: UTF-16 string, GUID, or raw.
absl::StatusOr<TextEvent> DecodeCrtmVersion(ByteSpan data);
// Anything: text if it looks like text, else raw.
TextEvent DecodeTextOrBlob(ByteSpan data);

// EV_POST_CODE / EV_POST_CODE2: a string ("ACPI DATA", "Embedded UEFI Driver", ...) or a firmware
// blob reference.
struct PostCodeEvent {
  std::optional<std::string> text;
  std::optional<FirmwareBlobEvent> blob;
};
absl::StatusOr<PostCodeEvent> DecodePostCode(uint32_t event_type, ByteSpan data);

// An EV_NO_ACTION record that is none of the structured kinds (vendor data, Windows' SIPA data).
struct NoActionEvent {
  std::string signature;  // the leading NUL-terminated ASCII signature, if any
  Bytes data;
};

// ---- Dispatch --------------------------------------------------------------------------------

// An event's data as raw bytes: types without a decoder (EV_NONHOST_*, EV_COMPACT_HASH, ...).
struct RawEvent {
  TextEvent contents;
};

using EventDetails =
    std::variant<RawEvent, SpecIdEvent, StartupLocalityEvent, Sp800155Event, NoActionEvent,
                 UefiVariableEvent, ImageLoadEvent, FirmwareBlobEvent, HandoffTablesEvent, GptEvent,
                 TaggedEvent, IplEvent, SeparatorEvent, TextEvent, PostCodeEvent>;

// Decodes an event's data according to its type (and, for EV_IPL, its PCR). Errors mean the data
// does not have the structure its type promises.
absl::StatusOr<EventDetails> DecodeEventData(const Event& event);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_EVENT_DATA_H_
