// Wires a configuration into running gRPC servers: loads the components (store, EK trust store,
// allow-list, policy, EAR key, issuer), creates the services with them, and starts two servers:
//  - the agent API (Enrollment, Attestation, health) with server-authenticated TLS on `listen`;
//  - the admin API (Admin, health) with mutual TLS on `admin_listen`: the client certificate must
//    chain to tls.ca (the TLS handshake fails otherwise, before any RPC).
// Both report through the standard grpc.health.v1 service: SERVING while the store answers,
// NOT_SERVING when it does not (re-checked every nodes.check_interval) and while shutting down.
// Also started: the node monitor (stale detection), the notifier (webhook / exec hook outbox)
// and, with metrics.listen, the Prometheus endpoint. Port 0 binds a free port;
// agent_port() / admin_port() tell which. Shared by `bootgate-verifier serve` and the in-process
// service tests so that both exercise exactly the same wiring.
#ifndef BOOTGATE_VERIFIER_SERVICE_SERVER_H_
#define BOOTGATE_VERIFIER_SERVICE_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "attest/crypto/random.h"
#include "verifier/appraise/active_policy.h"
#include "verifier/appraise/policy.h"
#include "verifier/appraise/policy_files.h"
#include "verifier/config/config.h"
#include "verifier/enroll/ek_allow_list.h"
#include "verifier/enroll/ek_trust.h"
#include "verifier/metrics/metrics.h"
#include "verifier/notify/notifier.h"
#include "verifier/service/admin_service.h"
#include "verifier/service/attestation_service.h"
#include "verifier/service/enrollment_service.h"
#include "verifier/state/node_monitor.h"
#include "verifier/store/store.h"
#include "verifier/tokens/ear.h"
#include "verifier/tokens/issuer.h"
#include "verifier/util/clock.h"
#include "verifier/util/logging.h"

namespace bootgate::verifier {

// Everything a verifier needs besides clock, randomness and logger, loaded from a configuration.
struct VerifierComponents {
  std::unique_ptr<Store> store;
  std::unique_ptr<EkTrustStore> ek_trust;
  std::unique_ptr<EkAllowList> ek_allow_list;  // null when not configured
  std::unique_ptr<ActivePolicy> policy;
  PolicySetBuilder policy_build;                      // policy_dir mode only
  std::unique_ptr<PolicyDirectory> policy_directory;  // policy_dir mode only
  std::unique_ptr<EarSigner> ear;
  std::unique_ptr<TokenIssuer> issuer;
};

struct LoadOptions {
  const Clock* clock = nullptr;  // default: the system clock; must outlive the components
  Logger* logger = nullptr;      // policy reloads are logged here when set
  // Development only: load golden-image policies without a trusted signature (logged loudly).
  bool allow_unsigned_policies = false;
};

// Errors name the component and file. The policy's PCRs must be part of pcr_selection.
absl::StatusOr<VerifierComponents> LoadComponents(const VerifierConfig& config,
                                                  const LoadOptions& options = {});

class VerifierServer {
 public:
  // `clock`, `rng` (thread-safe) and `logger` must outlive the server.
  static absl::StatusOr<std::unique_ptr<VerifierServer>> Start(const VerifierConfig& config,
                                                               VerifierComponents components,
                                                               const Clock* clock,
                                                               attest::RandomSource* rng,
                                                               Logger* logger);
  ~VerifierServer();

  int agent_port() const { return agent_port_; }
  int admin_port() const { return admin_port_; }
  // The metrics endpoint's port (0 when metrics.listen is not set).
  int metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }
  Store* store() const { return components_.store.get(); }
  ActivePolicy* policy() const { return components_.policy.get(); }
  Metrics* metrics() const { return metrics_.get(); }
  Notifier* notifier() const { return notifier_.get(); }
  NodeMonitor* monitor() const { return monitor_.get(); }

  // Stops accepting calls and waits up to `grace` for running ones; idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

 private:
  VerifierServer() = default;

  // Health of the verifier's own dependencies as the monitor last saw it.
  void ApplyHealth(const HealthState& health);

  VerifierComponents components_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<Notifier> notifier_;
  std::unique_ptr<NodeMonitor> monitor_;
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<EnrollmentServiceImpl> enrollment_;
  std::unique_ptr<AttestationServiceImpl> attestation_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<grpc::Server> agent_server_;
  std::unique_ptr<grpc::Server> admin_server_;
  int agent_port_ = 0;
  int admin_port_ = 0;
  absl::Mutex health_mu_;
  bool shut_down_ ABSL_GUARDED_BY(health_mu_) = false;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_SERVICE_SERVER_H_
