#include "verifier/state/node_monitor.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {

std::optional<absl::Time> NextDue(const NodeRecord& node, absl::Duration deadline) {
  if (node.revoked() || node.state == kNodeStateRevoked) return std::nullopt;
  return node.last_attested_at.value_or(node.enrolled_at) + deadline;
}

NodeMonitor::NodeMonitor(Store* store, const ActivePolicy* policy, const Clock* clock,
                         Logger* logger, Notifier* notifier, Metrics* metrics,
                         HealthCallback on_health, NodeMonitorOptions options)
    : store_(store),
      policy_(policy),
      clock_(clock),
      logger_(logger),
      notifier_(notifier),
      metrics_(metrics),
      on_health_(std::move(on_health)),
      options_(options) {}

NodeMonitor::~NodeMonitor() { Stop(); }

void NodeMonitor::Start() {
  if (thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void NodeMonitor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void NodeMonitor::Run() {
  while (true) {
    auto checked = CheckOnce();
    if (!checked.ok()) {
      logger_->Error("nodes.check_failed", {{"error", checked.status().ToString()}});
    }
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), options_.check_interval)) return;
  }
}

HealthState NodeMonitor::CheckHealth() {
  HealthState h;
  std::vector<std::string> problems;
  absl::Status ping = store_->Ping();
  h.store_ok = ping.ok();
  if (!ping.ok()) problems.push_back(absl::StrCat("store: ", ping.message()));
  // A policy change is reloaded by ActivePolicy; one that failed to load leaves the previous
  // policy in force, and that is reported here until the files are fixed.
  h.policy_file_current = policy_ != nullptr;
  if (policy_ != nullptr) {
    const std::string error = policy_->last_reload_error();
    h.policy_file_current = error.empty();
    if (!error.empty()) {
      problems.push_back(
          absl::StrCat("policy reload failed, ", policy_->Get()->id(), " stays in force: ", error));
    }
  }
  h.detail = absl::StrJoin(problems, "; ");
  if (metrics_ != nullptr) metrics_->SetHealth(h.store_ok, h.policy_file_current);
  if (on_health_) on_health_(h);
  return h;
}

absl::StatusOr<std::vector<NodeTransition>> NodeMonitor::CheckOnce() {
  absl::MutexLock check(&check_mu_);
  const HealthState health = CheckHealth();
  if (health.detail != last_health_detail_) {
    if (health.detail.empty()) {
      logger_->Info("health", {{"status", "ok"}});
    } else {
      logger_->Warning("health", {{"problem", health.detail}});
    }
    last_health_detail_ = health.detail;
  }
  auto stale = store_->MarkStaleNodes(clock_->Now(), options_.attestation_deadline);
  if (!stale.ok()) return stale.status();
  for (const NodeTransition& t : *stale) {
    logger_->Warning("node.stale", {{"node", t.node_id},
                                    {"from", t.old_state},
                                    {"event", t.event_id},
                                    {"detail", t.reasons.empty() ? "" : t.reasons[0].detail}});
  }
  if (!stale->empty() && notifier_ != nullptr) notifier_->Wake();
  return stale;
}

}  // namespace bootgate::verifier
