// The verifier's Prometheus metrics (text exposition format 0.0.4) and the loopback HTTP endpoint
// that serves them (docs/verifier.md "Metrics"). Counters and the appraisal histogram live in
// memory (since process start, as Prometheus expects); gauges about the fleet (nodes by state,
// stale nodes, notification backlog, store size) are read from the store at scrape time.
#ifndef BOOTGATE_VERIFIER_METRICS_METRICS_H_
#define BOOTGATE_VERIFIER_METRICS_METRICS_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "verifier/store/store.h"
#include "verifier/util/clock.h"

namespace bootgate::verifier {

inline constexpr std::array<double, 12> kAppraisalBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

class Metrics {
 public:
  // `clock` must outlive the metrics (process_start_time_seconds is taken from it).
  explicit Metrics(const Clock* clock);

  // One recorded attestation: `reason` is its first finding's code, "none" when affirming
  // without findings.
  void RecordAttestation(const std::string& verdict, const std::string& reason, double seconds);
  // status "issued" or "failed".
  void RecordToken(const std::string& status);
  void RecordNotification(const std::string& sink, bool delivered);
  // The health state the monitor found (store reachable, loaded policy matches its file).
  void SetHealth(bool store_ok, bool policy_file_current);
  void SetPolicy(const std::string& policy_id);

  // The exposition text; `store` (may be null) supplies the fleet gauges.
  std::string Render(Store* store);

 private:
  const absl::Time started_;
  absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> attestations_ ABSL_GUARDED_BY(mu_);
  std::array<uint64_t, kAppraisalBuckets.size()> buckets_ ABSL_GUARDED_BY(mu_) = {};
  uint64_t appraisal_count_ ABSL_GUARDED_BY(mu_) = 0;
  double appraisal_sum_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, uint64_t> notifications_ ABSL_GUARDED_BY(mu_);
  bool store_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool policy_current_ ABSL_GUARDED_BY(mu_) = true;
  std::string policy_id_ ABSL_GUARDED_BY(mu_);
};

// GET /metrics over plain HTTP/1.1 on a loopback address; one connection at a time, each with a
// short I/O deadline. Anything else gets 404 (405 for other methods).
class MetricsServer {
 public:
  // `listen` is HOST:PORT (port 0 = a free port, see port()). Borrowed pointers must outlive it.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              Metrics* metrics, Store* store);
  ~MetricsServer();
  int port() const { return port_; }
  void Shutdown();

 private:
  MetricsServer(int fd, int port, Metrics* metrics, Store* store);
  void Run();
  void Serve(int client);

  int fd_;
  int port_;
  int wake_pipe_[2] = {-1, -1};
  Metrics* metrics_;
  Store* store_;
  std::thread thread_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_METRICS_METRICS_H_
