#include "verifier/appraise/active_policy.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace bootgate::verifier {

absl::StatusOr<std::unique_ptr<ActivePolicy>> ActivePolicy::Create(Loader loader,
                                                                   Fingerprint fingerprint,
                                                                   const Clock* clock,
                                                                   Logger* logger) {
  std::unique_ptr<ActivePolicy> active(
      new ActivePolicy(std::move(loader), std::move(fingerprint), clock, logger));
  absl::StatusOr<std::string> seen = active->fingerprint_();
  if (!seen.ok()) return seen.status();
  absl::StatusOr<std::shared_ptr<const Policy>> policy = active->loader_();
  if (!policy.ok()) return policy.status();
  if (*policy == nullptr) return absl::InternalError("policy loader returned no policy");
  absl::MutexLock lock(&active->mu_);
  active->policy_ = *std::move(policy);
  active->fingerprint_seen_ = *std::move(seen);
  active->loaded_at_ = clock->Now();
  return active;
}

std::unique_ptr<ActivePolicy> ActivePolicy::Fixed(std::shared_ptr<const Policy> policy,
                                                  const Clock* clock) {
  const std::shared_ptr<const Policy> fixed = policy;
  std::unique_ptr<ActivePolicy> active(new ActivePolicy(
      [fixed]() -> absl::StatusOr<std::shared_ptr<const Policy>> { return fixed; },
      []() -> absl::StatusOr<std::string> { return std::string("fixed"); }, clock, nullptr));
  absl::MutexLock lock(&active->mu_);
  active->policy_ = std::move(policy);
  active->fingerprint_seen_ = "fixed";
  active->loaded_at_ = clock->Now();
  return active;
}

ActivePolicy::~ActivePolicy() {
  if (watcher_.joinable()) {
    stop_.Notify();
    watcher_.join();
  }
}

std::shared_ptr<const Policy> ActivePolicy::Get() const {
  absl::MutexLock lock(&mu_);
  return policy_;
}

absl::Status ActivePolicy::Reload() {
  absl::MutexLock one_at_a_time(&reload_mu_);
  absl::StatusOr<std::string> seen = fingerprint_();
  absl::StatusOr<std::shared_ptr<const Policy>> loaded =
      seen.ok() ? loader_() : absl::StatusOr<std::shared_ptr<const Policy>>(seen.status());
  absl::Status status = loaded.status();
  if (status.ok() && *loaded == nullptr) status = absl::InternalError("loader returned no policy");

  std::string previous_id;
  {
    absl::MutexLock lock(&mu_);
    // A failing fingerprint (e.g. the directory is gone) is remembered too, so that one problem
    // is logged once, not at every poll.
    fingerprint_seen_ = seen.ok() ? *seen : absl::StrCat("error: ", seen.status().message());
    previous_id = policy_->id();
    if (status.ok()) {
      policy_ = *std::move(loaded);
      last_error_.clear();
      loaded_at_ = clock_->Now();
    } else {
      last_error_ = std::string(status.message());
    }
  }
  if (status.ok() && on_activated_) on_activated_(*Get());
  if (logger_ != nullptr) {
    if (status.ok()) {
      logger_->Info("policy.reloaded", {{"previous", previous_id}, {"policy", Get()->id()}});
    } else {
      logger_->Error("policy.reload_failed",
                     {{"error", std::string(status.message())}, {"still_active", previous_id}});
    }
  }
  return status;
}

absl::Status ActivePolicy::ReloadIfChanged() {
  absl::StatusOr<std::string> seen = fingerprint_();
  const std::string now_seen = seen.ok() ? *seen : absl::StrCat("error: ", seen.status().message());
  {
    absl::MutexLock lock(&mu_);
    if (now_seen == fingerprint_seen_) return absl::OkStatus();
  }
  return Reload();
}

absl::Status ActivePolicy::Validate(const Loader& candidate) const {
  absl::StatusOr<std::shared_ptr<const Policy>> loaded = candidate();
  if (!loaded.ok()) return loaded.status();
  if (*loaded == nullptr) return absl::InternalError("loader returned no policy");
  return absl::OkStatus();
}

void ActivePolicy::StartWatching(absl::Duration interval) {
  if (watcher_.joinable()) return;
  watcher_ = std::thread([this, interval] {
    while (!stop_.WaitForNotificationWithTimeout(interval)) {
      // Errors are logged and remembered by Reload(); the previous policy stays active.
      ReloadIfChanged().IgnoreError();
    }
  });
}

std::string ActivePolicy::last_reload_error() const {
  absl::MutexLock lock(&mu_);
  return last_error_;
}

absl::Time ActivePolicy::loaded_at() const {
  absl::MutexLock lock(&mu_);
  return loaded_at_;
}

}  // namespace bootgate::verifier
