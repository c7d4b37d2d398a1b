#include "node-agent/tpm/quote.h"

#include <tss2/tss2_mu.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "attest/tpm/attest_structs.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/marshal.h"
#include "node-agent/tpm/pcr.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {
namespace {

absl::StatusOr<uint16_t> SignatureHash(const TPMT_SIGNATURE& sig) {
  switch (sig.sigAlg) {
    case TPM2_ALG_RSASSA:
      return sig.signature.rsassa.hash;
    case TPM2_ALG_RSAPSS:
      return sig.signature.rsapss.hash;
    case TPM2_ALG_ECDSA:
      return sig.signature.ecdsa.hash;
    default:
      return absl::UnimplementedError(
          absl::StrCat("quote signed with unsupported scheme 0x", absl::Hex(sig.sigAlg)));
  }
}

}  // namespace

absl::StatusOr<SignedQuote> TakeQuote(TpmConnection& tpm, ESYS_TR ak, attest::ByteSpan nonce,
                                      const attest::PcrSelection& selection) {
  if (nonce.size() > kMaxNonceBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "nonce of ", nonce.size(), " bytes; a quote carries at most ", kMaxNonceBytes));
  }
  if (attest::SelectedPcrCount(selection) == 0) {
    return absl::InvalidArgumentError("the PCR selection selects no PCR");
  }
  TPM2B_DATA qualifying{};
  qualifying.size = static_cast<uint16_t>(nonce.size());
  if (!nonce.empty()) std::memcpy(qualifying.buffer, nonce.data(), nonce.size());
  ASSIGN_OR_RETURN(TPML_PCR_SELECTION tpml, attest::PcrSelectionToTpml(selection));
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;  // the AK's pinned scheme

  EsysOut<TPM2B_ATTEST> quoted;
  EsysOut<TPMT_SIGNATURE> signature;
  TSS2_RC rc = Esys_Quote(tpm.esys(), ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying,
                          &scheme, &tpml, quoted.out(), signature.out());
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_Quote"));

  SignedQuote q;
  q.attest.assign(quoted->attestationData, quoted->attestationData + quoted->size);
  ASSIGN_OR_RETURN(q.signature,
                   MarshalTss(*signature, &Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE"));
  ASSIGN_OR_RETURN(q.digest_alg, SignatureHash(*signature));
  ASSIGN_OR_RETURN(TPMS_ATTEST attest, attest::ParseTpmsAttest(q.attest));
  if (attest.type != TPM2_ST_ATTEST_QUOTE) {
    return absl::DataLossError("TPM2_Quote returned a non-quote attestation");
  }
  const TPMS_QUOTE_INFO& info = attest.attested.quote;
  ASSIGN_OR_RETURN(q.selection, attest::PcrSelectionFromTpml(info.pcrSelect));
  q.pcr_digest.assign(info.pcrDigest.buffer, info.pcrDigest.buffer + info.pcrDigest.size);
  return q;
}

absl::StatusOr<QuotedPcrs> ReadQuotedPcrs(TpmConnection& tpm, const SignedQuote& quote) {
  ASSIGN_OR_RETURN(PcrReadResult read, ReadPcrs(tpm, quote.selection));
  ASSIGN_OR_RETURN(attest::Bytes digest,
                   attest::ComputePcrDigest(quote.digest_alg, quote.selection, read.values));
  QuotedPcrs out;
  out.values = std::move(read.values);
  out.matches = read.consistent && digest == quote.pcr_digest;
  return out;
}

absl::StatusOr<TpmQuote> QuoteAndReadPcrs(TpmConnection& tpm, ESYS_TR ak, attest::ByteSpan nonce,
                                          const attest::PcrSelection& selection, int max_attempts) {
  const int attempts = max_attempts < 1 ? 1 : max_attempts;
  for (int i = 1; i <= attempts; ++i) {
    ASSIGN_OR_RETURN(SignedQuote signed_quote, TakeQuote(tpm, ak, nonce, selection));
    ASSIGN_OR_RETURN(QuotedPcrs pcrs, ReadQuotedPcrs(tpm, signed_quote));
    if (!pcrs.matches) continue;  // an extend raced the quote: take both again
    TpmQuote q;
    q.attest = std::move(signed_quote.attest);
    q.signature = std::move(signed_quote.signature);
    q.selection = std::move(signed_quote.selection);
    q.pcrs = std::move(pcrs.values);
    q.digest_alg = signed_quote.digest_alg;
    q.attempts = i;
    return q;
  }
  return absl::AbortedError(absl::StrCat("PCRs changed between TPM2_Quote and TPM2_PCR_Read in ",
                                         attempts, " consecutive attempts"));
}

}  // namespace bootgate::agent
