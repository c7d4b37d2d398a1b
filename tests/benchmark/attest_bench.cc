// Benchmarks of the attestation core (Google Benchmark; prints numbers, asserts nothing).
//
//   build/bin/attest_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Full appraisal = parse the 41 KB keylime Secure Boot log + replay every bank + verify a quote
// over the replayed sha256 PCRs (signature, nonce, selection, pcrDigest). The "signature only"
// cases are the floor: one EVP_DigestVerify over the same TPMS_ATTEST with a ready key, i.e. what
// this machine's OpenSSL can do at best; the ratio of the two is what bootgate adds.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/attest_structs.h"
#include "attest/tpm/public_area.h"
#include "tests/testing/software_ak.h"
#include "tests/testing/test_util.h"

namespace bootgate {
namespace {

using attest::Bytes;

constexpr char kKeylimeLog[] = "eventlogs/keylime__binary_bios_measurements-secureboot";

Bytes Nonce() { return Bytes(32, 0x5a); }

// A quote by a software AK over every sha256 PCR the log extended.
struct QuotedLog {
  Bytes log;
  testing::SoftwareAk ak;
  testing::SignedQuote quote;
  attest::PcrSelection selection;
};

QuotedLog MakeQuotedLog(const testing::SoftwareAkOptions& options) {
  Bytes log = testing::ReadTestData(kKeylimeLog);
  auto parsed = attest::ParseEventLog(log);
  auto replayed = attest::ReplayEventLog(*parsed);
  auto ak = testing::SoftwareAk::Create(options);
  if (!parsed.ok() || !replayed.ok() || !ak.ok()) {
    std::fprintf(stderr, "benchmark setup failed\n");
    std::abort();
  }
  attest::PcrBankSelection bank{TPM2_ALG_SHA256, {}};
  for (const auto& [pcr, value] : replayed->at(TPM2_ALG_SHA256)) bank.pcrs.insert(pcr);
  attest::PcrSelection selection = {bank};
  auto quote = ak->Quote(Nonce(), selection, *replayed);
  if (!quote.ok()) std::abort();
  return QuotedLog{std::move(log), *std::move(ak), *std::move(quote), selection};
}

void BM_ParseAndReplay_KeylimeSecureBoot(benchmark::State& state) {
  Bytes log = testing::ReadTestData(kKeylimeLog);
  for (auto _ : state) {
    auto parsed = attest::ParseEventLog(log);
    auto pcrs = attest::ReplayEventLog(*parsed);
    benchmark::DoNotOptimize(pcrs);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * log.size()));
}
BENCHMARK(BM_ParseAndReplay_KeylimeSecureBoot);

// Verifies `q` against `replayed` the way the verifier does (requested selection, log replay).
void VerifyQuotedLog(benchmark::State& state, const QuotedLog& q, const Bytes& nonce,
                     const attest::PcrValues& replayed) {
  attest::QuoteInput in;
  in.ak_public = q.ak.public_bytes();
  in.attest = q.quote.attest;
  in.signature = q.quote.signature;
  in.nonce = nonce;
  in.requested_selection = &q.selection;
  in.replayed_pcrs = &replayed;
  attest::QuoteResult r = attest::VerifyQuote(in);
  if (!r.verdict) state.SkipWithError("quote did not verify");
  benchmark::DoNotOptimize(r);
}

void FullAppraisal(benchmark::State& state, const testing::SoftwareAkOptions& options) {
  QuotedLog q = MakeQuotedLog(options);
  Bytes nonce = Nonce();
  for (auto _ : state) {
    auto parsed = attest::ParseEventLog(q.log);
    auto replayed = attest::ReplayEventLog(*parsed);
    VerifyQuotedLog(state, q, nonce, *replayed);
  }
}

void BM_FullAppraisal_Rsa2048(benchmark::State& state) { FullAppraisal(state, {}); }
BENCHMARK(BM_FullAppraisal_Rsa2048);

testing::SoftwareAkOptions EccP256() {
  testing::SoftwareAkOptions o;
  o.key_type = TPM2_ALG_ECC;
  o.scheme = TPM2_ALG_ECDSA;
  return o;
}
void BM_FullAppraisal_EccP256(benchmark::State& state) { FullAppraisal(state, EccP256()); }
BENCHMARK(BM_FullAppraisal_EccP256);

// Quote verification alone (no log): AK parse + key import + signature + checks.
void QuoteOnly(benchmark::State& state, const testing::SoftwareAkOptions& options) {
  QuotedLog q = MakeQuotedLog(options);
  auto replayed = attest::ReplayEventLog(*attest::ParseEventLog(q.log));
  Bytes nonce = Nonce();
  for (auto _ : state) VerifyQuotedLog(state, q, nonce, *replayed);
}
void BM_QuoteOnly_Rsa2048(benchmark::State& state) { QuoteOnly(state, {}); }
BENCHMARK(BM_QuoteOnly_Rsa2048);
void BM_QuoteOnly_EccP256(benchmark::State& state) { QuoteOnly(state, EccP256()); }
BENCHMARK(BM_QuoteOnly_EccP256);

// The floor: one signature verification over the same bytes with an already-imported key.
void SignatureOnly(benchmark::State& state, const testing::SoftwareAkOptions& options) {
  QuotedLog q = MakeQuotedLog(options);
  auto pub = attest::ParsePublicArea(q.ak.public_bytes());
  auto key = attest::PublicKeyFromPublicArea(*pub);
  auto sig = attest::ParseTpmtSignature(q.quote.signature);
  Bytes raw;
  if (options.key_type == TPM2_ALG_RSA) {
    raw.assign(sig->signature.rsassa.sig.buffer,
               sig->signature.rsassa.sig.buffer + sig->signature.rsassa.sig.size);
  } else {
    // DER-encode (r, s) once; the verify below is what the benchmark measures.
    attest::EcdsaSigPtr e(ECDSA_SIG_new());
    ECDSA_SIG_set0(e.get(),
                   BN_bin2bn(sig->signature.ecdsa.signatureR.buffer,
                             sig->signature.ecdsa.signatureR.size, nullptr),
                   BN_bin2bn(sig->signature.ecdsa.signatureS.buffer,
                             sig->signature.ecdsa.signatureS.size, nullptr));
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(e.get(), &der);
    raw.assign(der, der + len);
    OPENSSL_free(der);
  }
  for (auto _ : state) {
    attest::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get());
    int ok = EVP_DigestVerify(ctx.get(), raw.data(), raw.size(), q.quote.attest.data(),
                              q.quote.attest.size());
    if (ok != 1) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
}
void BM_SignatureOnly_Rsa2048(benchmark::State& state) { SignatureOnly(state, {}); }
BENCHMARK(BM_SignatureOnly_Rsa2048);
void BM_SignatureOnly_EccP256(benchmark::State& state) { SignatureOnly(state, EccP256()); }
BENCHMARK(BM_SignatureOnly_EccP256);

// A real quote: the QEMU Secure Boot capture (OVMF + shim + grub + kernel, swtpm RSA AK): the PCR
// values read in the guest against the quote, and the log's replay against those values, as
// `bootgate quote verify --pcrs --eventlog` does. (PCR 10 is IMA's, outside the firmware log.)
void BM_RealQemuSecureBootQuoteWithLog(benchmark::State& state) {
  const std::string dir = "qemu/qemu-ovmf-secureboot-shim-grub/";
  Bytes log = testing::ReadTestData(dir + "binary_bios_measurements");
  Bytes ak = testing::ReadTestData(dir + "ak.tpm2b");
  Bytes quote = testing::ReadTestData(dir + "quote.msg");
  Bytes sig = testing::ReadTestData(dir + "quote.sig");
  auto nonce = attest::HexDecode(testing::ReadTestDataString(dir + "nonce"));
  attest::PcrValues pcrs = testing::ReadExpectedPcrs(dir + "expected-pcrs.json");
  for (auto _ : state) {
    auto parsed = attest::ParseEventLog(log);
    auto replayed = attest::ReplayEventLog(*parsed);
    attest::QuoteInput in;
    in.ak_public = ak;
    in.attest = quote;
    in.signature = sig;
    in.nonce = *nonce;
    in.pcr_values = &pcrs;
    in.replayed_pcrs = &*replayed;
    attest::QuoteResult r = attest::VerifyQuote(in);
    if (!r.verdict) state.SkipWithError("real quote did not verify");
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RealQemuSecureBootQuoteWithLog);

}  // namespace
}  // namespace bootgate

BENCHMARK_MAIN();
