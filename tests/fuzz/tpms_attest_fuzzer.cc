// Fuzzes TPMS_ATTEST decoding and the checks that read it without a signature: header, selection
// conversion, TPML_PCR_SELECTION. Invariant: a decoded TPMS_ATTEST re-marshals to the input bytes
// (the decoder is exact, so nothing is silently dropped or normalised).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "attest/crypto/hash.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/attest_structs.h"
#include "attest/tpm/pcr_selection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::attest;  // NOLINT(build/namespaces): fuzz entry point
  const ByteSpan input(data, size);
  (void)CheckMagic(input);
  (void)CheckQuoteType(input);
  if (auto tpml = ParseTpmlPcrSelection(input); tpml.ok()) {
    auto selection = PcrSelectionFromTpml(*tpml);
    if (selection.ok()) (void)FormatPcrSelectionSpec(*selection);
  }
  auto attest = ParseTpmsAttest(input);
  if (!attest.ok()) return 0;
  auto bytes = MarshalTpmsAttest(*attest);
  if (!bytes.ok() || *bytes != Bytes(data, data + size)) std::abort();
  if (attest->type == TPM2_ST_ATTEST_QUOTE) {
    auto selection = PcrSelectionFromTpml(attest->attested.quote.pcrSelect);
    if (selection.ok()) {
      (void)CheckPcrSelection(*selection, nullptr);
      const std::string spec = FormatPcrSelectionSpec(*selection);
      // Selections within PCR 0-23 survive the text form.
      bool in_range = true;
      for (const auto& bank : *selection) {
        if (!KnownDigestSize(bank.alg).has_value()) in_range = false;
        for (uint32_t pcr : bank.pcrs) in_range = in_range && pcr <= kMaxPcrIndex;
      }
      if (in_range && !spec.empty()) {
        auto parsed = ParsePcrSelectionSpec(spec);
        if (!parsed.ok() || !SameSelection(*parsed, *selection)) std::abort();
      }
    }
  }
  return 0;
}
