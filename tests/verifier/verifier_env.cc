#include "tests/verifier/verifier_env.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "gtest/gtest.h"
#include "policy/loader.h"
#include "policy/signing.h"
#include "tests/testing/test_util.h"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/pki/dev_pki.h"
#include "verifier/tokens/join_token.h"
#include "verifier/util/files.h"

namespace bootgate::testing {

namespace v1 = ::bootgate::v1;
using attest::Bytes;
using verifier::CertSpec;

absl::Status ToStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = ::testing::TempDir() + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const char* dir = mkdtemp(buf.data());
  EXPECT_NE(dir, nullptr) << tmpl;
  return dir == nullptr ? std::string() : std::string(dir);
}

absl::StatusOr<EkCa> EkCa::Create(const std::string& name, absl::Time now) {
  EkCa ca;
  ASSIGN_OR_RETURN(ca.root_key_, verifier::GenerateEcP256Key());
  CertSpec root;
  root.common_name = name + " EK Root CA";
  root.not_before = now - absl::Hours(24 * 30);
  root.not_after = now + absl::Hours(24 * 365 * 20);
  root.is_ca = true;
  root.key_usage = "critical,keyCertSign,cRLSign";
  ASSIGN_OR_RETURN(
      ca.root_, verifier::IssueCertificate(root, ca.root_key_.get(), nullptr, ca.root_key_.get()));
  ASSIGN_OR_RETURN(ca.intermediate_key_, verifier::GenerateEcP256Key());
  CertSpec inter = root;
  inter.common_name = name + " EK Intermediate CA";
  ASSIGN_OR_RETURN(ca.intermediate_,
                   verifier::IssueCertificate(inter, ca.intermediate_key_.get(), ca.root_.get(),
                                              ca.root_key_.get()));
  return ca;
}

absl::StatusOr<attest::X509Ptr> EkCa::IssueEkCert(EVP_PKEY* ek_key, absl::Time now,
                                                  const EkCertOptions& options) const {
  CertSpec spec;  // empty subject, as TPM vendors do; identity in the critical SAN
  spec.not_before = now - options.valid_before;
  spec.not_after = now + options.valid_after;
  spec.key_usage = "critical,keyEncipherment";
  if (options.ek_eku) spec.extended_key_usage = {"2.23.133.8.1"};
  if (options.tpm_san) {
    spec.tpm_san = verifier::TpmSan{"id:54455354", "bootgate-test-tpm", "id:00010002"};
  }
  return verifier::IssueCertificate(spec, ek_key, intermediate_.get(), intermediate_key_.get());
}

absl::StatusOr<std::string> EkCa::BundlePem() const {
  ASSIGN_OR_RETURN(std::string root, verifier::CertificatePem(root_.get()));
  ASSIGN_OR_RETURN(std::string inter, verifier::CertificatePem(intermediate_.get()));
  return root + inter;
}

absl::StatusOr<std::unique_ptr<VerifierEnv>> VerifierEnv::Create(const EnvOptions& options) {
  std::unique_ptr<VerifierEnv> env(new VerifierEnv());
  env->dir_ = MakeTempDir("verifier");
  RETURN_IF_ERROR(verifier::InitVerifierDirectory(env->dir_, {}, env->clock_));
  ASSIGN_OR_RETURN(env->ek_ca_, EkCa::Create("bootgate-test", env->clock_.Now()));
  ASSIGN_OR_RETURN(std::string bundle, env->ek_ca_.BundlePem());
  RETURN_IF_ERROR(verifier::WriteNewFile(env->dir_ + "/ek-ca/test-ek-ca.pem", bundle));

  // The policy: the booted log's replay, restricted to the selection.
  env->event_log_ = ReadTestData(options.event_log);
  ASSIGN_OR_RETURN(attest::UnverifiedEventLog log, attest::ParseEventLog(env->event_log_));
  ASSIGN_OR_RETURN(attest::PcrValues replayed, attest::ReplayEventLog(log));
  ASSIGN_OR_RETURN(env->selection_, attest::ParsePcrSelectionSpec(options.pcr_selection));
  attest::ReplayRestriction r = attest::RestrictReplayToSelection(replayed, env->selection_);
  if (r.finding != attest::QuoteFinding::kOk) return absl::InternalError(r.detail);
  env->pcrs_ = r.values;
  RETURN_IF_ERROR(verifier::WriteNewFile(env->dir_ + "/policy.yaml",
                                         verifier::PcrPolicyYaml("test-golden", env->pcrs_)));
  ASSIGN_OR_RETURN(attest::EvpPkeyPtr policy_key, verifier::GenerateEcP256Key());
  ASSIGN_OR_RETURN(env->policy_key_pem_, verifier::PrivateKeyPem(policy_key.get()));
  ASSIGN_OR_RETURN(std::string policy_pub, verifier::PublicKeyPem(policy_key.get()));
  RETURN_IF_ERROR(verifier::WriteNewFile(env->dir_ + "/policy-signing.pub", policy_pub));
  env->allow_unsigned_policies_ = options.allow_unsigned_policies;

  // The generated configuration, adjusted for tests: free ports, test limits and issuer.
  ASSIGN_OR_RETURN(std::string yaml, verifier::ReadFile(env->dir_ + "/verifier.yaml"));
  auto replace = [&yaml](const std::string& from, const std::string& to) {
    const size_t pos = yaml.find(from);
    if (pos != std::string::npos) yaml.replace(pos, from.size(), to);
  };
  replace("listen: 127.0.0.1:7443", "listen: 127.0.0.1:0");
  replace("admin_listen: 127.0.0.1:7444", "admin_listen: 127.0.0.1:0");
  replace("pcr_selection: sha256:0-9,11,14", "pcr_selection: " + options.pcr_selection);
  if (!options.issuer_exec.empty()) {
    replace("  file: tokens.txt", "  exec: \"" + options.issuer_exec + "\"");
  }
  absl::StrAppend(&yaml, "limits:\n  max_message_bytes: ", options.max_message_bytes,
                  "\n  max_event_log_bytes: ", options.max_event_log_bytes,
                  "\n  max_ima_log_bytes: ", options.max_ima_log_bytes, "\n");
  if (!options.ek_allow_list_text.empty()) {
    RETURN_IF_ERROR(
        verifier::WriteNewFile(env->dir_ + "/ek-allow-list.txt", options.ek_allow_list_text));
    absl::StrAppend(&yaml, "ek_allow_list: ek-allow-list.txt\n");
  }
  if (!options.golden_policy_files.empty()) {
    std::filesystem::create_directory(env->policy_dir());
    for (const auto& [name, content] : options.golden_policy_files) {
      RETURN_IF_ERROR(verifier::WriteNewFile(env->policy_dir() + "/" + name, content));
      if (options.sign_policies) {
        ASSIGN_OR_RETURN(std::string sig, env->SignPolicy(content));
        RETURN_IF_ERROR(verifier::WriteNewFile(env->policy_dir() + "/" + name + ".sig", sig));
      }
    }
    replace("policy: policy.yaml", "policy_dir: policies");
    absl::StrAppend(&yaml, "policy_keys: [policy-signing.pub]\n");
  }
  // Tests reload policies explicitly (ActivePolicy::ReloadIfChanged), never by a timer.
  absl::StrAppend(&yaml, "policy_reload_interval: 0s\n");
  for (const auto& [name, content] : options.files) {
    RETURN_IF_ERROR(verifier::WriteNewFile(env->dir_ + "/" + name, content));
  }
  if (!options.extra_config.empty()) {
    absl::StrAppend(&yaml, absl::StrReplaceAll(options.extra_config, {{"@DIR@", env->dir_}}));
  }
  RETURN_IF_ERROR(verifier::WriteFileAtomic(env->dir_ + "/verifier.yaml", yaml));
  ASSIGN_OR_RETURN(env->config_, verifier::LoadConfigFile(env->dir_ + "/verifier.yaml"));
  if (options.quiet_logs) env->log_sink_.reset(std::fopen("/dev/null", "w"));
  env->logger_ = std::make_unique<verifier::Logger>(
      verifier::LogFormat::kText, env->log_sink_ ? env->log_sink_.get() : stderr, &env->clock_);
  RETURN_IF_ERROR(env->Start());
  return env;
}

VerifierEnv::~VerifierEnv() {
  Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status VerifierEnv::Start() {
  Stop();
  verifier::LoadOptions load;
  load.clock = &clock_;
  load.logger = logger_.get();
  load.allow_unsigned_policies = allow_unsigned_policies_;
  ASSIGN_OR_RETURN(verifier::VerifierComponents components,
                   verifier::LoadComponents(config_, load));
  ASSIGN_OR_RETURN(server_, verifier::VerifierServer::Start(config_, std::move(components), &clock_,
                                                            &rng_, logger_.get()));
  ASSIGN_OR_RETURN(std::string ca, verifier::ReadFile(config_.tls.ca));
  ASSIGN_OR_RETURN(std::string admin_cert, verifier::ReadFile(config_.admin_client.cert));
  ASSIGN_OR_RETURN(std::string admin_key, verifier::ReadFile(config_.admin_client.key));
  grpc::SslCredentialsOptions agent_tls;
  agent_tls.pem_root_certs = ca;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetMaxSendMessageSize(64 << 20);
  agent_channel_ = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->agent_port()),
                                             grpc::SslCredentials(agent_tls), args);
  enrollment_ = v1::Enrollment::NewStub(agent_channel_);
  attestation_ = v1::Attestation::NewStub(agent_channel_);
  grpc::SslCredentialsOptions admin_tls = agent_tls;
  admin_tls.pem_cert_chain = admin_cert;
  admin_tls.pem_private_key = admin_key;
  admin_ = v1::Admin::NewStub(grpc::CreateCustomChannel(
      absl::StrCat("127.0.0.1:", server_->admin_port()), grpc::SslCredentials(admin_tls), args));
  return absl::OkStatus();
}

void VerifierEnv::Stop() {
  enrollment_.reset();
  attestation_.reset();
  admin_.reset();
  agent_channel_.reset();
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
}

std::shared_ptr<grpc::Channel> VerifierEnv::AdminChannelWithoutClientCert() const {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = verifier::ReadFile(config_.tls.ca).value_or("");
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->admin_port()),
                             grpc::SslCredentials(tls));
}

absl::StatusOr<TestTpm> VerifierEnv::MakeTpm(const SoftwareAkOptions& ak_options) const {
  ASSIGN_OR_RETURN(SoftwareEk ek, SoftwareEk::Create());
  ASSIGN_OR_RETURN(SoftwareAk ak, SoftwareAk::Create(ak_options));
  ASSIGN_OR_RETURN(attest::X509Ptr cert, ek_ca_.IssueEkCert(ek.key(), clock_.Now()));
  return TestTpm{std::move(ek), std::move(ak), std::move(cert), ""};
}

absl::StatusOr<std::string> VerifierEnv::SignPolicy(const std::string& yaml) const {
  ASSIGN_OR_RETURN(policy::PolicySet set, policy::ParsePolicyDocuments(yaml, "test policy"));
  ASSIGN_OR_RETURN(policy::PolicySignature sig, policy::SignPolicySet(set, policy_key_pem_));
  return policy::SerializeSignatureYaml(sig);
}

absl::StatusOr<v1::StartEnrollmentResponse> VerifierEnv::StartEnrollment(const TestTpm& tpm) {
  v1::StartEnrollmentRequest req;
  v1::EkCertificate* c = req.add_ek_certificates();
  c->set_nv_index(0x01C00002);
  ASSIGN_OR_RETURN(Bytes der, verifier::CertificateDer(tpm.ek_cert.get()));
  c->set_der(std::string(der.begin(), der.end()));
  req.set_ek_public(std::string(tpm.ek.public_bytes().begin(), tpm.ek.public_bytes().end()));
  req.set_ak_public(std::string(tpm.ak.public_bytes().begin(), tpm.ak.public_bytes().end()));
  req.set_hostname("test-node");
  for (const auto& [key, value] : tpm.labels) (*req.mutable_labels())[key] = value;
  v1::StartEnrollmentResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(ToStatus(enrollment_->StartEnrollment(&ctx, req, &resp)));
  return resp;
}

absl::StatusOr<v1::FinishEnrollmentResponse> VerifierEnv::Enroll(TestTpm* tpm) {
  ASSIGN_OR_RETURN(v1::StartEnrollmentResponse start, StartEnrollment(*tpm));
  if (start.status() != v1::ENROLLMENT_STATUS_CHALLENGED) {
    return absl::FailedPreconditionError(
        absl::StrCat("enrollment rejected: ", start.DebugString()));
  }
  ASSIGN_OR_RETURN(Bytes ak_name, attest::ObjectName(tpm->ak.public_area()));
  ASSIGN_OR_RETURN(Bytes secret,
                   tpm->ek.Activate(attest::AsSpan(start.challenge().credential_blob()),
                                    attest::AsSpan(start.challenge().encrypted_secret()), ak_name));
  v1::FinishEnrollmentRequest req;
  req.set_enrollment_id(start.enrollment_id());
  req.set_activated_secret(std::string(secret.begin(), secret.end()));
  v1::FinishEnrollmentResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(ToStatus(enrollment_->FinishEnrollment(&ctx, req, &resp)));
  if (resp.status() == v1::ENROLLMENT_STATUS_ENROLLED) tpm->node_id = resp.node().node_id();
  return resp;
}

absl::StatusOr<v1::Challenge> VerifierEnv::GetChallenge(const std::string& node_id) {
  v1::GetChallengeRequest req;
  req.set_node_id(node_id);
  v1::Challenge ch;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(ToStatus(attestation_->GetChallenge(&ctx, req, &ch)));
  return ch;
}

VerifierEnv::Evidence VerifierEnv::DefaultEvidence() const {
  Evidence e;
  e.pcrs = pcrs_;
  e.event_log = event_log_;
  return e;
}

absl::StatusOr<v1::AttestRequest> VerifierEnv::MakeAttestRequest(const TestTpm& tpm,
                                                                 const v1::Challenge& ch,
                                                                 const Evidence& e) const {
  attest::PcrSelection selection = e.selection;
  if (selection.empty()) {
    ASSIGN_OR_RETURN(selection, attest::ParsePcrSelectionSpec(ch.pcr_selection().spec()));
  }
  const SoftwareAk& signer = e.signer != nullptr ? *e.signer : tpm.ak;
  ASSIGN_OR_RETURN(SignedQuote quote, signer.Quote(attest::AsSpan(ch.nonce()), selection, e.pcrs,
                                                   e.clock, e.reset_count, e.restart_count));
  v1::AttestRequest req;
  req.set_node_id(tpm.node_id);
  req.set_nonce(ch.nonce());
  req.set_quote(std::string(quote.attest.begin(), quote.attest.end()));
  req.set_signature(std::string(quote.signature.begin(), quote.signature.end()));
  // The PCR_Read values of exactly the quoted selection.
  for (const attest::PcrBankSelection& bank : selection) {
    v1::PcrBank* b = req.add_pcrs();
    b->set_hash_alg(bank.alg);
    for (uint32_t pcr : bank.pcrs) {
      auto bank_values = e.pcrs.find(bank.alg);
      if (bank_values == e.pcrs.end() || !bank_values->second.count(pcr)) continue;
      const Bytes& v = bank_values->second.at(pcr);
      v1::PcrValue* pv = b->add_values();
      pv->set_index(pcr);
      pv->set_digest(std::string(v.begin(), v.end()));
    }
  }
  req.set_event_log(std::string(e.event_log.begin(), e.event_log.end()));
  req.set_request_join_token(e.request_join_token);
  return req;
}

absl::StatusOr<v1::AttestResponse> VerifierEnv::Send(const v1::AttestRequest& request) {
  v1::AttestResponse resp;
  grpc::ClientContext ctx;
  RETURN_IF_ERROR(ToStatus(attestation_->Attest(&ctx, request, &resp)));
  return resp;
}

absl::StatusOr<v1::AttestResponse> VerifierEnv::Attest(const TestTpm& tpm, const Evidence& e) {
  ASSIGN_OR_RETURN(v1::Challenge ch, GetChallenge(tpm.node_id));
  ASSIGN_OR_RETURN(v1::AttestRequest req, MakeAttestRequest(tpm, ch, e));
  return Send(req);
}

absl::StatusOr<std::string> VerifierEnv::UnwrapToken(const TestTpm& tpm,
                                                     const v1::WrappedToken& token) const {
  ASSIGN_OR_RETURN(Bytes ak_name, attest::ObjectName(tpm.ak.public_area()));
  ASSIGN_OR_RETURN(Bytes key, tpm.ek.Activate(attest::AsSpan(token.credential_blob()),
                                              attest::AsSpan(token.encrypted_secret()), ak_name));
  verifier::WrappedJoinToken w;
  w.ciphertext = attest::ToBytes(token.ciphertext());
  w.iv = attest::ToBytes(token.iv());
  w.tag = attest::ToBytes(token.tag());
  w.aad = attest::ToBytes(token.aad());
  return verifier::UnwrapJoinToken(key, w);
}

}  // namespace bootgate::testing
