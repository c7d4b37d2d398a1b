#include "verifier/notify/notifier.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"

namespace bootgate::verifier {

absl::Duration RetryDelay(const NotifierOptions& options, int64_t attempts) {
  absl::Duration d = options.retry_initial;
  for (int64_t i = 1; i < attempts && d < options.retry_max; ++i) d *= 2;
  return std::min(d, options.retry_max);
}

Notifier::Notifier(Store* store, std::vector<std::unique_ptr<NotificationSink>> sinks,
                   const Clock* clock, Logger* logger, Metrics* metrics, NotifierOptions options)
    : store_(store), clock_(clock), logger_(logger), metrics_(metrics), options_(options) {
  for (auto& s : sinks) {
    const std::string name = s->name();
    sinks_[name] = std::move(s);
  }
}

Notifier::~Notifier() { Stop(); }

std::vector<std::string> Notifier::SinkNames() const {
  std::vector<std::string> out;
  for (const auto& [name, sink] : sinks_) out.push_back(name);
  return out;
}

void Notifier::Start() {
  if (thread_.joinable() || sinks_.empty()) return;
  {
    absl::MutexLock lock(&mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void Notifier::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Notifier::Wake() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

void Notifier::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || wake_; };
      mu_.AwaitWithTimeout(absl::Condition(&ready), options_.poll_interval);
      if (stop_) return;
      wake_ = false;
    }
    absl::StatusOr<int> delivered = DeliverDue();
    if (!delivered.ok()) {
      logger_->Error("notify.outbox_failed", {{"error", delivered.status().ToString()}});
    }
  }
}

absl::StatusOr<int> Notifier::DeliverDue() {
  absl::MutexLock pass(&pass_mu_);
  ASSIGN_OR_RETURN(std::vector<OutboxEntry> due,
                   store_->DueNotifications(clock_->Now(), options_.batch));
  int delivered = 0;
  // A sink that failed once in this pass is not tried again until the next one: an unreachable
  // receiver costs one timeout per pass, not one per queued event.
  std::set<std::string> failed_sinks;
  for (const OutboxEntry& e : due) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_) break;
    }
    if (failed_sinks.count(e.sink)) continue;
    auto it = sinks_.find(e.sink);
    absl::Status result = it == sinks_.end()
                              ? absl::FailedPreconditionError(absl::StrCat(
                                    "sink '", e.sink, "' is not configured in this verifier"))
                              : it->second->Deliver(e.event_id, e.payload);
    const absl::Time now = clock_->Now();
    if (metrics_ != nullptr) metrics_->RecordNotification(e.sink, result.ok());
    if (result.ok()) {
      RETURN_IF_ERROR(store_->MarkNotificationDelivered(e.event_id, e.sink, now));
      ++delivered;
      logger_->Info(
          "notify.delivered",
          {{"event", e.event_id}, {"sink", e.sink}, {"attempt", absl::StrCat(e.attempts + 1)}});
      continue;
    }
    failed_sinks.insert(e.sink);
    const absl::Time next = now + RetryDelay(options_, e.attempts + 1);
    RETURN_IF_ERROR(store_->MarkNotificationFailed(e.event_id, e.sink, result.ToString(), next));
    logger_->Warning("notify.failed",
                     {{"event", e.event_id},
                      {"sink", e.sink},
                      {"attempt", absl::StrCat(e.attempts + 1)},
                      {"retry_at", absl::FormatTime(absl::RFC3339_sec, next, absl::UTCTimeZone())},
                      {"error", result.ToString()}});
  }
  return delivered;
}

}  // namespace bootgate::verifier
