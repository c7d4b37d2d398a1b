// TPM2_Quote verification: pure, complete and strict. Bytes and values in, a verdict with one
// named result per check out; nothing here reads files, clocks or randomness.
//
// Checks, in this order (names are stable; they appear in JSON output and audit records):
//   ak_public        the AK public area parses (TPM2B_PUBLIC or bare TPMT_PUBLIC) and converts to
//                    an OpenSSL key; its name is computed
//   ak_attributes    CheckAkPublic (restricted signing key ...), with QuoteVerifyOptions::ak's
//                    relaxations
//   signature        TPMT_SIGNATURE over the exact TPMS_ATTEST bytes, scheme pinned by the AK
//                    (VerifyTpmSignature)
//   magic            TPMS_ATTEST.magic == TPM_GENERATED_VALUE
//   type             TPMS_ATTEST.type == TPM_ST_ATTEST_QUOTE
//   attest_structure the whole TPMS_ATTEST decodes (no trailing bytes, no bank listed twice)
//   nonce            extraData == the expected nonce (constant time)
//   pcr_selection    the signed selection selects at least one PCR and, when a selection was
//                    requested, equals it as a set of (bank, PCR) pairs
//   pcr_values       the PCR values to check cover exactly the signed selection: every selected
//                    PCR is supplied, and every supplied PCR of a selected bank is selected (an
//                    extra PCR is a failure, not ignored). Banks the quote does not select are
//                    not covered by it and are left out of quoted_pcrs. Without supplied values,
//                    the values come from the event-log replay (RestrictReplayToSelection).
//   pcr_digest       H_sig(selected values in selection order) == the signed pcrDigest, constant
//                    time, with the signature's hash (TPM 2.0 Part 3, TPM2_Quote; confirmed by the
//                    Windows/GCE bundle: SHA-1 signing scheme, SHA-256 nameAlg, 20-byte digest)
//   eventlog_replay  only when both supplied values and a replay are given: every selected PCR the
//                    log extended replays to the supplied value. A selected PCR the log never
//                    extended must hold its reset value, or else it was extended by something
//                    outside this log (IMA's PCR 10 in the QEMU and COS captures): the detail names
//                    it and it does not fail the check, since the log makes no claim about it and
//                    its events cannot be replay-verified for policy either.
//
// Fail closed: checks run in order and stop at the first failure; every later check is still
// listed, as kNotRun with the detail "not run: <first failure> failed", because its inputs are
// unauthenticated or missing (a nonce "match" inside an unsigned structure proves nothing). The
// verdict starts false and becomes true in one place, after every planned check has passed.
#ifndef BOOTGATE_ATTEST_QUOTE_QUOTE_VERIFIER_H_
#define BOOTGATE_ATTEST_QUOTE_QUOTE_VERIFIER_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attest/pcr/pcr_values.h"
#include "attest/quote/findings.h"
#include "attest/tpm/key_checks.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

inline constexpr char kCheckAkPublic[] = "ak_public";
inline constexpr char kCheckAkAttributes[] = "ak_attributes";
inline constexpr char kCheckSignature[] = "signature";
inline constexpr char kCheckMagic[] = "magic";
inline constexpr char kCheckType[] = "type";
inline constexpr char kCheckAttestStructure[] = "attest_structure";
inline constexpr char kCheckNonce[] = "nonce";
inline constexpr char kCheckPcrSelection[] = "pcr_selection";
inline constexpr char kCheckPcrValues[] = "pcr_values";
inline constexpr char kCheckPcrDigest[] = "pcr_digest";
inline constexpr char kCheckEventLogReplay[] = "eventlog_replay";

enum class CheckState { kPassed, kFailed, kNotRun };

struct QuoteCheck {
  std::string name;
  CheckState state = CheckState::kFailed;
  // kOk exactly when passed.
  QuoteFinding finding = QuoteFinding::kNotVerified;
  std::string detail;

  bool passed() const { return state == CheckState::kPassed; }
};

struct QuoteVerifyOptions {
  AkCheckOptions ak;
};

// Everything borrowed: spans and pointees must outlive the VerifyQuote call.
struct QuoteInput {
  ByteSpan ak_public;  // TPM2B_PUBLIC or bare TPMT_PUBLIC
  ByteSpan attest;     // TPMS_ATTEST exactly as signed (TPM2B_ATTEST contents)
  ByteSpan signature;  // TPMT_SIGNATURE
  ByteSpan nonce;      // the expected extraData
  // The selection the verifier asked for; null = accept whatever was signed (pcr_values still
  // binds the values to the signed selection).
  const PcrSelection* requested_selection = nullptr;
  // PCR values to check against the quote (e.g. the agent's PCR_Read). Null = use the replay.
  const PcrValues* pcr_values = nullptr;
  // Event-log replay output (ReplayEventLog). With pcr_values: also compared against them.
  const PcrValues* replayed_pcrs = nullptr;
  QuoteVerifyOptions options;
};

struct ClockInfo {
  uint64_t clock = 0;
  uint32_t reset_count = 0;
  uint32_t restart_count = 0;
  bool safe = false;
};

// Fields of the TPMS_ATTEST. Present once it decoded, which happens only after the signature
// verified; authentic only when the verdict is true.
struct QuotedInfo {
  ClockInfo clock;
  uint64_t firmware_version = 0;
  Bytes qualified_signer;
  Bytes extra_data;
  PcrSelection selection;  // in the signed (TPML) order
  Bytes pcr_digest;
};

struct QuoteResult {
  bool verdict = false;
  // The first failed check's finding; kOk when the verdict is true.
  QuoteFinding finding = QuoteFinding::kNotVerified;
  std::vector<QuoteCheck> checks;
  std::optional<QuotedInfo> quote;
  Bytes ak_name;  // nameAlg || H(TPMT_PUBLIC), once the AK parsed
  uint16_t signature_scheme = TPM2_ALG_NULL;
  uint16_t signature_hash = TPM2_ALG_NULL;  // also the pcrDigest hash
  // Exactly the signed selection's values that pcr_digest was computed over.
  PcrValues quoted_pcrs;

  // The first failed check, or null when none failed.
  const QuoteCheck* FirstFailure() const;
};

QuoteResult VerifyQuote(const QuoteInput& input);

// The individual checks VerifyQuote runs, for callers (and tests) that need one on its own.
// CheckMagic and CheckQuoteType look only at the fixed header, so they judge bytes that do not
// decode as a whole.
QuoteCheck CheckMagic(ByteSpan attest);
QuoteCheck CheckQuoteType(ByteSpan attest);
QuoteCheck CheckNonce(ByteSpan extra_data, ByteSpan expected_nonce);
QuoteCheck CheckPcrSelection(const PcrSelection& signed_selection,
                             const PcrSelection* requested_selection);
// On success `*covered` (if non-null) receives exactly the selected values.
QuoteCheck CheckPcrValuesCoverSelection(const PcrSelection& signed_selection,
                                        const PcrValues& values, PcrValues* covered);

// PC Client reset value of a PCR the event log never extended: all ones for the DRTM PCRs 17-22
// (they read 0xFF.. until a dynamic launch, as the GCE bundles show), zeros for 0-16 and 23. PCR
// 0's StartupLocality start value is the replay's business, not this function's.
Bytes PcrResetValue(uint16_t alg, uint32_t pcr);

// An event-log replay restricted to a quote's signed selection: a selected PCR the log never
// extended takes its reset value; a selected bank the log has no digests for fails with
// kEventLogBankMissing (a replay cannot say anything about it).
struct ReplayRestriction {
  QuoteFinding finding = QuoteFinding::kNotVerified;  // kOk on success
  std::string detail;
  PcrValues values;     // exactly the selection, on success
  PcrSet not_extended;  // selected PCRs the log never extended (given their reset value)
};
ReplayRestriction RestrictReplayToSelection(const PcrValues& replayed,
                                            const PcrSelection& selection);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_QUOTE_QUOTE_VERIFIER_H_
