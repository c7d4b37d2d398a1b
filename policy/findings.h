// Stable finding codes of golden-measurement evaluation (docs/policy.md lists each with its
// meaning). They are stored with attestation results and may be named in a Policy's warnOnly
// list: never renamed.
#ifndef BOOTGATE_POLICY_FINDINGS_H_
#define BOOTGATE_POLICY_FINDINGS_H_

#include <string>
#include <vector>

namespace bootgate::policy::codes {

// Node group and evidence coverage.
inline constexpr char kNoGroupForNode[] = "POLICY_NO_GROUP_FOR_NODE";
inline constexpr char kBankNotQuoted[] = "POLICY_BANK_NOT_QUOTED";
inline constexpr char kPcrNotQuoted[] = "POLICY_PCR_NOT_QUOTED";
inline constexpr char kPcrNotVerified[] = "POLICY_PCR_NOT_VERIFIED";
// An event whose digest must cover its data (actions, separators, variables, grub strings) but
// does not: its decoded contents cannot be trusted.
inline constexpr char kEventDataMismatch[] = "POLICY_EVENT_DATA_MISMATCH";

// Event-order rules.
inline constexpr char kSeparatorMissing[] = "POLICY_SEPARATOR_MISSING";
inline constexpr char kSeparatorDuplicate[] = "POLICY_SEPARATOR_DUPLICATE";
inline constexpr char kSeparatorError[] = "POLICY_SEPARATOR_ERROR";
inline constexpr char kExitBootServicesMissing[] = "POLICY_EXIT_BOOT_SERVICES_MISSING";
inline constexpr char kApplicationBeforeBootOption[] = "POLICY_APPLICATION_BEFORE_BOOT_OPTION";
inline constexpr char kApplicationAfterExitBootServices[] =
    "POLICY_APPLICATION_AFTER_EXIT_BOOT_SERVICES";

// Golden image (PCRs 4, 5, 7, 8, 9, 11, 14).
inline constexpr char kNoMatchingImage[] = "POLICY_NO_MATCHING_IMAGE";
inline constexpr char kImageExpired[] = "POLICY_IMAGE_EXPIRED";
inline constexpr char kImageNotYetValid[] = "POLICY_IMAGE_NOT_YET_VALID";
inline constexpr char kBootChainMismatch[] = "POLICY_BOOT_CHAIN_MISMATCH";
inline constexpr char kExtraEfiApplication[] = "POLICY_EXTRA_EFI_APPLICATION";
inline constexpr char kBootActionUnexpected[] = "POLICY_BOOT_ACTION_UNEXPECTED";
inline constexpr char kGrubCommandMismatch[] = "POLICY_GRUB_COMMAND_MISMATCH";
inline constexpr char kCmdlineMismatch[] = "POLICY_CMDLINE_MISMATCH";
inline constexpr char kFileMismatch[] = "POLICY_FILE_MISMATCH";
inline constexpr char kInitrdMismatch[] = "POLICY_INITRD_MISMATCH";
inline constexpr char kUkiSectionMismatch[] = "POLICY_UKI_SECTION_MISMATCH";
inline constexpr char kSecureBootDisabled[] = "POLICY_SECUREBOOT_DISABLED";
inline constexpr char kSecureBootUnexpected[] = "POLICY_SECUREBOOT_UNEXPECTED";
inline constexpr char kSecureBootKeyNotAllowed[] = "POLICY_SECUREBOOT_KEY_NOT_ALLOWED";
inline constexpr char kDbxEntryMissing[] = "POLICY_DBX_ENTRY_MISSING";
inline constexpr char kAuthorityNotAllowed[] = "POLICY_AUTHORITY_NOT_ALLOWED";
inline constexpr char kSbatLevelMismatch[] = "POLICY_SBAT_LEVEL_MISMATCH";
inline constexpr char kMokMismatch[] = "POLICY_MOK_MISMATCH";
inline constexpr char kUnexpectedEvent[] = "POLICY_UNEXPECTED_EVENT";

// Platform reference (PCRs 0-3, 6).
inline constexpr char kNoMatchingPlatform[] = "POLICY_NO_MATCHING_PLATFORM";
inline constexpr char kPlatformMismatch[] = "POLICY_PLATFORM_MISMATCH";
inline constexpr char kScrtmVersionMismatch[] = "POLICY_SCRTM_VERSION_MISMATCH";

// Every code above, for validating warnOnly lists and for documentation tests.
const std::vector<std::string>& AllCodes();
bool IsKnownCode(const std::string& code);

}  // namespace bootgate::policy::codes

#endif  // BOOTGATE_POLICY_FINDINGS_H_
