// TPM2_Quote together with the PCR values it covers.
#ifndef BOOTGATE_NODE_AGENT_TPM_QUOTE_H_
#define BOOTGATE_NODE_AGENT_TPM_QUOTE_H_

#include <tss2/tss2_esys.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/util/bytes.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

// Largest nonce accepted: the largest digest. (TPM2B_DATA could hold 2 more bytes, but TPMs limit
// qualifyingData to a digest; libtpms rejects 65 bytes.)
inline constexpr size_t kMaxNonceBytes = sizeof(TPMU_HA);

struct TpmQuote {
  attest::Bytes attest;            // TPMS_ATTEST exactly as signed (TPM2B_ATTEST.attestationData)
  attest::Bytes signature;         // TPMT_SIGNATURE, marshalled
  attest::PcrSelection selection;  // the signed selection, in TPML order
  attest::PcrValues pcrs;          // the values of exactly that selection
  uint16_t digest_alg = 0;         // the signature's hash: what pcrDigest is computed with
  int attempts = 0;                // quotes taken until pcrDigest matched the values read
};

// One TPM2_Quote, decoded (not yet checked against PCR values).
struct SignedQuote {
  attest::Bytes attest;
  attest::Bytes signature;
  attest::PcrSelection selection;  // the signed selection
  attest::Bytes pcr_digest;        // the signed pcrDigest
  uint16_t digest_alg = 0;
};
absl::StatusOr<SignedQuote> TakeQuote(TpmConnection& tpm, ESYS_TR ak, attest::ByteSpan nonce,
                                      const attest::PcrSelection& selection);

// The PCR values of a quote's signed selection, read now, and whether they hash to its pcrDigest
// (false when an extend came between the quote and the read).
struct QuotedPcrs {
  attest::PcrValues values;
  bool matches = false;
};
absl::StatusOr<QuotedPcrs> ReadQuotedPcrs(TpmConnection& tpm, const SignedQuote& quote);

// Quotes `nonce` over `selection` with the loaded AK (its own pinned scheme), reads the selected
// PCRs and recomputes pcrDigest from them. When they differ, an extend raced the quote; the pair
// is retaken, up to `max_attempts` times (ABORTED after that).
absl::StatusOr<TpmQuote> QuoteAndReadPcrs(TpmConnection& tpm, ESYS_TR ak, attest::ByteSpan nonce,
                                          const attest::PcrSelection& selection, int max_attempts);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_QUOTE_H_
