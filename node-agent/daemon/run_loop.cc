#include "node-agent/daemon/run_loop.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "node-agent/client/verifier_client.h"
#include "node-agent/io/event_logs.h"
#include "node-agent/io/files.h"
#include "node-agent/tpm/clock.h"

namespace bootgate::agent {

namespace {

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

nlohmann::json OptTime(const std::optional<absl::Time>& t) {
  if (!t) return nullptr;
  return TimeText(*t);
}

// One line of the log: "ts=... event=... key=value ..." (values with spaces quoted).
std::string Field(const std::string& key, const std::string& value) {
  if (value.find_first_of(" \"=") == std::string::npos && !value.empty()) {
    return absl::StrCat(" ", key, "=", value);
  }
  std::string quoted = value;
  size_t pos = 0;
  while ((pos = quoted.find('"', pos)) != std::string::npos) {
    quoted.replace(pos, 1, "\\\"");
    pos += 2;
  }
  return absl::StrCat(" ", key, "=\"", quoted, "\"");
}

}  // namespace

RunLoop::RunLoop(RunOptions options, std::ostream* log, const std::atomic<bool>* stop)
    : o_(std::move(options)), log_(log), stop_(stop), rng_(std::random_device{}()) {}

void RunLoop::Log(const std::string& line) {
  (*log_) << "ts=" << TimeText(absl::Now()) << line << "\n";
  log_->flush();
}

std::optional<uint32_t> RunLoop::ReadResetCount() {
  auto tpm = TpmConnection::Open(o_.agent.tcti);
  if (!tpm.ok()) {
    Log(absl::StrCat(" event=boot_check", Field("error", std::string(tpm.status().message()))));
    return std::nullopt;
  }
  auto clock = ReadTpmClock(**tpm);
  if (!clock.ok()) {
    Log(absl::StrCat(" event=boot_check", Field("error", std::string(clock.status().message()))));
    return std::nullopt;
  }
  return clock->reset_count;
}

absl::Status RunLoop::AttemptOnce(absl::Time now) {
  ASSIGN_OR_RETURN(std::unique_ptr<VerifierClient> client,
                   VerifierClient::Connect(o_.verifier, o_.ca, o_.timeout_seconds));
  ASSIGN_OR_RETURN(std::unique_ptr<Agent> agent, Agent::Connect(o_.agent));
  absl::StatusOr<std::string> node_id = ReadNodeId(o_.agent.state_dir);
  if ((!node_id.ok() && absl::IsNotFound(node_id.status())) || reenroll_) {
    ASSIGN_OR_RETURN(EnrollResult enrolled, Enroll(*agent, *client, o_.hostname));
    if (!enrolled.enrolled) {
      std::vector<std::string> codes;
      for (const v1::Finding& f : enrolled.findings) {
        codes.push_back(absl::StrCat(f.code(), ": ", f.detail()));
      }
      return absl::PermissionDeniedError(absl::StrCat("enrollment ", enrolled.enrollment_id,
                                                      " rejected: ", absl::StrJoin(codes, "; ")));
    }
    reenroll_ = false;
    Log(absl::StrCat(" event=enrolled", Field("node", enrolled.node_id),
                     Field("enrollment", enrolled.enrollment_id)));
    node_id = enrolled.node_id;
  }
  if (!node_id.ok()) return node_id.status();
  status_.node_id = *node_id;
  // The boot this attestation is about: the quote's resetCount when the verifier authenticated
  // it, else the TPM's just before quoting (so a refused quote does not look like a new boot at
  // every check).
  ASSIGN_OR_RETURN(TpmClock before, ReadTpmClock(agent->tpm()));
  ASSIGN_OR_RETURN(attest::Bytes event_log, ReadFirmwareEventLog(o_.eventlog));
  absl::StatusOr<v1::AttestResponse> response =
      Attest(*agent, *client, *node_id, event_log, /*request_join_token=*/false);
  if (!response.ok()) {
    // The verifier no longer knows this node (e.g. a new store): enroll again next time.
    if (IsVerifierRpcError(response.status()) && absl::IsNotFound(response.status())) {
      reenroll_ = true;
    }
    return response.status();
  }
  ++status_.attestations;
  status_.last_verdict = VerdictName(response->verdict());
  status_.last_attestation_id = response->attestation_id();
  status_.last_findings.clear();
  for (const v1::Finding& f : response->findings()) status_.last_findings.push_back(f.code());
  status_.reset_count =
      response->has_clock() ? response->clock().reset_count() : before.reset_count;
  if (response->verdict() == v1::VERDICT_AFFIRMING) status_.last_success_at = now;
  Log(absl::StrCat(" event=attestation", Field("node", *node_id),
                   Field("verdict", status_.last_verdict),
                   Field("attestation", status_.last_attestation_id),
                   Field("new_boot", response->new_boot() ? "true" : "false"),
                   Field("findings", absl::StrJoin(status_.last_findings, ","))));
  return absl::OkStatus();
}

void RunLoop::Attempt(const std::string& reason, absl::Time now) {
  ++status_.attempts;
  status_.last_attempt_at = now;
  status_.last_attempt_reason = reason;
  Log(absl::StrCat(" event=attempt", Field("reason", reason)));
  const absl::Status s = AttemptOnce(now);
  last_error_ = s;
  const absl::Time after = absl::Now();
  if (s.ok()) {
    status_.consecutive_failures = 0;
    status_.health = "ok";
    status_.next_due_at = after + JitteredInterval(o_.schedule, Uniform());
  } else {
    ++status_.consecutive_failures;
    status_.health = "failing";
    status_.last_failure_at = after;
    status_.last_error = std::string(s.message());
    const absl::Duration delay = BackoffDelay(o_.schedule, status_.consecutive_failures, Uniform());
    status_.next_due_at = after + delay;
    Log(absl::StrCat(
        " event=attempt_failed", Field("reason", reason),
        Field("failures", absl::StrCat(status_.consecutive_failures)),
        Field("retry_in", absl::FormatDuration(absl::Trunc(delay, absl::Milliseconds(1)))),
        Field("error", status_.last_error)));
  }
  WriteStatus();
}

void RunLoop::WriteStatus() {
  if (o_.status_file.empty()) return;
  const nlohmann::json j = {
      {"node_id", status_.node_id},
      {"health", status_.health},
      {"pid", static_cast<int64_t>(getpid())},
      {"verifier", o_.verifier},
      {"interval_seconds", absl::ToDoubleSeconds(o_.schedule.interval)},
      {"last_attempt_at", OptTime(status_.last_attempt_at)},
      {"last_attempt_reason", status_.last_attempt_reason},
      {"last_success_at", OptTime(status_.last_success_at)},
      {"last_verdict", status_.last_verdict},
      {"last_attestation_id", status_.last_attestation_id},
      {"last_findings", status_.last_findings},
      {"last_failure_at", OptTime(status_.last_failure_at)},
      {"last_error", status_.last_error},
      {"consecutive_failures", status_.consecutive_failures},
      {"attempts", status_.attempts},
      {"attestations", status_.attestations},
      {"tpm_reset_count",
       status_.reset_count ? nlohmann::json(*status_.reset_count) : nlohmann::json(nullptr)},
      {"next_due_at", OptTime(status_.next_due_at)},
  };
  const std::string text = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  absl::Status s = WriteFileAtomic(o_.status_file, attest::AsSpan(text), 0644);
  if (!s.ok()) Log(absl::StrCat(" event=status_file", Field("error", std::string(s.message()))));
}

absl::Status RunLoop::Run() {
  Log(absl::StrCat(
      " event=started", Field("verifier", o_.verifier),
      Field("interval", absl::FormatDuration(o_.schedule.interval)),
      Field("jitter", absl::StrCat(o_.schedule.jitter * 100, "%")),
      Field("boot_check_interval", absl::FormatDuration(o_.schedule.boot_check_interval))));
  absl::Time next_due = absl::Now();
  std::string due_reason = "start";
  absl::Time next_boot_check = absl::Now() + o_.schedule.boot_check_interval;
  while (!stop_->load()) {
    const absl::Time now = absl::Now();
    std::string reason;
    if (now >= next_due) reason = due_reason;
    // While failing, the retry schedule (backoff) decides; the retry attests the new boot too.
    if (reason.empty() && now >= next_boot_check && status_.consecutive_failures == 0) {
      next_boot_check = now + o_.schedule.boot_check_interval;
      std::optional<uint32_t> reset_count = ReadResetCount();
      if (reset_count && status_.reset_count && *reset_count != *status_.reset_count) {
        Log(absl::StrCat(" event=boot_detected",
                         Field("reset_count_before", absl::StrCat(*status_.reset_count)),
                         Field("reset_count", absl::StrCat(*reset_count))));
        reason = "boot";
      }
    }
    if (!reason.empty()) {
      Attempt(reason, now);
      next_due = status_.next_due_at.value_or(absl::Now() + o_.schedule.interval);
      due_reason = status_.consecutive_failures > 0 ? "retry" : "interval";
      next_boot_check = absl::Now() + o_.schedule.boot_check_interval;
      if (o_.schedule.max_consecutive_failures > 0 &&
          status_.consecutive_failures >= o_.schedule.max_consecutive_failures) {
        Log(absl::StrCat(" event=giving_up",
                         Field("failures", absl::StrCat(status_.consecutive_failures))));
        // The last error itself, so that the exit code says what kind of failure it was.
        return last_error_;
      }
      continue;
    }
    // Sleep until the next event, waking every 100 ms to notice a stop request.
    const absl::Time wake =
        status_.consecutive_failures == 0 ? std::min(next_due, next_boot_check) : next_due;
    const absl::Duration nap =
        std::clamp(wake - absl::Now(), absl::ZeroDuration(), absl::Milliseconds(100));
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(nap) + std::chrono::milliseconds(1));
  }
  status_.health = "stopped";
  status_.next_due_at.reset();
  WriteStatus();
  Log(" event=stopped");
  return absl::OkStatus();
}

}  // namespace bootgate::agent
