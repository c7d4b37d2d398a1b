// Machine-readable outcomes of quote verification. The string names are stored in audit records
// and returned to operators: they are part of bootgate's stable interface, never renamed.
#ifndef BOOTGATE_ATTEST_QUOTE_FINDINGS_H_
#define BOOTGATE_ATTEST_QUOTE_FINDINGS_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace bootgate::attest {

enum class QuoteFinding {
  kNotVerified,                 // QUOTE_NOT_VERIFIED: the initial state, never a final answer
  kOk,                          // QUOTE_OK: every check passed
  kAkMalformed,                 // QUOTE_AK_MALFORMED
  kAkAttributes,                // QUOTE_AK_ATTRIBUTES
  kSignatureMalformed,          // QUOTE_SIGNATURE_MALFORMED
  kSchemeMismatch,              // QUOTE_SIGNATURE_SCHEME_MISMATCH
  kSchemeNotAllowed,            // QUOTE_SIGNATURE_SCHEME_NOT_ALLOWED
  kSignatureInvalid,            // QUOTE_SIGNATURE_INVALID
  kBadMagic,                    // QUOTE_BAD_MAGIC
  kNotAQuote,                   // QUOTE_NOT_A_QUOTE
  kAttestMalformed,             // QUOTE_ATTEST_MALFORMED
  kNonceMismatch,               // QUOTE_NONCE_MISMATCH
  kSelectionMismatch,           // QUOTE_SELECTION_MISMATCH
  kPcrValuesMismatchSelection,  // QUOTE_PCR_VALUES_MISMATCH_SELECTION
  kPcrDigestMismatch,           // QUOTE_PCR_DIGEST_MISMATCH
  kEventLogBankMissing,         // EVENTLOG_BANK_MISSING
  kEventLogReplayMismatch,      // EVENTLOG_REPLAY_MISMATCH
};

const char* QuoteFindingName(QuoteFinding finding);
std::optional<QuoteFinding> QuoteFindingFromName(absl::string_view name);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_QUOTE_FINDINGS_H_
