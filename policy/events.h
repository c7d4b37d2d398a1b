// Classification of replay-verified events by what their digests prove, shared by learn.h and
// evaluate.h so that a learned image describes exactly what evaluation later compares.
//
// The event type is not covered by the digest, so a kind is only assigned when the digest
// confirms it where it can: a separator, an EFI action, a UEFI variable, a grub command or a UKI
// section name is recognised only if its digest (in every bank given) equals the hash of its
// data; events whose digest must cover their data but does not are kDataMismatch. Events whose
// digest covers data outside the log (PE images, files, section contents, MOK lists) are
// classified by PCR and type and are then compared by digest against golden values.
#ifndef BOOTGATE_POLICY_EVENTS_H_
#define BOOTGATE_POLICY_EVENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/eventlog/event_data.h"
#include "attest/eventlog/event_log.h"
#include "policy/model.h"

namespace bootgate::policy {

inline constexpr char kActionCallingBootOption[] = "Calling EFI Application from Boot Option";
inline constexpr char kActionReturningBootOption[] =
    "Returning from EFI Application from Boot Option";
inline constexpr char kActionExitBootServicesInvocation[] = "Exit Boot Services Invocation";
inline constexpr char kActionExitBootServicesReturned[] =
    "Exit Boot Services Returned with Success";

enum class EventKind {
  kSeparator,         // value: separator_value (0 = normal)
  kAction,            // EV_EFI_ACTION / EV_ACTION text with a matching digest
  kEfiApplication,    // PCR 4 EV_EFI_BOOT_SERVICES_APPLICATION (digest = Authenticode)
  kVariable,          // PCR 7 EV_EFI_VARIABLE_DRIVER_CONFIG, digest checked, decoded
  kAuthority,         // PCR 7 EV_EFI_VARIABLE_AUTHORITY, digest checked, decoded
  kGrubCommand,       // PCR 8 "grub_cmd: " (text without the prefix), digest checked
  kKernelCmdline,     // PCR 8 "kernel_cmdline: ", digest checked
  kGrubFile,          // PCR 9 EV_IPL: text = path, digest = H(file)
  kLinuxLoadOptions,  // PCR 9 EV_EVENT_TAG 0x8F3B22ED
  kLinuxInitrd,       // PCR 9 EV_EVENT_TAG 0x8F3B22EC
  kUkiSectionName,    // PCR 11 EV_IPL whose digest is H(".name\0"): text = name
  kUkiSectionData,    // PCR 11 EV_IPL following a section name: text = name
  kMok,               // PCR 14 EV_IPL: text = variable name, digest = H(variable contents)
  kGpt,               // EV_EFI_GPT_EVENT with a matching digest
  kDataMismatch,      // digest must cover the data but does not: nothing decoded is trusted
  kOther,             // anything else, compared by digest only
};

struct ClassifiedEvent {
  const attest::Event* event = nullptr;
  EventKind kind = EventKind::kOther;
  std::string text;  // action text, command, cmdline, path, section or variable name
  uint32_t separator_value = 0;
  std::optional<attest::UefiVariableEvent> variable;  // kVariable, kAuthority
  // One-line rendering for findings. Computed on demand: rendering decodes certificates, and
  // only the events named in a finding need it (evaluation stays cheap on the accept path).
  std::string description() const;
};

// Classifies `events` (replay-verified, in log order) checking content digests in `banks`.
// `events` must outlive the result (it points into it).
std::vector<ClassifiedEvent> ClassifyEvents(const std::vector<attest::Event>& events,
                                            const std::vector<uint16_t>& banks);

// True when a field of GoldenImage (rather than otherEvents) describes the event: separators,
// actions, boot applications, Secure Boot variables and authorities, grub strings and files,
// EFI-stub tags, UKI sections, MOK measurements, GPT. kDataMismatch events count as described
// (evaluation reports them on their own). Learning and evaluation split events the same way.
bool IsDescribedByImageFields(const ClassifiedEvent& c);

// The event's digests in `banks` (banks the event lacks are left out).
BankDigests EventDigests(const attest::Event& event, const std::vector<uint16_t>& banks);
// The digest of one bank, or nullptr.
const attest::Bytes* EventDigest(const attest::Event& event, uint16_t bank);
// The first bank in which `expected` and the event differ (a bank missing on either side counts
// as a difference), or nullopt when they agree in every bank of `banks`.
std::optional<uint16_t> FirstDifferingBank(const BankDigests& expected, const attest::Event& event,
                                           const std::vector<uint16_t>& banks);

// The signature-database entries of a decoded variable (PK, KEK, db, dbx, MokList) or
// authority (EFI_SIGNATURE_DATA or shim's bare certificate), identified as in SignatureEntry.
// `describe`: fill SignatureEntry::description from the certificate subject (parses every X.509
// certificate: learning wants it, evaluation compares hashes only and skips it).
std::vector<SignatureEntry> SignatureEntriesOf(const attest::UefiVariableEvent& variable,
                                               bool describe = true);

// Hash of `data` per bank (banks OpenSSL cannot hash are left out).
BankDigests HashPerBank(attest::ByteSpan data, const std::vector<uint16_t>& banks);
// The Linux EFI stub's LoadOptions digest for a command line: H(UTF-16LE(cmdline) + u"\0").
attest::Bytes Utf16LeWithNul(const std::string& ascii_or_utf8);

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_EVENTS_H_
