// Fuzzes the whole quote verification. Input layout (big-endian lengths):
//   u8 flags  (bit 0 allow_sha1_signing, bit 1 allow_sha1_name_alg, bit 2 values are passed as an
//              event-log replay instead of PCR values, bit 3 passed as both)
//   u16 n, AK public[n]; u16 n, TPMS_ATTEST[n]; u16 n, TPMT_SIGNATURE[n]; u8 n, nonce[n]
//   then PCR values until the end: u16 alg, u8 pcr, value[digest size of alg]
// The seeds are the real bundles encoded this way, so they verify. Invariants: the verdict is true
// exactly when every check passed, and a passing result covers exactly the signed selection.
#include <cstdint>
#include <cstdlib>

#include "attest/crypto/hash.h"
#include "attest/quote/quote_verifier.h"
#include "attest/util/byte_reader.h"

namespace {

using bootgate::attest::ByteReader;
using bootgate::attest::ByteSpan;

bool ReadPart(ByteReader* reader, ByteSpan* out) {
  auto n = reader->U16Be("length");
  if (!n.ok()) return false;
  auto span = reader->Span(*n, "part");
  if (!span.ok()) return false;
  *out = *span;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::attest;  // NOLINT(build/namespaces): fuzz entry point
  ByteReader reader(ByteSpan(data, size));
  auto flags = reader.U8("flags");
  if (!flags.ok()) return 0;
  QuoteInput in;
  if (!ReadPart(&reader, &in.ak_public) || !ReadPart(&reader, &in.attest) ||
      !ReadPart(&reader, &in.signature)) {
    return 0;
  }
  auto nonce_len = reader.U8("nonce length");
  if (!nonce_len.ok()) return 0;
  auto nonce = reader.Span(*nonce_len, "nonce");
  if (!nonce.ok()) return 0;
  in.nonce = *nonce;
  PcrValues values;
  while (!reader.empty()) {
    auto alg = reader.U16Be("alg");
    auto pcr = reader.U8("pcr");
    if (!alg.ok() || !pcr.ok()) break;
    const std::optional<size_t> digest_size = KnownDigestSize(*alg);
    if (!digest_size.has_value()) break;
    auto value = reader.Copy(*digest_size, "value");
    if (!value.ok()) break;
    values[*alg][*pcr] = *std::move(value);
  }
  in.options.ak.allow_sha1_signing = (*flags & 1) != 0;
  in.options.ak.allow_sha1_name_alg = (*flags & 2) != 0;
  const bool as_replay = (*flags & 4) != 0;
  const bool as_both = (*flags & 8) != 0;
  in.pcr_values = as_replay && !as_both ? nullptr : &values;
  in.replayed_pcrs = as_replay || as_both ? &values : nullptr;

  const QuoteResult result = VerifyQuote(in);
  bool all_passed = !result.checks.empty();
  for (const QuoteCheck& c : result.checks) all_passed = all_passed && c.passed();
  if (result.verdict != all_passed) std::abort();
  if (result.verdict) {
    if (result.finding != QuoteFinding::kOk || !result.quote.has_value()) std::abort();
    if (ToPcrSet(result.quote->selection) != [&] {
          PcrSet covered;
          for (const auto& [alg, bank] : result.quoted_pcrs) {
            for (const auto& entry : bank) covered.emplace(alg, entry.first);
          }
          return covered;
        }()) {
      std::abort();
    }
  } else if (result.finding == QuoteFinding::kOk || result.FirstFailure() == nullptr) {
    std::abort();
  }
  return 0;
}
