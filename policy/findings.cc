#include "policy/findings.h"

#include <algorithm>

namespace bootgate::policy::codes {

const std::vector<std::string>& AllCodes() {
  static const std::vector<std::string>* const kAll = new std::vector<std::string>{
      kNoGroupForNode,
      kBankNotQuoted,
      kPcrNotQuoted,
      kPcrNotVerified,
      kEventDataMismatch,
      kSeparatorMissing,
      kSeparatorDuplicate,
      kSeparatorError,
      kExitBootServicesMissing,
      kApplicationBeforeBootOption,
      kApplicationAfterExitBootServices,
      kNoMatchingImage,
      kImageExpired,
      kImageNotYetValid,
      kBootChainMismatch,
      kExtraEfiApplication,
      kBootActionUnexpected,
      kGrubCommandMismatch,
      kCmdlineMismatch,
      kFileMismatch,
      kInitrdMismatch,
      kUkiSectionMismatch,
      kSecureBootDisabled,
      kSecureBootUnexpected,
      kSecureBootKeyNotAllowed,
      kDbxEntryMissing,
      kAuthorityNotAllowed,
      kSbatLevelMismatch,
      kMokMismatch,
      kUnexpectedEvent,
      kNoMatchingPlatform,
      kPlatformMismatch,
      kScrtmVersionMismatch,
  };
  return *kAll;
}

bool IsKnownCode(const std::string& code) {
  const auto& all = AllCodes();
  return std::find(all.begin(), all.end(), code) != all.end();
}

}  // namespace bootgate::policy::codes
