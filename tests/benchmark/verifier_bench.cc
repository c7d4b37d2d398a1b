// Verifier benchmarks (Google Benchmark; prints numbers, asserts nothing):
//   - enroll and attest latency of one agent against the real gRPC server over TLS (loopback,
//     in-process server, a SoftwareAk/SoftwareEk in place of the TPM; the agent's software signing
//     and ActivateCredential are included, a real TPM adds its own ~30-100 ms);
//   - the verifier-side appraisal time per request (Appraiser alone: quote, clock, event-log
//     parse + replay, policy) for a small and a large real event log; the server also reports its
//     full per-request time (appraisal + EAR + token + commit) as the `server_us` counter.
//
//   build/bin/verifier_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/public_area.h"
#include "tests/testing/software_ak.h"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/appraise/appraisal.h"
#include "verifier/appraise/pcr_policy.h"

namespace bootgate {

// Created on first use, destroyed by main (server stopped, temporary directory removed).
std::unique_ptr<testing::VerifierEnv> g_env;

namespace {

namespace v1 = ::bootgate::v1;

void Die(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "benchmark setup failed: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

testing::VerifierEnv& Env() {
  if (!g_env) {
    testing::EnvOptions options;
    options.quiet_logs = true;
    auto e = testing::VerifierEnv::Create(options);
    if (!e.ok()) Die("VerifierEnv", e.status());
    g_env = *std::move(e);
  }
  return *g_env;
}

void BM_EnrollOverTls(benchmark::State& state) {
  auto tpm = Env().MakeTpm();
  if (!tpm.ok()) Die("MakeTpm", tpm.status());
  for (auto _ : state) {
    // StartEnrollment (EK chain, MakeCredential) + ActivateCredential + FinishEnrollment.
    auto r = Env().Enroll(&*tpm);
    if (!r.ok() || r->status() != v1::ENROLLMENT_STATUS_ENROLLED) Die("Enroll", r.status());
  }
}
BENCHMARK(BM_EnrollOverTls)->Unit(benchmark::kMillisecond)->UseRealTime();

void Attest(benchmark::State& state, bool join_token) {
  auto tpm = Env().MakeTpm();
  if (!tpm.ok()) Die("MakeTpm", tpm.status());
  auto enrolled = Env().Enroll(&*tpm);
  if (!enrolled.ok()) Die("Enroll", enrolled.status());
  testing::VerifierEnv::Evidence e = Env().DefaultEvidence();
  e.request_join_token = join_token;
  double server_us = 0;
  for (auto _ : state) {
    // GetChallenge + software quote + Attest (appraisal, EAR, token, commit) over TLS.
    auto r = Env().Attest(*tpm, e);
    if (!r.ok() || r->verdict() != v1::VERDICT_AFFIRMING) Die("Attest", r.status());
    ++e.clock;
    state.PauseTiming();
    v1::GetAttestationRequest req;
    req.set_attestation_id(r->attestation_id());
    v1::AttestationRecord rec;
    grpc::ClientContext ctx;
    if (Env().admin().GetAttestation(&ctx, req, &rec).ok()) {
      server_us += static_cast<double>(rec.appraisal_micros());
    }
    state.ResumeTiming();
  }
  state.counters["server_us"] =
      benchmark::Counter(server_us / static_cast<double>(state.iterations()));
}
void BM_AttestOverTls(benchmark::State& state) { Attest(state, false); }
void BM_AttestWithJoinTokenOverTls(benchmark::State& state) { Attest(state, true); }
BENCHMARK(BM_AttestOverTls)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AttestWithJoinTokenOverTls)->Unit(benchmark::kMillisecond)->UseRealTime();

// The appraisal pipeline alone, as the Attest handler runs it between nonce lookup and commit.
void Appraisal(benchmark::State& state, const std::string& log_path) {
  attest::Bytes log = testing::ReadTestData(log_path);
  auto parsed = attest::ParseEventLog(log);
  if (!parsed.ok()) Die("parse", parsed.status());
  auto replayed = attest::ReplayEventLog(*parsed);
  if (!replayed.ok()) Die("replay", replayed.status());
  attest::PcrBankSelection bank{TPM2_ALG_SHA256, {}};
  for (uint32_t pcr = 0; pcr <= 9; ++pcr) bank.pcrs.insert(pcr);
  attest::PcrSelection selection = {bank};
  attest::PcrValues pcrs = attest::RestrictReplayToSelection(*replayed, selection).values;
  auto policy = verifier::PcrValuePolicy::Parse(verifier::PcrPolicyYaml("bench", pcrs), "");
  if (!policy.ok()) Die("policy", policy.status());
  auto ak = testing::SoftwareAk::Create();
  if (!ak.ok()) Die("ak", ak.status());
  const attest::Bytes nonce(32, 0x5a);
  auto quote = ak->Quote(nonce, selection, pcrs);
  if (!quote.ok()) Die("quote", quote.status());

  verifier::AppraisalInput in;
  in.claimed_node_id = "node-0000000000000001";
  in.nonce.state = verifier::NonceState::kFresh;
  in.nonce.record.nonce = nonce;
  in.nonce.record.node_id = in.claimed_node_id;
  in.nonce.record.selection = attest::FormatPcrSelectionSpec(selection);
  verifier::NodeRecord node;
  node.node_id = in.claimed_node_id;
  node.ak_public = ak->public_bytes();
  node.ak_name = *attest::ObjectName(ak->public_area());
  in.node = node;
  in.quote = quote->attest;
  in.signature = quote->signature;
  in.pcrs = &pcrs;
  in.event_log = log;
  verifier::Appraiser appraiser(policy->get());
  for (auto _ : state) {
    verifier::Appraisal a = appraiser.Appraise(in);
    if (!a.affirming()) Die("appraise", absl::InternalError(a.findings.front().detail));
    benchmark::DoNotOptimize(a);
  }
  state.SetLabel(absl::StrCat(log.size(), " byte log, ", parsed->events.size(), " events"));
}
void BM_Appraisal_QemuDirectKernel(benchmark::State& state) {
  Appraisal(state, "qemu/qemu-ovmf-directkernel/binary_bios_measurements");
}
void BM_Appraisal_KeylimeSecureBoot(benchmark::State& state) {
  Appraisal(state, "eventlogs/keylime__binary_bios_measurements-secureboot");
}
BENCHMARK(BM_Appraisal_QemuDirectKernel)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Appraisal_KeylimeSecureBoot)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace bootgate

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  bootgate::g_env.reset();
  return 0;
}
