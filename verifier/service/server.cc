#include "verifier/service/server.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {

namespace {

absl::Status Named(const absl::Status& s, absl::string_view what) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

absl::StatusOr<VerifierComponents> LoadComponents(const VerifierConfig& config) {
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

  auto policy = PcrValuePolicy::LoadFile(config.policy);
  if (!policy.ok()) return Named(policy.status(), "policy");
  const attest::PcrSet selected = attest::ToPcrSet(config.pcr_selection);
  std::vector<std::string> outside;
  for (const auto& [alg, pcr] : (*policy)->RequiredPcrs()) {
    if (!selected.count({alg, pcr}))
      outside.push_back(absl::StrCat(attest::HashAlgName(alg), ":", pcr));
  }
  if (!outside.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policy ", config.policy, " reads PCRs that pcr_selection (", config.pcr_selection_spec,
        ") does not request: ", absl::StrJoin(outside, ", ")));
  }
  c.policy = *std::move(policy);

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
  ServiceContext ctx{c.store.get(), clock, rng, logger};
  // The policy content behind the id every attestation records (audit exports re-run decisions
  // with it).
  RETURN_IF_ERROR(Named(c.store->RecordPolicy(PolicyRecord{c.policy->id(), c.policy->kind(),
                                                           c.policy->content(), clock->Now()}),
                        "policy record"));

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
  server->admin_ = std::make_unique<AdminServiceImpl>(ctx, c.policy.get());

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
  return server;
}

void VerifierServer::Shutdown(absl::Duration grace) {
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
