// The verifier's gRPC services in-process over real TLS on free ports: the happy path (enroll,
// attest, TPM-bound join token, EAR), and each rejection with its named reason, nothing issued
// and everything recorded; size limits; the admin API's mutual TLS; a restart that keeps every
// committed record.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "attest/eventlog/event_log.h"
#include "attest/pcr/pcr_json.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/tokens/ear.h"
#include "verifier/tokens/join_token.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::testing {
namespace {

namespace v1 = ::bootgate::v1;
using attest::Bytes;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<std::string> Codes(const google::protobuf::RepeatedPtrField<v1::Finding>& findings) {
  std::vector<std::string> out;
  for (const v1::Finding& f : findings) out.push_back(f.code());
  return out;
}

class VerifierServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Init({}); }

  void Init(const EnvOptions& options) {
    env_.reset();
    auto env = VerifierEnv::Create(options);
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
  }

  TestTpm EnrolledTpm(const SoftwareAkOptions& ak = {}) {
    auto tpm = env_->MakeTpm(ak);
    EXPECT_TRUE(tpm.ok()) << tpm.status();
    if (!tpm.ok()) return TestTpm{};
    auto finish = env_->Enroll(&*tpm);
    EXPECT_TRUE(finish.ok()) << finish.status();
    EXPECT_EQ(finish.ok() ? finish->status() : v1::ENROLLMENT_STATUS_UNSPECIFIED,
              v1::ENROLLMENT_STATUS_ENROLLED);
    return *std::move(tpm);
  }

  std::vector<v1::TokenRecord> Tokens() {
    v1::ListTokensRequest req;
    v1::ListTokensResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(env_->admin().ListTokens(&ctx, req, &resp).ok());
    return {resp.tokens().begin(), resp.tokens().end()};
  }

  std::vector<v1::AttestationRecord> Attestations(const std::string& node_id = "") {
    v1::ListAttestationsRequest req;
    req.set_node_id(node_id);
    v1::ListAttestationsResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(env_->admin().ListAttestations(&ctx, req, &resp).ok());
    return {resp.attestations().begin(), resp.attestations().end()};
  }

  std::vector<v1::EnrollmentRecord> Enrollments() {
    v1::ListEnrollmentsRequest req;
    v1::ListEnrollmentsResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(env_->admin().ListEnrollments(&ctx, req, &resp).ok());
    return {resp.enrollments().begin(), resp.enrollments().end()};
  }

  size_t TokenFileLines() {
    auto text = verifier::ReadFile(env_->dir() + "/tokens.txt");
    if (!text.ok()) return 0;
    return std::count(text->begin(), text->end(), '\n');
  }

  // A rejected attestation: contraindicated, the expected first finding, no token anywhere, and
  // recorded with the same findings.
  void ExpectRejected(const absl::StatusOr<v1::AttestResponse>& resp, const std::string& code) {
    ASSERT_TRUE(resp.ok()) << resp.status();
    EXPECT_EQ(resp->verdict(), v1::VERDICT_CONTRAINDICATED);
    ASSERT_THAT(Codes(resp->findings()), ::testing::Not(IsEmpty()));
    EXPECT_EQ(resp->findings(0).code(), code) << resp->DebugString();
    EXPECT_FALSE(resp->has_join_token());
    EXPECT_FALSE(resp->ear_jwt().empty());
    v1::GetAttestationRequest req;
    req.set_attestation_id(resp->attestation_id());
    req.set_include_evidence(true);
    v1::AttestationRecord rec;
    grpc::ClientContext ctx;
    ASSERT_TRUE(env_->admin().GetAttestation(&ctx, req, &rec).ok());
    EXPECT_EQ(rec.verdict(), v1::VERDICT_CONTRAINDICATED);
    EXPECT_EQ(Codes(rec.findings()), Codes(resp->findings()));
    EXPECT_TRUE(rec.token_id().empty());
    EXPECT_FALSE(rec.quote().empty());
    for (const v1::TokenRecord& t : Tokens()) EXPECT_NE(t.attestation_id(), resp->attestation_id());
  }

  void ExpectEnrollmentRejected(const TestTpm& tpm, const std::string& code) {
    auto start = env_->StartEnrollment(tpm);
    ASSERT_TRUE(start.ok()) << start.status();
    EXPECT_EQ(start->status(), v1::ENROLLMENT_STATUS_REJECTED);
    ASSERT_THAT(Codes(start->findings()), SizeIs(1));
    EXPECT_EQ(start->findings(0).code(), code) << start->findings(0).detail();
    EXPECT_TRUE(start->challenge().credential_blob().empty());
    bool recorded = false;
    for (const v1::EnrollmentRecord& e : Enrollments()) {
      if (e.enrollment_id() != start->enrollment_id()) continue;
      recorded = true;
      EXPECT_EQ(e.status(), v1::ENROLLMENT_STATUS_REJECTED);
      EXPECT_EQ(Codes(e.findings()), std::vector<std::string>{code});
    }
    EXPECT_TRUE(recorded);
    v1::ListNodesRequest req;
    v1::ListNodesResponse nodes;
    grpc::ClientContext ctx;
    ASSERT_TRUE(env_->admin().ListNodes(&ctx, req, &nodes).ok());
    EXPECT_EQ(nodes.nodes_size(), 0);
  }

  std::unique_ptr<VerifierEnv> env_;
};

// --- The happy path.

TEST_F(VerifierServiceTest, EnrollAttestAndUnwrapTheJoinToken) {
  TestTpm tpm = EnrolledTpm();
  ASSERT_FALSE(tpm.node_id.empty());

  auto resp = env_->Attest(tpm);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->verdict(), v1::VERDICT_AFFIRMING) << resp->DebugString();
  EXPECT_THAT(Codes(resp->findings()), IsEmpty());
  ASSERT_EQ(resp->checks_size(), 6);
  for (const v1::Check& c : resp->checks()) {
    EXPECT_EQ(c.state(), v1::CHECK_STATE_PASSED) << c.name() << ": " << c.detail();
  }
  EXPECT_TRUE(resp->new_boot());
  EXPECT_EQ(resp->clock().reset_count(), 1u);
  EXPECT_THAT(resp->policy_id(), ::testing::StartsWith("test-golden@sha256:"));

  // The token: only this TPM (EK private key + AK name) unwraps it.
  ASSERT_TRUE(resp->has_join_token());
  const v1::WrappedToken& wrapped = resp->join_token();
  EXPECT_EQ(attest::ToBytes(wrapped.aad()),
            verifier::JoinTokenAad(resp->attestation_id(), tpm.node_id));
  auto token = env_->UnwrapToken(tpm, wrapped);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_TRUE(std::regex_match(*token, std::regex("[a-z0-9]{6}\\.[a-z0-9]{16}"))) << *token;
  EXPECT_EQ(token->substr(0, 6), wrapped.token_id());
  auto other = env_->MakeTpm();
  ASSERT_TRUE(other.ok());
  other->ak = tpm.ak;  // same AK name, another TPM's EK
  EXPECT_FALSE(env_->UnwrapToken(*other, wrapped).ok());

  // Published by the file issuer and recorded (id, node, expiry, attestation).
  auto lines = verifier::ReadFile(env_->dir() + "/tokens.txt");
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ::testing::StartsWith(*token + " " + tpm.node_id + " "));
  std::vector<v1::TokenRecord> tokens = Tokens();
  ASSERT_THAT(tokens, SizeIs(1));
  EXPECT_EQ(tokens[0].token_id(), wrapped.token_id());
  EXPECT_EQ(tokens[0].node_id(), tpm.node_id);
  EXPECT_EQ(tokens[0].attestation_id(), resp->attestation_id());
  EXPECT_EQ(tokens[0].status(), "issued");
  EXPECT_EQ(tokens[0].expires_at().seconds() - tokens[0].issued_at().seconds(), 3600);
  EXPECT_THAT(*lines, ::testing::Not(HasSubstr("abcdef")));

  // The EAR verifies with the published key and says what happened.
  auto pub_pem = verifier::ReadFile(env_->dir() + "/ear-signing.pub.pem");
  ASSERT_TRUE(pub_pem.ok());
  auto pub = verifier::ParsePublicKeyPem(*pub_pem);
  ASSERT_TRUE(pub.ok());
  auto claims = verifier::VerifyEs256Jwt(resp->ear_jwt(), pub->get());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ((*claims)["eat_profile"], verifier::kEarProfile);
  const auto& submod = (*claims)["submods"][tpm.node_id];
  EXPECT_EQ(submod["ear.status"], "affirming");
  EXPECT_EQ(submod["ear.appraisal-policy-id"], resp->policy_id());
  EXPECT_EQ(submod["bootgate.attestation-id"], resp->attestation_id());

  // The node record carries the latest attestation and clock.
  v1::GetNodeRequest get;
  get.set_node_id(tpm.node_id);
  v1::Node node;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->admin().GetNode(&ctx, get, &node).ok());
  EXPECT_EQ(node.last_attestation_id(), resp->attestation_id());
  EXPECT_EQ(node.last_verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_EQ(node.tpm_manufacturer(), "id:54455354");
  EXPECT_EQ(node.last_clock().reset_count(), 1u);

  // A periodic attestation without a token request: affirming, same boot, no token.
  VerifierEnv::Evidence periodic = env_->DefaultEvidence();
  periodic.request_join_token = false;
  periodic.clock = 2000;
  auto again = env_->Attest(tpm, periodic);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_FALSE(again->new_boot());
  EXPECT_FALSE(again->has_join_token());
  EXPECT_THAT(Tokens(), SizeIs(1));
}

TEST_F(VerifierServiceTest, ChallengeCarriesNonceAndSelectionInEveryForm) {
  TestTpm tpm = EnrolledTpm();
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok()) << ch.status();
  EXPECT_EQ(ch->nonce().size(), 32u);
  EXPECT_EQ(ch->pcr_selection().spec(), "sha256:0-9,11,14");
  ASSERT_EQ(ch->pcr_selection().banks_size(), 1);
  EXPECT_EQ(ch->pcr_selection().banks(0).hash_alg(), TPM2_ALG_SHA256);
  EXPECT_EQ(ch->pcr_selection().banks(0).pcrs_size(), 12);
  EXPECT_FALSE(ch->pcr_selection().tpml_pcr_selection().empty());
  auto other = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->nonce(), ch->nonce());
  // By AK name too; unknown nodes get NOT_FOUND.
  v1::GetChallengeRequest by_name;
  auto ak_name = attest::ObjectName(tpm.ak.public_area());
  by_name.set_ak_name(std::string(ak_name->begin(), ak_name->end()));
  v1::Challenge named;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->attestation().GetChallenge(&ctx, by_name, &named).ok());
  EXPECT_EQ(named.node_id(), tpm.node_id);
  EXPECT_EQ(env_->GetChallenge("node-0000000000000000").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(VerifierServiceTest, HealthServiceReportsServing) {
  grpc::GenericStub stub(env_->agent_channel());
  grpc::Slice empty("");  // HealthCheckRequest{service: ""} encodes to no bytes
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

TEST_F(VerifierServiceTest, AdminApiRequiresAClientCertificate) {
  auto stub = v1::Admin::NewStub(env_->AdminChannelWithoutClientCert());
  v1::ListNodesRequest req;
  v1::ListNodesResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  EXPECT_FALSE(stub->ListNodes(&ctx, req, &resp).ok());
  // The agent port does not serve the admin API at all.
  auto on_agent_port = v1::Admin::NewStub(env_->agent_channel());
  grpc::ClientContext ctx2;
  EXPECT_EQ(on_agent_port->ListNodes(&ctx2, req, &resp).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// --- Enrollment rejections.

TEST_F(VerifierServiceTest, EnrollmentRejectsAnEkFromAnUnknownCa) {
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  auto stranger = EkCa::Create("stranger", env_->clock().Now());
  ASSERT_TRUE(stranger.ok());
  auto cert = stranger->IssueEkCert(tpm->ek.key(), env_->clock().Now());
  ASSERT_TRUE(cert.ok());
  tpm->ek_cert = *std::move(cert);
  ExpectEnrollmentRejected(*tpm, "ENROLL_EK_CHAIN_UNTRUSTED");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsAnExpiredEkCertificate) {
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  EkCa::EkCertOptions options;
  options.valid_before = absl::Hours(24 * 400);
  options.valid_after = -absl::Hours(24);
  auto cert = env_->ek_ca().IssueEkCert(tpm->ek.key(), env_->clock().Now(), options);
  ASSERT_TRUE(cert.ok());
  tpm->ek_cert = *std::move(cert);
  ExpectEnrollmentRejected(*tpm, "ENROLL_EK_EXPIRED");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsAnEkCertificateOnceTheClockPassesItsExpiry) {
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  env_->clock().Advance(absl::Hours(24 * 366));  // the injected clock drives X509 validity
  ExpectEnrollmentRejected(*tpm, "ENROLL_EK_EXPIRED");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsAnEkPublicThatIsNotTheCertificatesKey) {
  auto tpm = env_->MakeTpm();
  auto other = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok() && other.ok());
  tpm->ek_cert = std::move(other->ek_cert);  // valid certificate, another EK's key
  ExpectEnrollmentRejected(*tpm, "ENROLL_EK_PUBLIC_MISMATCH");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsEkCertificatesWithoutEkuOrTpmSan) {
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  EkCa::EkCertOptions no_eku;
  no_eku.ek_eku = false;
  tpm->ek_cert = *env_->ek_ca().IssueEkCert(tpm->ek.key(), env_->clock().Now(), no_eku);
  ExpectEnrollmentRejected(*tpm, "ENROLL_EK_EKU_MISSING");
  EkCa::EkCertOptions no_san;
  no_san.tpm_san = false;
  tpm->ek_cert = *env_->ek_ca().IssueEkCert(tpm->ek.key(), env_->clock().Now(), no_san);
  ExpectEnrollmentRejected(*tpm, "ENROLL_EK_SAN_MISSING");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsANonRestrictedAk) {
  SoftwareAkOptions unrestricted;
  unrestricted.attributes &= ~TPMA_OBJECT_RESTRICTED;
  auto tpm = env_->MakeTpm(unrestricted);
  ASSERT_TRUE(tpm.ok());
  ExpectEnrollmentRejected(*tpm, "ENROLL_AK_ATTRIBUTES");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsADecryptingAk) {
  SoftwareAkOptions decrypting;
  decrypting.attributes |= TPMA_OBJECT_DECRYPT;
  auto tpm = env_->MakeTpm(decrypting);
  ASSERT_TRUE(tpm.ok());
  ExpectEnrollmentRejected(*tpm, "ENROLL_AK_ATTRIBUTES");
}

TEST_F(VerifierServiceTest, EnrollmentRejectsTheWrongActivatedSecretOnce) {
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  auto start = env_->StartEnrollment(*tpm);
  ASSERT_TRUE(start.ok());
  ASSERT_EQ(start->status(), v1::ENROLLMENT_STATUS_CHALLENGED);
  v1::FinishEnrollmentRequest req;
  req.set_enrollment_id(start->enrollment_id());
  req.set_activated_secret(std::string(32, 'x'));
  v1::FinishEnrollmentResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->enrollment().FinishEnrollment(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.status(), v1::ENROLLMENT_STATUS_REJECTED);
  EXPECT_EQ(Codes(resp.findings()), std::vector<std::string>{"ENROLL_ACTIVATION_FAILED"});
  // The right secret afterwards does not help: one attempt per challenge.
  auto ak_name = attest::ObjectName(tpm->ak.public_area());
  auto secret = tpm->ek.Activate(attest::AsSpan(start->challenge().credential_blob()),
                                 attest::AsSpan(start->challenge().encrypted_secret()), *ak_name);
  ASSERT_TRUE(secret.ok());
  req.set_activated_secret(std::string(secret->begin(), secret->end()));
  grpc::ClientContext ctx2;
  v1::FinishEnrollmentResponse again;
  ASSERT_TRUE(env_->enrollment().FinishEnrollment(&ctx2, req, &again).ok());
  EXPECT_EQ(Codes(again.findings()), std::vector<std::string>{"ENROLL_ALREADY_FINISHED"});
  std::vector<v1::EnrollmentRecord> records = Enrollments();
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(Codes(records[0].findings()), std::vector<std::string>{"ENROLL_ACTIVATION_FAILED"});
}

TEST_F(VerifierServiceTest, EnrollmentChallengeExpires) {
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  auto start = env_->StartEnrollment(*tpm);
  ASSERT_TRUE(start.ok());
  env_->clock().Advance(absl::Minutes(6));
  auto ak_name = attest::ObjectName(tpm->ak.public_area());
  auto secret = tpm->ek.Activate(attest::AsSpan(start->challenge().credential_blob()),
                                 attest::AsSpan(start->challenge().encrypted_secret()), *ak_name);
  ASSERT_TRUE(secret.ok());
  v1::FinishEnrollmentRequest req;
  req.set_enrollment_id(start->enrollment_id());
  req.set_activated_secret(std::string(secret->begin(), secret->end()));
  v1::FinishEnrollmentResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->enrollment().FinishEnrollment(&ctx, req, &resp).ok());
  EXPECT_EQ(Codes(resp.findings()), std::vector<std::string>{"ENROLL_CHALLENGE_EXPIRED"});
}

TEST_F(VerifierServiceTest, EnrollmentOfAnUnknownIdIsNotFound) {
  v1::FinishEnrollmentRequest req;
  req.set_enrollment_id("enr-0000000000000000");
  v1::FinishEnrollmentResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(env_->enrollment().FinishEnrollment(&ctx, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(VerifierServiceTest, EkAllowListPinsTheInventory) {
  auto allowed = SoftwareEk::Create();
  ASSERT_TRUE(allowed.ok());
  auto marshalled = attest::MarshalPublicArea(allowed->public_area());
  ASSERT_TRUE(marshalled.ok());
  EnvOptions options;
  options.ek_allow_list_text = "# inventory\n" + verifier::Sha256Hex(*marshalled) + "  # rack 1\n";
  Init(options);
  auto stranger = env_->MakeTpm();
  ASSERT_TRUE(stranger.ok());
  ExpectEnrollmentRejected(*stranger, "ENROLL_EK_NOT_ALLOWED");
  auto listed = env_->MakeTpm();
  ASSERT_TRUE(listed.ok());
  listed->ek = *std::move(allowed);
  listed->ek_cert = *env_->ek_ca().IssueEkCert(listed->ek.key(), env_->clock().Now());
  auto finish = env_->Enroll(&*listed);
  ASSERT_TRUE(finish.ok()) << finish.status();
  EXPECT_EQ(finish->status(), v1::ENROLLMENT_STATUS_ENROLLED);
}

// --- Attestation rejections.

TEST_F(VerifierServiceTest, ReplayedNonceIsRejected) {
  TestTpm tpm = EnrolledTpm();
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok());
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.request_join_token = false;
  auto req = env_->MakeAttestRequest(tpm, *ch, e);
  ASSERT_TRUE(req.ok());
  auto first = env_->Send(*req);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->verdict(), v1::VERDICT_AFFIRMING);
  req->set_request_join_token(true);
  ExpectRejected(env_->Send(*req), "NONCE_USED");
  EXPECT_THAT(Tokens(), IsEmpty());
}

TEST_F(VerifierServiceTest, ExpiredNonceIsRejected) {
  TestTpm tpm = EnrolledTpm();
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok());
  env_->clock().Advance(absl::Minutes(2) + absl::Seconds(1));
  auto req = env_->MakeAttestRequest(tpm, *ch, env_->DefaultEvidence());
  ASSERT_TRUE(req.ok());
  ExpectRejected(env_->Send(*req), "NONCE_EXPIRED");
  EXPECT_THAT(Tokens(), IsEmpty());
}

TEST_F(VerifierServiceTest, UnknownNonceAndAnotherNodesNonceAreRejected) {
  TestTpm tpm = EnrolledTpm();
  TestTpm other = EnrolledTpm();
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok());
  v1::Challenge forged = *ch;
  forged.set_nonce(std::string(32, '\x42'));
  auto req = env_->MakeAttestRequest(tpm, forged, env_->DefaultEvidence());
  ASSERT_TRUE(req.ok());
  ExpectRejected(env_->Send(*req), "NONCE_UNKNOWN");
  // The other node quotes with this node's nonce.
  auto stolen = env_->MakeAttestRequest(other, *ch, env_->DefaultEvidence());
  ASSERT_TRUE(stolen.ok());
  ExpectRejected(env_->Send(*stolen), "NONCE_WRONG_NODE");
  EXPECT_THAT(Tokens(), IsEmpty());
}

TEST_F(VerifierServiceTest, QuoteFromAnotherAkIsRejected) {
  TestTpm tpm = EnrolledTpm();
  auto foreign = SoftwareAk::Create();
  ASSERT_TRUE(foreign.ok());
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.signer = &*foreign;
  ExpectRejected(env_->Attest(tpm, e), "QUOTE_SIGNATURE_INVALID");
  EXPECT_THAT(Tokens(), IsEmpty());
}

TEST_F(VerifierServiceTest, SignedSelectionOtherThanRequestedIsRejected) {
  TestTpm tpm = EnrolledTpm();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.selection = *attest::ParsePcrSelectionSpec("sha256:0-7");
  ExpectRejected(env_->Attest(tpm, e), "QUOTE_SELECTION_MISMATCH");
}

TEST_F(VerifierServiceTest, PcrValuesThatAreNotTheQuotedOnesAreRejected) {
  TestTpm tpm = EnrolledTpm();
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok());
  auto req = env_->MakeAttestRequest(tpm, *ch, env_->DefaultEvidence());
  ASSERT_TRUE(req.ok());
  // The agent claims another PCR 7 than the TPM quoted.
  for (v1::PcrValue& v : *req->mutable_pcrs(0)->mutable_values()) {
    if (v.index() == 7) v.set_digest(std::string(32, '\x07'));
  }
  ExpectRejected(env_->Send(*req), "QUOTE_PCR_DIGEST_MISMATCH");
}

// Event-log tampering against a real corpus log: the TPM (SoftwareAk) quoted the true PCRs of the
// boot; the agent sends a doctored log.
class EventLogTamperingTest : public VerifierServiceTest {
 protected:
  // Byte ranges of the log's records (the header record included).
  std::vector<std::pair<size_t, size_t>> Records() {
    auto log = attest::ParseEventLog(env_->event_log());
    EXPECT_TRUE(log.ok());
    std::vector<std::pair<size_t, size_t>> out;
    const size_t end = env_->event_log().size() - log->trailing_zero_bytes;
    for (size_t i = 0; i < log->events.size(); ++i) {
      const size_t next = i + 1 < log->events.size() ? log->events[i + 1].offset : end;
      out.emplace_back(log->events[i].offset, next);
    }
    return out;
  }
  // The index of the first measured event extending `pcr`.
  size_t FirstEventOf(uint32_t pcr) {
    auto log = attest::ParseEventLog(env_->event_log());
    for (size_t i = 1; i < log->events.size(); ++i) {
      if (log->events[i].pcr == pcr && log->events[i].type != 0x3 /* EV_NO_ACTION */) return i;
    }
    ADD_FAILURE() << "no event for PCR " << pcr;
    return 0;
  }
};

TEST_F(EventLogTamperingTest, ModifiedEventIsRejected) {
  TestTpm tpm = EnrolledTpm();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  const size_t i = FirstEventOf(4);
  auto log = attest::ParseEventLog(env_->event_log());
  ASSERT_TRUE(log.ok());
  // pcr u32, type u32, digest count u32, then (alg u16, digest) per bank: change the sha256 one,
  // the quoted bank (a changed sha1 digest would not matter to a sha256 quote).
  size_t pos = log->events[i].offset + 12;
  size_t target = 0;
  for (const attest::EventDigest& d : log->events[i].digests) {
    if (d.alg == TPM2_ALG_SHA256) target = pos + 2;
    pos += 2 + d.digest.size();
  }
  ASSERT_NE(target, 0u);
  e.event_log[target] ^= 0xff;
  ExpectRejected(env_->Attest(tpm, e), "EVENTLOG_REPLAY_MISMATCH");
  EXPECT_THAT(Tokens(), IsEmpty());
}

TEST_F(EventLogTamperingTest, RemovedEventIsRejected) {
  TestTpm tpm = EnrolledTpm();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  auto records = Records();
  const size_t i = FirstEventOf(4);
  e.event_log.erase(e.event_log.begin() + records[i].first,
                    e.event_log.begin() + records[i].second);
  ASSERT_TRUE(attest::ParseEventLog(e.event_log).ok());
  ExpectRejected(env_->Attest(tpm, e), "EVENTLOG_REPLAY_MISMATCH");
}

TEST_F(EventLogTamperingTest, AddedEventIsRejected) {
  TestTpm tpm = EnrolledTpm();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  auto records = Records();
  const size_t i = FirstEventOf(4);
  Bytes copy(e.event_log.begin() + records[i].first, e.event_log.begin() + records[i].second);
  e.event_log.insert(e.event_log.begin() + records[i].second, copy.begin(), copy.end());
  ASSERT_TRUE(attest::ParseEventLog(e.event_log).ok());
  ExpectRejected(env_->Attest(tpm, e), "EVENTLOG_REPLAY_MISMATCH");
}

TEST_F(EventLogTamperingTest, MissingOrMalformedEventLogIsRejected) {
  TestTpm tpm = EnrolledTpm();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.event_log.clear();
  ExpectRejected(env_->Attest(tpm, e), "EVENTLOG_MISSING");
  e.event_log = Bytes(100, 0x41);
  ExpectRejected(env_->Attest(tpm, e), "EVENTLOG_MALFORMED");
}

TEST_F(VerifierServiceTest, PcrValueOutsidePolicyIsRejected) {
  TestTpm tpm = EnrolledTpm();
  // Another real boot (UKI instead of a direct kernel): quote and log agree, the policy does not.
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.event_log = ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements");
  auto log = attest::ParseEventLog(e.event_log);
  ASSERT_TRUE(log.ok());
  auto replayed = attest::ReplayEventLog(*log);
  ASSERT_TRUE(replayed.ok());
  e.pcrs = attest::RestrictReplayToSelection(*replayed, env_->selection()).values;
  auto resp = env_->Attest(tpm, e);
  ExpectRejected(resp, "POLICY_PCR_MISMATCH");
  for (const v1::Finding& f : resp->findings()) EXPECT_EQ(f.code(), "POLICY_PCR_MISMATCH");
  EXPECT_EQ(resp->checks(4).state(), v1::CHECK_STATE_PASSED);  // eventlog replay matched
}

TEST_F(VerifierServiceTest, ResetCountGoingBackIsRejected) {
  TestTpm tpm = EnrolledTpm();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.reset_count = 5;
  e.request_join_token = false;
  auto first = env_->Attest(tpm, e);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_TRUE(first->new_boot());
  e.reset_count = 4;
  e.request_join_token = true;
  ExpectRejected(env_->Attest(tpm, e), "CLOCK_RESET_COUNT_REGRESSED");
  // Within one boot, restartCount and clock must not go back either.
  e.reset_count = 5;
  e.restart_count = 2;
  e.clock = 5000;
  auto restart = env_->Attest(tpm, e);
  ASSERT_TRUE(restart.ok());
  EXPECT_EQ(restart->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_FALSE(restart->new_boot());
  e.restart_count = 1;
  ExpectRejected(env_->Attest(tpm, e), "CLOCK_RESTART_COUNT_REGRESSED");
  e.restart_count = 2;
  e.clock = 4000;
  ExpectRejected(env_->Attest(tpm, e), "CLOCK_REGRESSED");
  // A new boot is recorded as such.
  e.reset_count = 6;
  e.restart_count = 0;
  e.clock = 10;
  auto reboot = env_->Attest(tpm, e);
  ASSERT_TRUE(reboot.ok());
  EXPECT_EQ(reboot->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_TRUE(reboot->new_boot());
}

TEST_F(VerifierServiceTest, RevokedNodeIsRejectedAndCannotReenroll) {
  TestTpm tpm = EnrolledTpm();
  v1::RevokeNodeRequest revoke;
  revoke.set_node_id(tpm.node_id);
  revoke.set_reason("stolen");
  v1::Node node;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->admin().RevokeNode(&ctx, revoke, &node).ok());
  EXPECT_TRUE(node.revoked());
  EXPECT_THAT(node.revoke_reason(), HasSubstr("stolen"));
  EXPECT_THAT(node.revoke_reason(), HasSubstr("bootgate-admin"));
  ExpectRejected(env_->Attest(tpm), "NODE_REVOKED");
  EXPECT_THAT(Tokens(), IsEmpty());
  // Neither this AK nor another AK of the same EK can enroll again.
  auto start = env_->StartEnrollment(tpm);
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(Codes(start->findings()), std::vector<std::string>{"ENROLL_EK_REVOKED"});
}

TEST_F(VerifierServiceTest, FailingExecIssuerMeansNoTokenAndARecordedReason) {
  EnvOptions options;
  options.issuer_exec = "false {token} {ttl} {node}";
  Init(options);
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->verdict(), v1::VERDICT_AFFIRMING);  // the evidence was fine
  EXPECT_FALSE(resp->has_join_token());
  EXPECT_EQ(Codes(resp->findings()), std::vector<std::string>{"TOKEN_ISSUER_FAILED"});
  std::vector<v1::TokenRecord> tokens = Tokens();
  ASSERT_THAT(tokens, SizeIs(1));
  EXPECT_EQ(tokens[0].status(), "failed");
  EXPECT_THAT(tokens[0].reason(), HasSubstr("exited with 1"));
  std::vector<v1::AttestationRecord> records = Attestations(tpm.node_id);
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_TRUE(records[0].token_id().empty());
}

TEST_F(VerifierServiceTest, ExecIssuerGetsTheTokenTtlAndNode) {
  const std::string out_dir = MakeTempDir("exec-issuer");
  const std::string out = out_dir + "/exec-args";
  EnvOptions options;
  options.issuer_exec = "sh -c 'echo \\\"$0 $1 $2\\\" > " + out + "' {token} {ttl} {node}";
  Init(options);
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm);
  ASSERT_TRUE(resp.ok());
  ASSERT_TRUE(resp->has_join_token());
  auto token = env_->UnwrapToken(tpm, resp->join_token());
  ASSERT_TRUE(token.ok());
  auto args = verifier::ReadFile(out);
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(*args, *token + " 1h " + tpm.node_id + "\n");
  std::filesystem::remove_all(out_dir);
}

// --- Malformed and oversized requests are RPC errors (nothing consumed, nothing recorded).

TEST_F(VerifierServiceTest, MalformedAndOversizedRequestsAreRpcErrors) {
  TestTpm tpm = EnrolledTpm();
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok());
  auto good = env_->MakeAttestRequest(tpm, *ch, env_->DefaultEvidence());
  ASSERT_TRUE(good.ok());

  auto expect_code = [&](const v1::AttestRequest& req, absl::StatusCode code,
                         const std::string& text) {
    auto r = env_->Send(req);
    EXPECT_EQ(r.status().code(), code) << r.status();
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(text));
  };
  v1::AttestRequest big_log = *good;
  big_log.set_event_log(std::string(300 << 10, 'x'));
  expect_code(big_log, absl::StatusCode::kInvalidArgument, "exceeds the limit of 262144");
  v1::AttestRequest huge = *good;
  huge.set_ima_log(std::string(2 << 20, 'x'));  // above max_message_bytes
  expect_code(huge, absl::StatusCode::kResourceExhausted, "");
  v1::AttestRequest no_quote = *good;
  no_quote.clear_quote();
  expect_code(no_quote, absl::StatusCode::kInvalidArgument, "quote");
  v1::AttestRequest bad_pcr = *good;
  bad_pcr.mutable_pcrs(0)->mutable_values(0)->set_digest("short");
  expect_code(bad_pcr, absl::StatusCode::kInvalidArgument, "sha256:0: 5 bytes");
  v1::AttestRequest bad_node = *good;
  bad_node.set_node_id("../etc");
  expect_code(bad_node, absl::StatusCode::kInvalidArgument, "node_id");

  // None of that consumed the nonce or left a record: the good request still passes.
  EXPECT_THAT(Attestations(), IsEmpty());
  auto ok = env_->Send(*good);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->verdict(), v1::VERDICT_AFFIRMING);

  v1::StartEnrollmentRequest empty;
  v1::StartEnrollmentResponse resp;
  grpc::ClientContext ctx;
  EXPECT_EQ(env_->enrollment().StartEnrollment(&ctx, empty, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Garbage TPM structures are evidence, not malformed requests: a named result.
  v1::AttestRequest garbage = *good;
  garbage.set_quote("garbage");
  auto ch2 = env_->GetChallenge(tpm.node_id);
  garbage.set_nonce(ch2->nonce());
  ExpectRejected(env_->Send(garbage), "QUOTE_SIGNATURE_INVALID");
}

// --- Durability.

TEST_F(VerifierServiceTest, RestartKeepsEveryCommittedRecord) {
  TestTpm tpm = EnrolledTpm();
  auto affirmed = env_->Attest(tpm);
  ASSERT_TRUE(affirmed.ok());
  ASSERT_EQ(affirmed->verdict(), v1::VERDICT_AFFIRMING);
  auto foreign = SoftwareAk::Create();
  VerifierEnv::Evidence e = env_->DefaultEvidence();
  e.signer = &*foreign;
  auto rejected = env_->Attest(tpm, e);
  ASSERT_TRUE(rejected.ok());
  // A challenge issued before the restart stays valid (nonces are in the store).
  auto ch = env_->GetChallenge(tpm.node_id);
  ASSERT_TRUE(ch.ok());

  env_->Stop();
  ASSERT_TRUE(env_->Start().ok());

  std::vector<v1::AttestationRecord> records = Attestations(tpm.node_id);
  ASSERT_THAT(records, SizeIs(2));
  EXPECT_EQ(records[1].attestation_id(), affirmed->attestation_id());
  EXPECT_EQ(records[1].verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_EQ(records[1].token_id(), affirmed->join_token().token_id());
  EXPECT_EQ(records[0].attestation_id(), rejected->attestation_id());
  EXPECT_EQ(Codes(records[0].findings()), std::vector<std::string>{"QUOTE_SIGNATURE_INVALID"});
  EXPECT_THAT(Tokens(), SizeIs(1));
  auto req = env_->MakeAttestRequest(tpm, *ch, env_->DefaultEvidence());
  ASSERT_TRUE(req.ok());
  auto after = env_->Send(*req);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_FALSE(after->new_boot());  // the clock state survived too
}

// --- The bootgate admin CLI against the running admin API.

TEST_F(VerifierServiceTest, AdminCliListsShowsAndRevokes) {
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm);
  ASSERT_TRUE(resp.ok());
  const std::vector<std::string> conn = {"--config", env_->dir(), "--server",
                                         absl::StrCat("127.0.0.1:", env_->admin_port())};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), conn.begin(), conn.end());
    return RunBinary("bootgate", args);
  };
  CommandResult nodes = run({"nodes", "list", "--json"});
  ASSERT_EQ(nodes.exit_code, 0) << nodes.err;
  auto j = nlohmann::json::parse(nodes.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["node_id"], tpm.node_id);
  EXPECT_EQ(j[0]["last_verdict"], "affirming");

  CommandResult atts = run({"attestations", "list", "--node", tpm.node_id, "--json"});
  ASSERT_EQ(atts.exit_code, 0) << atts.err;
  EXPECT_EQ(nlohmann::json::parse(atts.out)[0]["attestation_id"], resp->attestation_id());

  CommandResult tokens = run({"tokens", "list", "--json"});
  ASSERT_EQ(tokens.exit_code, 0) << tokens.err;
  EXPECT_EQ(nlohmann::json::parse(tokens.out)[0]["token_id"], resp->join_token().token_id());

  CommandResult show = run({"attestations", "show", resp->attestation_id()});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("affirming"));
  // With the evidence: the PCR values supplied with the quote, in the `eventlog replay --json`
  // shape (what tests/qemu/measured-boot.sh compares with a reference boot).
  CommandResult evidence =
      run({"attestations", "show", resp->attestation_id(), "--evidence", "--json"});
  ASSERT_EQ(evidence.exit_code, 0) << evidence.err;
  const auto shown = nlohmann::json::parse(evidence.out);
  EXPECT_EQ(shown["evidence"]["pcrs"], attest::PcrValuesToJson(env_->pcrs())) << evidence.out;
  EXPECT_EQ(shown["evidence"]["event_log_bytes"], env_->event_log().size());

  CommandResult revoke = run({"nodes", "revoke", tpm.node_id, "--reason", "decommissioned"});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_THAT(revoke.out, HasSubstr("REVOKED"));
  CommandResult missing = run({"nodes", "show", "node-0000000000000000"});
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("not found"));
  CommandResult no_cert = RunBinary(
      "bootgate", {"nodes", "list", "--server", absl::StrCat("127.0.0.1:", env_->admin_port()),
                   "--ca", env_->dir() + "/ca.pem", "--cert", env_->dir() + "/server.pem", "--key",
                   env_->dir() + "/server.key"});
  EXPECT_NE(no_cert.exit_code, 0);
}

}  // namespace
}  // namespace bootgate::testing
