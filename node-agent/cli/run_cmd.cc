// bootgate-agent run: the daemon (docs/agent.md, "The daemon").
#include <signal.h>

#include <atomic>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "node-agent/cli/commands.h"
#include "node-agent/client/verifier_client.h"
#include "node-agent/daemon/run_loop.h"
#include "node-agent/io/event_logs.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent run --verifier HOST:PORT --ca FILE [--config FILE] [flags]\n"
    "\n"
    "The node daemon: enrolls once (when the state directory has no node id), then attests to\n"
    "the verifier at a jittered interval and at once whenever the TPM's resetCount changed since\n"
    "the last attestation (a new boot). Failed attempts back off exponentially (capped). Every\n"
    "attempt is logged on stderr (one line) and the status file is rewritten after it.\n"
    "SIGTERM/SIGINT stop it cleanly (exit 0). With max_consecutive_failures N > 0 it exits after\n"
    "N failed attempts in a row, with the exit code of the last failure (1, 4, 7, 8, ...).\n"
    "\n"
    "  --interval DURATION          time between attestations (default 10m; 500ms, 30s, 1h...)\n"
    "  --jitter PERCENT             spread of the interval and backoff (default 10%, max 50%)\n"
    "  --boot-check-interval D      how often resetCount is read (default 30s)\n"
    "  --backoff-initial D          first retry delay after a failure (default 5s)\n"
    "  --backoff-max D              retry delay cap (default 5m)\n"
    "  --max-consecutive-failures N exit after N failed attempts in a row (default 0: never)\n"
    "  --status-file FILE           health JSON (default STATE_DIR/status.json)\n"
    "  --hostname NAME              label sent with the enrollment (default: this host's name)\n"
    "  --eventlog PATH              firmware event log; default\n"
    "                               /sys/kernel/security/tpm0/binary_bios_measurements\n"
    "Each flag has a configuration-file key of the same name with '_' for '-'.\n";

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

}  // namespace

int RunRun(const std::vector<std::string>& args) {
  FlagSpec spec;
  AddVerifierFlags(&spec);
  spec.value_flags.insert({"interval", "jitter", "boot-check-interval", "backoff-initial",
                           "backoff-max", "max-consecutive-failures", "status-file", "hostname",
                           "eventlog"});
  static const std::string usage = absl::StrCat(kUsage, kVerifierFlagsHelp);
  CommandStart start = StartCommand(args, spec, "run", usage.c_str());
  if (!start.settings.has_value()) return start.exit_code;
  const Settings& settings = *start.settings;

  RunOptions o;
  o.agent = start.options;
  o.verifier = settings.Get("verifier", "verifier", "");
  o.ca = settings.Get("ca", "ca", "");
  if (o.verifier.empty()) return UsageError("--verifier HOST:PORT is required", "run");
  if (o.ca.empty()) return UsageError("--ca FILE is required", "run");
  if (!absl::SimpleAtoi(settings.Get("timeout", "timeout", "30"), &o.timeout_seconds) ||
      o.timeout_seconds < 1 || o.timeout_seconds > 3600) {
    return UsageError("--timeout must be 1-3600 seconds", "run");
  }
  // The CA bundle and the target are checked now (no connection is made yet): a daemon that
  // could never reach its verifier is a configuration error, not something to retry forever.
  if (absl::StatusOr<std::unique_ptr<VerifierClient>> probe =
          VerifierClient::Connect(o.verifier, o.ca, o.timeout_seconds);
      !probe.ok()) {
    return UsageError(std::string(probe.status().message()), "run");
  }
  o.hostname = settings.Get("hostname", "hostname", LocalHostname());
  o.eventlog = settings.Get("eventlog", "eventlog", kDefaultFirmwareLogPath);
  o.status_file = settings.Get("status-file", "status_file", o.agent.state_dir + "/status.json");
  absl::StatusOr<RunSchedule> schedule = ParseRunSchedule([&](const std::string& key) {
    std::string flag = key;
    for (char& c : flag) c = c == '_' ? '-' : c;
    return settings.Get(flag, key, "");
  });
  if (!schedule.ok()) return UsageError(std::string(schedule.status().message()), "run");
  o.schedule = *schedule;

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  RunLoop loop(std::move(o), &std::cerr, &g_stop);
  const absl::Status result = loop.Run();
  if (result.ok()) return kExitOk;
  return ReportFlowError(result);
}

}  // namespace bootgate::agent::cli
