// Agent quote latency against a fresh swtpm on a raw socket: cold start to the first quote (with
// and without creating the AK), and p50/p99 over 1,000 quotes through the library (AK load,
// TPM2_Quote, PCR_Read, pcrDigest check, flushes). Prints numbers; asserts nothing. Then runs the
// Google Benchmark loop for the same operation.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "attest/tpm/pcr_selection.h"
#include "node-agent/agent.h"
#include "tests/integration/swtpm_instance.h"

namespace {

using bootgate::agent::Agent;
using bootgate::agent::AgentOptions;
using Clock = std::chrono::steady_clock;

constexpr char kSelection[] = "sha256:0-9,11,14+sha1:0-7";
constexpr int kQuotes = 1000;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::unique_ptr<bootgate::testing::SwtpmInstance> g_tpm;
AgentOptions g_options;

// Connect + first quote; `state` decides whether the AK exists already.
double ColdStartMs(const std::string& state) {
  AgentOptions options = g_options;
  options.state_dir = g_tpm->WorkPath(state);
  const auto start = Clock::now();
  auto agent = Agent::Connect(options);
  if (!agent.ok()) return -1;
  auto quote = (*agent)->Quote(bootgate::attest::Bytes(16, 1),
                               *bootgate::attest::ParsePcrSelectionSpec(kSelection));
  if (!quote.ok()) {
    std::fprintf(stderr, "quote: %s\n", std::string(quote.status().message()).c_str());
    return -1;
  }
  return Ms(Clock::now() - start);
}

void BM_AgentQuote(benchmark::State& state) {
  auto agent = Agent::Connect(g_options);
  if (!agent.ok()) {
    state.SkipWithError("connect failed");
    return;
  }
  const auto selection = *bootgate::attest::ParsePcrSelectionSpec(kSelection);
  bootgate::attest::Bytes nonce(16, 3);
  for (auto _ : state) {
    auto quote = (*agent)->Quote(nonce, selection);
    if (!quote.ok()) {
      state.SkipWithError("quote failed");
      return;
    }
  }
}
BENCHMARK(BM_AgentQuote)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  auto started = bootgate::testing::SwtpmInstance::Start();
  if (!started.ok()) {
    std::fprintf(stderr, "swtpm: %s\n", std::string(started.status().message()).c_str());
    return 1;
  }
  g_tpm = std::move(*started);
  g_options.tcti = g_tpm->tcti();
  g_options.state_dir = g_tpm->WorkPath("bench-state");

  const double cold_new_ak = ColdStartMs("bench-state");
  const double cold_existing_ak = ColdStartMs("bench-state");
  std::printf("cold start to first quote: %.1f ms creating the AK, %.1f ms with a stored AK\n",
              cold_new_ak, cold_existing_ak);

  auto agent = Agent::Connect(g_options);
  if (!agent.ok()) return 1;
  const auto selection = *bootgate::attest::ParsePcrSelectionSpec(kSelection);
  std::vector<double> latencies;
  latencies.reserve(kQuotes);
  bootgate::attest::Bytes nonce(16, 0);
  for (int i = 0; i < kQuotes; ++i) {
    nonce[0] = static_cast<uint8_t>(i);
    const auto start = Clock::now();
    auto quote = (*agent)->Quote(nonce, selection);
    if (!quote.ok()) {
      std::fprintf(stderr, "quote %d: %s\n", i, std::string(quote.status().message()).c_str());
      return 1;
    }
    latencies.push_back(Ms(Clock::now() - start));
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * latencies.size()))];
  };
  std::printf(
      "quote latency over %d quotes (%s, RSA-2048 AK, swtpm): p50 %.2f ms, p99 %.2f ms, "
      "min %.2f ms, max %.2f ms\n",
      kQuotes, kSelection, pct(0.50), pct(0.99), latencies.front(), latencies.back());
  agent->reset();

  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_tpm.reset();
  return 0;
}
