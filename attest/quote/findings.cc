#include "attest/quote/findings.h"

namespace bootgate::attest {

namespace {
struct FindingName {
  QuoteFinding finding;
  const char* name;
};
constexpr FindingName kNames[] = {
    {QuoteFinding::kNotVerified, "QUOTE_NOT_VERIFIED"},
    {QuoteFinding::kOk, "QUOTE_OK"},
    {QuoteFinding::kAkMalformed, "QUOTE_AK_MALFORMED"},
    {QuoteFinding::kAkAttributes, "QUOTE_AK_ATTRIBUTES"},
    {QuoteFinding::kSignatureMalformed, "QUOTE_SIGNATURE_MALFORMED"},
    {QuoteFinding::kSchemeMismatch, "QUOTE_SIGNATURE_SCHEME_MISMATCH"},
    {QuoteFinding::kSchemeNotAllowed, "QUOTE_SIGNATURE_SCHEME_NOT_ALLOWED"},
    {QuoteFinding::kSignatureInvalid, "QUOTE_SIGNATURE_INVALID"},
    {QuoteFinding::kBadMagic, "QUOTE_BAD_MAGIC"},
    {QuoteFinding::kNotAQuote, "QUOTE_NOT_A_QUOTE"},
    {QuoteFinding::kAttestMalformed, "QUOTE_ATTEST_MALFORMED"},
    {QuoteFinding::kNonceMismatch, "QUOTE_NONCE_MISMATCH"},
    {QuoteFinding::kSelectionMismatch, "QUOTE_SELECTION_MISMATCH"},
    {QuoteFinding::kPcrValuesMismatchSelection, "QUOTE_PCR_VALUES_MISMATCH_SELECTION"},
    {QuoteFinding::kPcrDigestMismatch, "QUOTE_PCR_DIGEST_MISMATCH"},
    {QuoteFinding::kEventLogBankMissing, "EVENTLOG_BANK_MISSING"},
    {QuoteFinding::kEventLogReplayMismatch, "EVENTLOG_REPLAY_MISMATCH"},
};
}  // namespace

const char* QuoteFindingName(QuoteFinding finding) {
  for (const auto& n : kNames) {
    if (n.finding == finding) return n.name;
  }
  return "QUOTE_NOT_VERIFIED";
}

std::optional<QuoteFinding> QuoteFindingFromName(absl::string_view name) {
  for (const auto& n : kNames) {
    if (name == n.name) return n.finding;
  }
  return std::nullopt;
}

}  // namespace bootgate::attest
