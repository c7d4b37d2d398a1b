// The verifier's own watchdog (docs/verifier.md "Node states"): a background thread that every
// check_interval marks nodes stale whose latest affirming attestation (or enrollment) is older
// than attestation_deadline on the injected clock, and re-checks the verifier's health (the
// store answers; the policy file still holds the loaded policy) for the gRPC health service and
// the metrics. Stale transitions are recorded with their notifications by the store
// (MarkStaleNodes); the notifier is woken to send them.
#ifndef BOOTGATE_VERIFIER_STATE_NODE_MONITOR_H_
#define BOOTGATE_VERIFIER_STATE_NODE_MONITOR_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "verifier/appraise/active_policy.h"
#include "verifier/metrics/metrics.h"
#include "verifier/notify/notifier.h"
#include "verifier/store/store.h"
#include "verifier/util/clock.h"
#include "verifier/util/logging.h"

namespace bootgate::verifier {

struct NodeMonitorOptions {
  absl::Duration attestation_deadline = absl::Hours(1);
  absl::Duration check_interval = absl::Seconds(30);
};

struct HealthState {
  bool store_ok = false;
  bool policy_file_current = false;
  std::string detail;  // why not, when not
};

// The next time a node must have attested by (enrolled/trusted/untrusted/stale nodes), from its
// latest affirming attestation or, before any, its enrollment. Revoked nodes are never due.
std::optional<absl::Time> NextDue(const NodeRecord& node, absl::Duration deadline);

class NodeMonitor {
 public:
  using HealthCallback = std::function<void(const HealthState&)>;
  // Borrowed pointers must outlive the monitor; `notifier` and `metrics` may be null.
  NodeMonitor(Store* store, const ActivePolicy* policy, const Clock* clock, Logger* logger,
              Notifier* notifier, Metrics* metrics, HealthCallback on_health,
              NodeMonitorOptions options);
  ~NodeMonitor();

  void Start();
  void Stop();  // idempotent
  // One sweep: stale nodes, then health. Returns the transitions made.
  absl::StatusOr<std::vector<NodeTransition>> CheckOnce();
  HealthState CheckHealth();

 private:
  void Run();

  Store* const store_;
  const ActivePolicy* const policy_;
  const Clock* const clock_;
  Logger* const logger_;
  Notifier* const notifier_;
  Metrics* const metrics_;
  const HealthCallback on_health_;
  const NodeMonitorOptions options_;

  absl::Mutex check_mu_;
  std::string last_health_detail_ ABSL_GUARDED_BY(check_mu_);
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_STATE_NODE_MONITOR_H_
