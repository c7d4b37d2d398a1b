// The `bootgate-agent run` daemon as an explicit loop (docs/agent.md, "The daemon"):
//
//   start -> [no node id] enroll -> attest -> wait -> attest ...
//
// An attempt is due at start, when the jittered interval has passed, after a failure's backoff,
// and at once when the TPM's resetCount differs from the one of the last attestation (a new
// boot; checked every boot_check_interval while the last attempt succeeded — while failing, the
// backoff decides). A failed attempt (TPM, I/O, verifier unreachable or
// refusing) backs off exponentially up to backoff_max; a verdict of any kind is a completed
// attempt. Every attempt is logged (one line on the log stream) and the status file is rewritten
// (atomically) after it. The TPM and the verifier channel are opened per attempt and closed after
// it, so the TPM is not held between attempts and a restarted verifier is reached at once.
#ifndef BOOTGATE_NODE_AGENT_DAEMON_RUN_LOOP_H_
#define BOOTGATE_NODE_AGENT_DAEMON_RUN_LOOP_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "node-agent/agent.h"
#include "node-agent/daemon/schedule.h"

namespace bootgate::agent {

struct RunOptions {
  AgentOptions agent;
  std::string verifier;  // HOST:PORT
  std::string ca;        // PEM bundle the verifier's certificate chains to
  int timeout_seconds = 30;
  std::string hostname;  // sent with the enrollment
  std::string eventlog;  // firmware event log path
  std::string status_file;
  RunSchedule schedule;
};

// What the status file holds (JSON).
struct RunStatus {
  std::string node_id;
  std::string health = "starting";  // "starting" | "ok" | "failing" | "stopped"
  std::optional<absl::Time> last_attempt_at;
  std::string last_attempt_reason;  // start | interval | boot | retry
  std::optional<absl::Time> last_success_at;
  std::string last_verdict;
  std::string last_attestation_id;
  std::vector<std::string> last_findings;
  std::optional<absl::Time> last_failure_at;
  std::string last_error;
  int consecutive_failures = 0;
  uint64_t attempts = 0;
  uint64_t attestations = 0;
  std::optional<uint32_t> reset_count;  // of the last attestation's quote
  std::optional<absl::Time> next_due_at;
};

class RunLoop {
 public:
  // `stop` is set by the signal handler; the loop notices it within 100 ms.
  RunLoop(RunOptions options, std::ostream* log, const std::atomic<bool>* stop);

  // Runs until *stop (OK), or until max_consecutive_failures attempts in a row failed (then
  // returns the last attempt's error).
  absl::Status Run();

  const RunStatus& status() const { return status_; }

 private:
  void Attempt(const std::string& reason, absl::Time now);
  absl::Status AttemptOnce(absl::Time now);
  std::optional<uint32_t> ReadResetCount();
  void WriteStatus();
  void Log(const std::string& line);
  double Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

  RunOptions o_;
  std::ostream* log_;
  const std::atomic<bool>* stop_;
  RunStatus status_;
  bool reenroll_ = false;
  absl::Status last_error_;
  std::mt19937_64 rng_;  // jitter only, not security
};

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_DAEMON_RUN_LOOP_H_
