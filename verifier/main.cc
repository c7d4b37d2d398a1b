// bootgate-verifier: the attestation verifier service. This file only parses the command line,
// loads the configuration and wires signals; the services live in bootgate_verifier_lib.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/pcr/pcr_json.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/pcr_selection.h"
#include "nlohmann/json.hpp"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/cli/args.h"
#include "verifier/config/config.h"
#include "verifier/pki/dev_pki.h"
#include "verifier/service/server.h"
#include "verifier/util/files.h"
#include "verifier/util/os_random.h"

namespace bootgate::verifier {
namespace {

using cli::kExitBadInput;
using cli::kExitOk;
using cli::kExitUsage;

constexpr char kUsage[] = R"(bootgate-verifier - measured-boot attestation verifier

Usage:
  bootgate-verifier init DIR [--ek-ca PATH]
        create a development PKI (CA, server and admin certificates, EAR signing key) and
        DIR/verifier.yaml using it; never overwrites existing files
  bootgate-verifier serve --config FILE [--port-file F] [--admin-port-file F]
                          [--metrics-port-file F] [--allow-unsigned-policies]
        run the verifier; prints "listening on HOST:PORT" (agent API, TLS) and
        "admin listening on HOST:PORT" (admin API, mutual TLS) (and "metrics listening on
        HOST:PORT" with metrics.listen); with port 0 the bound ports can be read from the port
        files; SIGINT/SIGTERM shut down gracefully.
        --allow-unsigned-policies (development only, logged at every start) loads golden-image
        policies without a signature from a trusted key
  bootgate-verifier check --config FILE [--allow-unsigned-policies]
        load the configuration and everything it names (store, EK CAs, policy, keys), then exit
  bootgate-verifier policy from-pcrs PCRS.json --id ID [--selection SPEC] [--out FILE]
        write a PCR-value policy allowing exactly these values (PCRS.json in the
        `bootgate eventlog replay --json` shape, or its "pcrs" member); --selection keeps only
        the selected PCRs and fills selected PCRs the log never extended with their reset value
  bootgate-verifier COMMAND --help

Configuration keys and defaults: docs/verifier.md. API: docs/api.md.
)";

int Fail(int code, const absl::Status& status) {
  std::fprintf(stderr, "bootgate-verifier: %s\n", status.ToString().c_str());
  return code;
}

int RunInit(const std::vector<std::string>& args) {
  auto parsed = cli::ParseArgs(args, {"ek-ca"}, {});
  if (!parsed.ok() || parsed->help || parsed->positional.size() != 1) {
    std::fputs("usage: bootgate-verifier init DIR [--ek-ca PATH]\n",
               parsed.ok() && parsed->help ? stdout : stderr);
    if (!parsed.ok()) std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    return parsed.ok() && parsed->help ? kExitOk : kExitUsage;
  }
  const std::string dir = parsed->positional[0];
  InitOptions options;
  options.ek_ca = parsed->Get("ek-ca");
  SystemClock clock;
  absl::Status s = InitVerifierDirectory(dir, options, clock);
  if (!s.ok()) return Fail(kExitBadInput, s);
  std::printf(
      "created a development PKI and %s/verifier.yaml\n"
      "next:\n"
      "  1. put your TPMs' EK CA certificates (root and intermediates) into %s\n"
      "  2. write %s/policy.yaml (bootgate-verifier policy from-pcrs ...)\n"
      "  3. bootgate-verifier serve --config %s/verifier.yaml\n"
      "agents pin %s/ca.pem; the admin CLI uses --config %s\n",
      dir.c_str(), options.ek_ca.empty() ? (dir + "/ek-ca/").c_str() : options.ek_ca.c_str(),
      dir.c_str(), dir.c_str(), dir.c_str(), dir.c_str());
  return kExitOk;
}

int RunCheck(const std::vector<std::string>& args) {
  auto parsed = cli::ParseArgs(args, {"config"}, {"allow-unsigned-policies"});
  if (!parsed.ok() || parsed->help || !parsed->Has("config")) {
    std::fputs("usage: bootgate-verifier check --config FILE [--allow-unsigned-policies]\n",
               parsed.ok() && parsed->help ? stdout : stderr);
    return parsed.ok() && parsed->help ? kExitOk : kExitUsage;
  }
  auto config = LoadConfigFile(parsed->Get("config"));
  if (!config.ok()) return Fail(kExitBadInput, config.status());
  LoadOptions load;
  load.allow_unsigned_policies = parsed->Has("allow-unsigned-policies");
  auto components = LoadComponents(*config, load);
  if (!components.ok()) return Fail(kExitBadInput, components.status());
  std::printf("ok: %zu EK root(s), %zu intermediate(s), policy %s, store %s (schema %d)\n",
              components->ek_trust->roots(), components->ek_trust->intermediates(),
              components->policy->Get()->id().c_str(), config->database.c_str(),
              components->store->SchemaVersion().value_or(-1));
  return kExitOk;
}

int RunServe(const std::vector<std::string>& args) {
  auto parsed =
      cli::ParseArgs(args, {"config", "port-file", "admin-port-file", "metrics-port-file"},
                     {"allow-unsigned-policies"});
  if (!parsed.ok() || parsed->help || !parsed->Has("config")) {
    std::fputs(
        "usage: bootgate-verifier serve --config FILE [--port-file F] [--admin-port-file F] "
        "[--metrics-port-file F] [--allow-unsigned-policies]\n",
        parsed.ok() && parsed->help ? stdout : stderr);
    if (!parsed.ok()) std::fprintf(stderr, "%s\n", parsed.status().ToString().c_str());
    return parsed.ok() && parsed->help ? kExitOk : kExitUsage;
  }
  auto config = LoadConfigFile(parsed->Get("config"));
  if (!config.ok()) return Fail(kExitBadInput, config.status());

  // Signals are blocked before gRPC starts its threads, so only sigwait below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  SystemClock clock;
  OsRandom rng;
  Logger logger(config->log_format == "json" ? LogFormat::kJson : LogFormat::kText, stderr, &clock);
  LoadOptions load;
  load.clock = &clock;
  load.logger = &logger;
  load.allow_unsigned_policies = parsed->Has("allow-unsigned-policies");
  if (load.allow_unsigned_policies) {
    logger.Warning("DEVELOPMENT MODE: --allow-unsigned-policies",
                   {{"effect",
                     "golden-image policies are loaded without a trusted signature; "
                     "never use this in production"}});
  }
  auto components = LoadComponents(*config, load);
  if (!components.ok()) return Fail(kExitBadInput, components.status());
  const std::string policy_id = components->policy->Get()->id();
  auto server = VerifierServer::Start(*config, *std::move(components), &clock, &rng, &logger);
  if (!server.ok()) return Fail(kExitBadInput, server.status());

  const std::string host = config->listen.substr(0, config->listen.rfind(':'));
  const std::string admin_host = config->admin_listen.substr(0, config->admin_listen.rfind(':'));
  for (const auto& [flag, port] :
       {std::pair<std::string, int>{"port-file", (*server)->agent_port()},
        {"admin-port-file", (*server)->admin_port()},
        {"metrics-port-file", (*server)->metrics_port()}}) {
    if (!parsed->Has(flag)) continue;
    absl::Status s = WriteFileAtomic(parsed->Get(flag), absl::StrCat(port, "\n"));
    if (!s.ok()) return Fail(kExitBadInput, s);
  }
  logger.Info("started", {{"listen", absl::StrCat(host, ":", (*server)->agent_port())},
                          {"admin_listen", absl::StrCat(admin_host, ":", (*server)->admin_port())},
                          {"database", config->database},
                          {"policy", policy_id}});
  std::printf("listening on %s:%d\n", host.c_str(), (*server)->agent_port());
  std::printf("admin listening on %s:%d\n", admin_host.c_str(), (*server)->admin_port());
  if ((*server)->metrics_port() != 0) {
    const std::string metrics_host =
        config->metrics.listen.substr(0, config->metrics.listen.rfind(':'));
    std::printf("metrics listening on %s:%d\n", metrics_host.c_str(), (*server)->metrics_port());
  }
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  logger.Info("shutting down", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*server)->Shutdown(absl::Seconds(5));
  logger.Info("stopped");
  return kExitOk;
}

int RunPolicy(const std::vector<std::string>& args) {
  auto parsed = cli::ParseArgs(args, {"id", "selection", "out"}, {});
  if (!parsed.ok() || parsed->help || parsed->positional.size() != 2 ||
      parsed->positional[0] != "from-pcrs" || !parsed->Has("id")) {
    std::fputs(
        "usage: bootgate-verifier policy from-pcrs PCRS.json --id ID [--selection SPEC] "
        "[--out FILE]\n",
        parsed.ok() && parsed->help ? stdout : stderr);
    return parsed.ok() && parsed->help ? kExitOk : kExitUsage;
  }
  auto text = ReadFile(parsed->positional[1], 16 << 20);
  if (!text.ok()) return Fail(kExitBadInput, text.status());
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_object() && j.contains("pcrs")) j = j["pcrs"];
  auto values = attest::PcrValuesFromJson(j);
  if (!values.ok()) return Fail(kExitBadInput, values.status());
  attest::PcrValues chosen = *values;
  if (parsed->Has("selection")) {
    auto selection = attest::ParsePcrSelectionSpec(parsed->Get("selection"));
    if (!selection.ok()) return Fail(kExitUsage, selection.status());
    attest::ReplayRestriction r = attest::RestrictReplayToSelection(*values, *selection);
    if (r.finding != attest::QuoteFinding::kOk) {
      return Fail(kExitBadInput, absl::InvalidArgumentError(r.detail));
    }
    chosen = std::move(r.values);
  }
  const std::string yaml = PcrPolicyYaml(parsed->Get("id"), chosen);
  auto check = PcrValuePolicy::Parse(yaml, "generated policy");
  if (!check.ok()) return Fail(kExitBadInput, check.status());
  if (parsed->Has("out")) {
    absl::Status s = WriteNewFile(parsed->Get("out"), yaml);
    if (!s.ok()) return Fail(kExitBadInput, s);
    std::printf("wrote %s (policy id %s)\n", parsed->Get("out").c_str(), (*check)->id().c_str());
  } else {
    std::fputs(yaml.c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace
}  // namespace bootgate::verifier

int main(int argc, char** argv) {
  using namespace bootgate::verifier;  // NOLINT: main only
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? bootgate::cli::kExitUsage : bootgate::cli::kExitOk;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "init") return RunInit(rest);
  if (command == "serve") return RunServe(rest);
  if (command == "check") return RunCheck(rest);
  if (command == "policy") return RunPolicy(rest);
  std::fprintf(stderr, "bootgate-verifier: unknown command '%s' (see --help)\n", command.c_str());
  return bootgate::cli::kExitUsage;
}
