// Delivers the notification outbox (store.h: one row per state change and sink, written in the
// transaction of the change). A background thread wakes every poll_interval (or on Wake()),
// hands every due entry to its sink and marks it delivered, or records the error and schedules
// the next attempt with exponential backoff (retry_initial, doubling, capped at retry_max) on the
// injected clock. Delivery is at least once: an entry is marked delivered only after its sink
// succeeded, so a crash in between sends it again with the same event id (receivers deduplicate
// on it). Entries survive restarts because they live in the store.
//
// The event JSON (one object, compact):
//   {"event_id", "type": "node.state_changed", "node", "hostname", "old_state", "new_state",
//    "reasons": [{"code", "detail"}], "attestation_id", "time": RFC 3339 UTC}
#ifndef BOOTGATE_VERIFIER_NOTIFY_NOTIFIER_H_
#define BOOTGATE_VERIFIER_NOTIFY_NOTIFIER_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "verifier/metrics/metrics.h"
#include "verifier/notify/sinks.h"
#include "verifier/store/store.h"
#include "verifier/util/clock.h"
#include "verifier/util/logging.h"

namespace bootgate::verifier {

struct NotifierOptions {
  absl::Duration retry_initial = absl::Seconds(5);
  absl::Duration retry_max = absl::Minutes(10);
  absl::Duration poll_interval = absl::Seconds(1);
  size_t batch = 100;
};

// The delay before attempt `attempts + 1` after `attempts` failed ones (attempts >= 1).
absl::Duration RetryDelay(const NotifierOptions& options, int64_t attempts);

class Notifier {
 public:
  // Borrowed pointers must outlive the notifier; `metrics` may be null.
  Notifier(Store* store, std::vector<std::unique_ptr<NotificationSink>> sinks, const Clock* clock,
           Logger* logger, Metrics* metrics, NotifierOptions options);
  ~Notifier();

  // The sink names that the store queues events for.
  std::vector<std::string> SinkNames() const;

  void Start();
  // Stops the thread (waits for a delivery in progress); idempotent.
  void Stop();
  // Asks the thread to look at the outbox now (after a state change).
  void Wake();
  // One pass over the due entries; returns how many were delivered.
  absl::StatusOr<int> DeliverDue();

 private:
  void Run();

  Store* const store_;
  std::map<std::string, std::unique_ptr<NotificationSink>> sinks_;
  const Clock* const clock_;
  Logger* const logger_;
  Metrics* const metrics_;
  const NotifierOptions options_;

  absl::Mutex pass_mu_;  // one delivery pass at a time (thread and direct callers)
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_NOTIFY_NOTIFIER_H_
