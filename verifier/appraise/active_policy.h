// The policy in force, replaceable while the verifier runs. Every appraisal takes a snapshot
// (Get) and keeps it for its whole run, so a reload never changes a decision halfway. A reload
// that fails (a file that does not parse, a bad or missing signature, PCRs outside the selection)
// keeps the previous policy active and is reported: there is never an accept-all fallback, and a
// verifier whose first load fails does not start.
#ifndef BOOTGATE_VERIFIER_APPRAISE_ACTIVE_POLICY_H_
#define BOOTGATE_VERIFIER_APPRAISE_ACTIVE_POLICY_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "verifier/appraise/policy.h"
#include "verifier/util/clock.h"
#include "verifier/util/logging.h"

namespace bootgate::verifier {

class ActivePolicy {
 public:
  // Digest of everything the policy is loaded from (file names and contents): a reload happens
  // only when it changes.
  using Fingerprint = std::function<absl::StatusOr<std::string>()>;
  using Loader = std::function<absl::StatusOr<std::shared_ptr<const Policy>>()>;

  // Loads once; an error here is the caller's (the verifier refuses to start).
  // `clock` and `logger` must outlive the object.
  static absl::StatusOr<std::unique_ptr<ActivePolicy>> Create(Loader loader,
                                                              Fingerprint fingerprint,
                                                              const Clock* clock, Logger* logger);
  // A policy that never changes (tests, `check`).
  static std::unique_ptr<ActivePolicy> Fixed(std::shared_ptr<const Policy> policy,
                                             const Clock* clock);
  ~ActivePolicy();

  std::shared_ptr<const Policy> Get() const;

  // Loads now. On error the active policy stays and the error is remembered and logged.
  absl::Status Reload();
  // Reload() when the fingerprint changed since the last attempt (successful or not); returns
  // OK when nothing changed.
  absl::Status ReloadIfChanged();
  // Loads `candidate` without activating it (the admin API's check before writing a file).
  absl::Status Validate(const Loader& candidate) const;

  // Called with every newly activated policy (after a successful reload), outside the locks:
  // the verifier records the policy content for audits and updates its metrics. Set it before
  // StartWatching.
  void SetOnActivated(std::function<void(const Policy&)> on_activated) {
    on_activated_ = std::move(on_activated);
  }

  // Polls the fingerprint every `interval` on a background thread until destruction.
  void StartWatching(absl::Duration interval);

  std::string last_reload_error() const;
  absl::Time loaded_at() const;

 private:
  ActivePolicy(Loader loader, Fingerprint fingerprint, const Clock* clock, Logger* logger)
      : loader_(std::move(loader)),
        fingerprint_(std::move(fingerprint)),
        clock_(clock),
        logger_(logger) {}

  const Loader loader_;
  const Fingerprint fingerprint_;
  std::function<void(const Policy&)> on_activated_;
  const Clock* const clock_;
  Logger* const logger_;  // may be null (Fixed)

  mutable absl::Mutex mu_;
  std::shared_ptr<const Policy> policy_ ABSL_GUARDED_BY(mu_);
  std::string fingerprint_seen_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  absl::Time loaded_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Mutex reload_mu_;  // one reload at a time (watcher thread vs admin API)

  absl::Notification stop_;
  std::thread watcher_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_ACTIVE_POLICY_H_
