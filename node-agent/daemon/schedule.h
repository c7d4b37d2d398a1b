// The `bootgate-agent run` schedule: configuration (docs/agent.md, "Configuration file"), the
// jittered attestation interval and the capped exponential backoff after errors. Pure: the random
// draw is passed in.
#ifndef BOOTGATE_NODE_AGENT_DAEMON_SCHEDULE_H_
#define BOOTGATE_NODE_AGENT_DAEMON_SCHEDULE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace bootgate::agent {

struct RunSchedule {
  absl::Duration interval = absl::Minutes(10);
  double jitter = 0.10;  // fraction of the interval (and of a backoff delay), 0 to 0.5
  // How often the TPM's resetCount is read to notice a new boot between attestations.
  absl::Duration boot_check_interval = absl::Seconds(30);
  absl::Duration backoff_initial = absl::Seconds(5);
  absl::Duration backoff_max = absl::Minutes(5);
  // Exit (non-zero) after this many consecutive failed attempts; 0 = keep trying forever.
  int max_consecutive_failures = 0;
};

// `get(key)` returns the configured text of a key or "" when unset. Durations use Go syntax
// (500ms, 90s, 10m, 1h30m); jitter is "10%" or "0.1". Errors name the key.
absl::StatusOr<RunSchedule> ParseRunSchedule(
    const std::function<std::string(const std::string&)>& get);

// interval * (1 + jitter * (2u - 1)) for u in [0, 1): spread evenly around the interval.
absl::Duration JitteredInterval(const RunSchedule& s, double u);
// min(backoff_initial * 2^(failures - 1), backoff_max), reduced by up to `jitter` of itself.
absl::Duration BackoffDelay(const RunSchedule& s, int failures, double u);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_DAEMON_SCHEDULE_H_
