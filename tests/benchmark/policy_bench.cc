// Benchmarks of golden-image policy evaluation (Google Benchmark; prints numbers, asserts
// nothing).
//
//   build/bin/policy_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//
// Accept: the real QEMU Secure Boot log (OVMF -> shim -> grub -> kernel, 47 events) evaluated
// against the policy learned from it (the verifier's policy stage after VerifyEventLog).
// Reject: the same log against a policy whose only image is another boot (UKI): every candidate
// is compared and explained, the slow path. Load: parsing + validating the learned policy YAML,
// what a reload costs per file.
#include <benchmark/benchmark.h>

#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "policy/evaluate.h"
#include "policy/learn.h"
#include "policy/loader.h"
#include "tests/testing/test_util.h"

namespace bootgate {
namespace {

constexpr char kSecureBoot[] = "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements";
constexpr char kUki[] = "qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements";

struct Fixture {
  attest::VerifiedEventLog verified;
  attest::PcrValues quoted;
};

Fixture Verified(const char* path) {
  Fixture f;
  auto log = attest::ParseEventLog(testing::ReadTestData(path));
  if (!log.ok()) std::abort();
  auto replayed = attest::ReplayEventLog(*log);
  if (!replayed.ok()) std::abort();
  f.quoted = *replayed;
  auto verified = attest::VerifyEventLog(*log, f.quoted);
  if (!verified.ok()) std::abort();
  f.verified = *std::move(verified);
  return f;
}

policy::PolicySet LearnedFrom(const char* path) {
  auto log = attest::ParseEventLog(testing::ReadTestData(path));
  if (!log.ok()) std::abort();
  auto set = policy::LearnPolicy(*log, policy::LearnOptions());
  if (!set.ok()) std::abort();
  return *std::move(set);
}

void Evaluate(benchmark::State& state, const char* policy_log) {
  const Fixture f = Verified(kSecureBoot);
  const policy::PolicySet set = LearnedFrom(policy_log);
  const absl::Time now = absl::Now();
  for (auto _ : state) {
    auto result = policy::EvaluatePolicy(set, f.quoted, f.verified, {}, now);
    benchmark::DoNotOptimize(result);
  }
}

void BM_EvaluateAccept_SecureBoot(benchmark::State& state) { Evaluate(state, kSecureBoot); }
BENCHMARK(BM_EvaluateAccept_SecureBoot);

void BM_EvaluateReject_SecureBootVsUki(benchmark::State& state) { Evaluate(state, kUki); }
BENCHMARK(BM_EvaluateReject_SecureBootVsUki);

void BM_LoadLearnedPolicy(benchmark::State& state) {
  const std::string yaml = policy::SerializeYaml(LearnedFrom(kSecureBoot));
  state.counters["yaml_bytes"] = static_cast<double>(yaml.size());
  for (auto _ : state) {
    auto set = policy::ParsePolicyDocuments(yaml, "bench");
    if (!set.ok() || !policy::ValidatePolicySet(*set).ok()) std::abort();
    benchmark::DoNotOptimize(set);
  }
}
BENCHMARK(BM_LoadLearnedPolicy);

}  // namespace
}  // namespace bootgate

BENCHMARK_MAIN();
