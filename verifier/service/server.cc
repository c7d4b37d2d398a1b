#include "verifier/service/server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"
#include "verifier/appraise/golden_policy.h"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/appraise/policy_files.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {

namespace {

absl::Status Named(const absl::Status& s, absl::string_view what) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

// The policy's PCRs must be requested with every nonce, or it could never be satisfied.
absl::Status CheckPolicyPcrs(const Policy& policy, const VerifierConfig& config) {
  const attest::PcrSet selected = attest::ToPcrSet(config.pcr_selection);
  std::vector<std::string> outside;
  for (const auto& [alg, pcr] : policy.RequiredPcrs()) {
    if (!selected.count({alg, pcr}))
      outside.push_back(absl::StrCat(attest::HashAlgName(alg), ":", pcr));
  }
  if (!outside.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy ", policy.path(), " reads PCRs that pcr_selection (", config.pcr_selection_spec,
        ") does not request: ", absl::StrJoin(outside, ", ")));
  }
  return absl::OkStatus();
}

absl::Status LoadPolicy(const VerifierConfig& config, const LoadOptions& options,
                        VerifierComponents* c) {
  static const SystemClock kSystemClock;
  const Clock* clock = options.clock != nullptr ? options.clock : &kSystemClock;
  ActivePolicy::Loader loader;
  ActivePolicy::Fingerprint fingerprint;
  if (!config.policy.empty()) {
    const std::string path = config.policy;
    loader = [path, config]() -> absl::StatusOr<std::shared_ptr<const Policy>> {
      auto policy = PcrValuePolicy::LoadFile(path);
      if (!policy.ok()) return Named(policy.status(), "policy");
      RETURN_IF_ERROR(CheckPolicyPcrs(**policy, config));
      return std::shared_ptr<const Policy>(*std::move(policy));
    };
    fingerprint = [path]() { return FingerprintFile(path); };
  } else {
    GoldenPolicyOptions golden;
    golden.allow_unsigned = options.allow_unsigned_policies;
    golden.path = config.policy_dir;
    for (const std::string& key_path : config.policy_keys) {
      auto pem = ReadFile(key_path, 64 << 10);
      if (!pem.ok()) return Named(pem.status(), "policy_keys");
      golden.trusted_keys_pem.push_back(*std::move(pem));
    }
    if (golden.trusted_keys_pem.empty() && !golden.allow_unsigned) {
      return absl::InvalidArgumentError(
          "policy_keys: no trusted policy signing key configured; golden-image policies are "
          "loaded only when signed (start with --allow-unsigned-policies for development only)");
    }
    PolicySetBuilder build =
        [golden, config](
            const std::vector<PolicyFile>& files) -> absl::StatusOr<std::shared_ptr<const Policy>> {
      auto policy = GoldenPolicy::Build(files, golden);
      if (!policy.ok()) return Named(policy.status(), "policy_dir");
      RETURN_IF_ERROR(CheckPolicyPcrs(**policy, config));
      return std::shared_ptr<const Policy>(*std::move(policy));
    };
    const std::string dir = config.policy_dir;
    loader = [dir, build]() -> absl::StatusOr<std::shared_ptr<const Policy>> {
      auto files = ReadPolicyDirectory(dir);
      if (!files.ok()) return Named(files.status(), "policy_dir");
      return build(*files);
    };
    fingerprint = [dir]() -> absl::StatusOr<std::string> {
      ASSIGN_OR_RETURN(std::vector<PolicyFile> files, ReadPolicyDirectory(dir));
      return FingerprintPolicyFiles(files);
    };
    c->policy_build = build;
  }
  auto active =
      ActivePolicy::Create(std::move(loader), std::move(fingerprint), clock, options.logger);
  if (!active.ok()) return active.status();
  c->policy = *std::move(active);
  if (!config.policy_dir.empty()) {
    c->policy_directory =
        std::make_unique<PolicyDirectory>(config.policy_dir, c->policy_build, c->policy.get());
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifierComponents> LoadComponents(const VerifierConfig& config,
                                                  const LoadOptions& options) {
  VerifierComponents c;
  auto store = Store::Open(config.database);
  if (!store.ok()) return store.status();
  c.store = *std::move(store);

  auto trust = EkTrustStore::Load(config.ek_ca);
  if (!trust.ok()) return Named(trust.status(), "ek_ca");
  c.ek_trust = *std::move(trust);

  if (!config.ek_allow_list.empty()) {
    auto allow = EkAllowList::LoadFile(config.ek_allow_list);
    if (!allow.ok()) return Named(allow.status(), "ek_allow_list");
    c.ek_allow_list = *std::move(allow);
  }

  RETURN_IF_ERROR(LoadPolicy(config, options, &c));

  auto ear = EarSigner::FromPemFile(config.ear_signing_key);
  if (!ear.ok()) return Named(ear.status(), "ear_signing_key");
  c.ear = *std::move(ear);

  if (!config.issuer.exec.empty()) {
    auto exec = ExecIssuer::Create(config.issuer.exec, config.issuer.timeout);
    if (!exec.ok()) return Named(exec.status(), "issuer.exec");
    c.issuer = *std::move(exec);
  } else {
    c.issuer = std::make_unique<FileIssuer>(config.issuer.file);
  }
  return c;
}

absl::StatusOr<std::unique_ptr<VerifierServer>> VerifierServer::Start(const VerifierConfig& config,
                                                                      VerifierComponents components,
                                                                      const Clock* clock,
                                                                      attest::RandomSource* rng,
                                                                      Logger* logger) {
  std::unique_ptr<VerifierServer> server(new VerifierServer());
  server->components_ = std::move(components);
  VerifierComponents& c = server->components_;
  // Watching the fleet: metrics, the notification outbox and the node monitor (stale nodes,
  // health). Sinks are configured before any request can record a state change.
  server->metrics_ = std::make_unique<Metrics>(clock);
  server->metrics_->SetPolicy(c.policy->Get()->id());
  std::vector<std::unique_ptr<NotificationSink>> sinks;
  const NotificationsConfig& nc = config.notifications;
  if (!nc.webhook_url.empty()) {
    auto webhook = WebhookSink::Create(nc.webhook_url, nc.webhook_secret_file, nc.webhook_timeout);
    if (!webhook.ok()) return Named(webhook.status(), "notifications.webhook");
    sinks.push_back(*std::move(webhook));
  }
  if (!nc.exec.empty()) {
    auto exec = ExecHookSink::Create(nc.exec, nc.exec_timeout);
    if (!exec.ok()) return Named(exec.status(), "notifications.exec");
    sinks.push_back(*std::move(exec));
  }
  NotifierOptions notifier_options;
  notifier_options.retry_initial = nc.retry_initial;
  notifier_options.retry_max = nc.retry_max;
  notifier_options.poll_interval = nc.poll_interval;
  server->notifier_ = std::make_unique<Notifier>(c.store.get(), std::move(sinks), clock, logger,
                                                 server->metrics_.get(), notifier_options);
  c.store->SetNotificationSinks(server->notifier_->SinkNames());
  ServiceContext ctx{c.store.get(),          clock, rng, logger, server->metrics_.get(),
                     server->notifier_.get()};
  // The policy content behind the id every attestation records (audit exports re-run decisions
  // with it).
  {
    const std::shared_ptr<const Policy> policy = c.policy->Get();
    RETURN_IF_ERROR(Named(c.store->RecordPolicy(PolicyRecord{policy->id(), policy->kind(),
                                                             policy->content(), clock->Now()}),
                          "policy record"));
  }
  // Every policy activated later (hot reload, PutPolicy) is recorded the same way. A failure to
  // record is logged; audit exports then name the policy id whose content is missing.
  Store* store = c.store.get();
  Metrics* metrics = server->metrics_.get();
  c.policy->SetOnActivated([store, metrics, clock, logger](const Policy& policy) {
    absl::Status s = store->RecordPolicy(
        PolicyRecord{policy.id(), policy.kind(), policy.content(), clock->Now()});
    if (!s.ok() && logger != nullptr) {
      logger->Error("policy.record_failed", {{"policy", policy.id()}, {"error", s.ToString()}});
    }
    metrics->SetPolicy(policy.id());
  });

  server->enrollment_ = std::make_unique<EnrollmentServiceImpl>(
      ctx, c.ek_trust.get(), c.ek_allow_list.get(), EnrollmentOptions{config.enrollment_ttl});
  AttestationOptions options;
  options.nonce_ttl = config.nonce_ttl;
  options.selection = config.pcr_selection;
  options.token_ttl = config.token_ttl;
  options.verifier_id = config.verifier_id;
  options.max_event_log_bytes = config.limits.max_event_log_bytes;
  options.max_ima_log_bytes = config.limits.max_ima_log_bytes;
  server->attestation_ = std::make_unique<AttestationServiceImpl>(
      ctx, c.policy.get(), c.ear.get(), c.issuer.get(), std::move(options));
  server->admin_ = std::make_unique<AdminServiceImpl>(ctx, c.policy.get(), c.policy_directory.get(),
                                                      config.nodes.attestation_deadline);
  if (config.policy_reload_interval > absl::ZeroDuration()) {
    c.policy->StartWatching(config.policy_reload_interval);
  }

  ASSIGN_OR_RETURN(std::string ca, ReadFile(config.tls.ca, 1 << 20));
  ASSIGN_OR_RETURN(std::string cert, ReadFile(config.tls.cert, 1 << 20));
  ASSIGN_OR_RETURN(std::string key, ReadFile(config.tls.key, 1 << 20));

  // Every server built from here on gets grpc.health.v1.Health.
  grpc::EnableDefaultHealthCheckService(true);

  grpc::SslServerCredentialsOptions agent_tls(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  agent_tls.pem_key_cert_pairs.push_back({key, cert});
  grpc::ServerBuilder agent;
  agent.AddListeningPort(config.listen, grpc::SslServerCredentials(agent_tls),
                         &server->agent_port_);
  agent.SetMaxReceiveMessageSize(static_cast<int>(config.limits.max_message_bytes));
  agent.RegisterService(server->enrollment_.get());
  agent.RegisterService(server->attestation_.get());
  server->agent_server_ = agent.BuildAndStart();
  if (!server->agent_server_ || server->agent_port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen, " (address in use or not local?)"));
  }

  grpc::SslServerCredentialsOptions admin_tls(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  admin_tls.pem_root_certs = ca;
  admin_tls.pem_key_cert_pairs.push_back({key, cert});
  grpc::ServerBuilder admin;
  admin.AddListeningPort(config.admin_listen, grpc::SslServerCredentials(admin_tls),
                         &server->admin_port_);
  admin.SetMaxReceiveMessageSize(1 << 20);
  admin.RegisterService(server->admin_.get());
  server->admin_server_ = admin.BuildAndStart();
  if (!server->admin_server_ || server->admin_port_ == 0) {
    server->Shutdown(absl::ZeroDuration());
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.admin_listen, " (address in use or not local?)"));
  }
  // "" (the whole server) and each service by its full name, as health checkers ask either way.
  const std::pair<grpc::Server*, std::vector<std::string>> health_names[] = {
      {server->agent_server_.get(), {"bootgate.v1.Enrollment", "bootgate.v1.Attestation"}},
      {server->admin_server_.get(), {"bootgate.v1.Admin"}}};
  for (const auto& [s, names] : health_names) {
    if (grpc::HealthCheckServiceInterface* health = s->GetHealthCheckService()) {
      health->SetServingStatus(true);
      for (const std::string& name : names) health->SetServingStatus(name, true);
    }
  }

  if (!config.metrics.listen.empty()) {
    auto metrics_server =
        MetricsServer::Start(config.metrics.listen, server->metrics_.get(), c.store.get());
    if (!metrics_server.ok()) {
      server->Shutdown(absl::ZeroDuration());
      return metrics_server.status();
    }
    server->metrics_server_ = *std::move(metrics_server);
  }
  NodeMonitorOptions monitor_options;
  monitor_options.attestation_deadline = config.nodes.attestation_deadline;
  monitor_options.check_interval = config.nodes.check_interval;
  VerifierServer* raw = server.get();
  server->monitor_ = std::make_unique<NodeMonitor>(
      c.store.get(), c.policy.get(), clock, logger, server->notifier_.get(), server->metrics_.get(),
      [raw](const HealthState& h) { raw->ApplyHealth(h); }, monitor_options);
  server->notifier_->Start();
  server->monitor_->Start();
  return server;
}

void VerifierServer::ApplyHealth(const HealthState& health) {
  // The policy is loaded once and stays in force, so only the store decides serving; a policy
  // file that changed on disk is reported by the monitor's log and bootgate_policy_file_current.
  const std::pair<grpc::Server*, std::vector<std::string>> health_names[] = {
      {agent_server_.get(), {"bootgate.v1.Enrollment", "bootgate.v1.Attestation"}},
      {admin_server_.get(), {"bootgate.v1.Admin"}}};
  absl::MutexLock lock(&health_mu_);
  if (shut_down_) return;
  for (const auto& [s, names] : health_names) {
    if (s == nullptr) continue;
    if (grpc::HealthCheckServiceInterface* h = s->GetHealthCheckService()) {
      h->SetServingStatus(health.store_ok);
      for (const std::string& name : names) h->SetServingStatus(name, health.store_ok);
    }
  }
}

void VerifierServer::Shutdown(absl::Duration grace) {
  // The background threads first: none of them may touch a server being torn down.
  if (monitor_) monitor_->Stop();
  if (notifier_) notifier_->Stop();
  if (metrics_server_) metrics_server_->Shutdown();
  absl::MutexLock lock(&health_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  const gpr_timespec deadline =
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                   gpr_time_from_millis(absl::ToInt64Milliseconds(grace), GPR_TIMESPAN));
  for (grpc::Server* s : {agent_server_.get(), admin_server_.get()}) {
    if (s == nullptr) continue;
    // NOT_SERVING first, so health checkers see the drain before connections close.
    if (grpc::HealthCheckServiceInterface* health = s->GetHealthCheckService()) {
      health->SetServingStatus(false);
    }
  }
  for (auto* s : {&agent_server_, &admin_server_}) {
    if (*s) {
      (*s)->Shutdown(deadline);
      (*s)->Wait();
    }
  }
}

VerifierServer::~VerifierServer() { Shutdown(absl::ZeroDuration()); }

}  // namespace bootgate::verifier
