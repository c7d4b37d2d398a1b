// Nonces through the attestation service with an injected clock and randomness: 32 fresh bytes
// per challenge, bound to the node and the selection, single use, and expired after the TTL.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/fixed_random.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/appraise/active_policy.h"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/service/attestation_service.h"
#include "verifier/store/store.h"
#include "verifier/tokens/ear.h"
#include "verifier/tokens/issuer.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier {
namespace {

namespace v1 = ::bootgate::v1;

class NonceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("nonce");
    auto store = Store::Open(dir_ + "/db");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    // An enrolled node to challenge.
    EnrollmentRecord e;
    e.enrollment_id = "enr-1";
    e.created_at = clock_.Now();
    e.expires_at = clock_.Now() + absl::Minutes(5);
    e.state = EnrollmentState::kChallenged;
    e.node.node_id = "node-00000000000000aa";
    e.node.ak_name = {0, 0x0b, 1};
    ASSERT_TRUE(store_->InsertEnrollment(e).ok());
    ASSERT_TRUE(
        store_->FinishEnrollment("enr-1", EnrollmentState::kEnrolled, {}, clock_.Now()).ok());

    auto policy =
        PcrValuePolicy::Parse("id: p\npcrs:\n  sha256:\n    0: " + std::string(64, '0'), "");
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = ActivePolicy::Fixed(*std::move(policy), &clock_);
    auto key = GenerateEcP256Key();
    auto signer = EarSigner::FromPem(*PrivateKeyPem(key->get()));
    ASSERT_TRUE(signer.ok());
    ear_ = *std::move(signer);
    issuer_ = std::make_unique<FileIssuer>(dir_ + "/tokens");
    AttestationOptions options;
    options.nonce_ttl = absl::Seconds(30);
    options.selection = *attest::ParsePcrSelectionSpec("sha256:0-7");
    service_ = std::make_unique<AttestationServiceImpl>(
        ServiceContext{store_.get(), &clock_, &rng_, &logger_}, policy_.get(), ear_.get(),
        issuer_.get(), options);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  testing::FakeClock clock_{absl::FromUnixSeconds(1790000000)};
  testing::FixedRandom rng_{42};
  Logger logger_{LogFormat::kText, stderr, &clock_};
  std::unique_ptr<Store> store_;
  std::unique_ptr<ActivePolicy> policy_;
  std::unique_ptr<EarSigner> ear_;
  std::unique_ptr<TokenIssuer> issuer_;
  std::unique_ptr<AttestationServiceImpl> service_;
};

TEST_F(NonceTest, ChallengesAreFreshBoundAndSingleUse) {
  v1::GetChallengeRequest req;
  req.set_node_id("node-00000000000000aa");
  v1::Challenge a, b;
  ASSERT_TRUE(service_->Challenge(req, &a).ok());
  ASSERT_TRUE(service_->Challenge(req, &b).ok());
  EXPECT_EQ(a.nonce().size(), kNonceBytes);
  EXPECT_NE(a.nonce(), b.nonce());
  EXPECT_EQ(a.pcr_selection().spec(), "sha256:0-7");
  EXPECT_EQ(absl::FromUnixSeconds(a.expires_at().seconds()), clock_.Now() + absl::Seconds(30));

  clock_.Advance(absl::Seconds(29));
  auto first = store_->ConsumeNonce(attest::AsSpan(a.nonce()), clock_.Now());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, NonceState::kFresh);
  EXPECT_EQ(first->record.node_id, "node-00000000000000aa");
  EXPECT_EQ(first->record.selection, "sha256:0-7");
  EXPECT_EQ(store_->ConsumeNonce(attest::AsSpan(a.nonce()), clock_.Now())->state,
            NonceState::kUsed);

  clock_.Advance(absl::Seconds(1));  // b was issued 30 s ago: its TTL is over
  EXPECT_EQ(store_->ConsumeNonce(attest::AsSpan(b.nonce()), clock_.Now())->state,
            NonceState::kExpired);
}

TEST_F(NonceTest, AttestWithAnExpiredNonceIsRecordedAsNonceExpired) {
  v1::GetChallengeRequest req;
  req.set_node_id("node-00000000000000aa");
  v1::Challenge ch;
  ASSERT_TRUE(service_->Challenge(req, &ch).ok());
  clock_.Advance(absl::Minutes(1));
  v1::AttestRequest attest;
  attest.set_node_id("node-00000000000000aa");
  attest.set_nonce(ch.nonce());
  attest.set_quote("q");
  attest.set_signature("s");
  v1::AttestResponse resp;
  ASSERT_TRUE(service_->AttestEvidence(attest, &resp).ok());
  EXPECT_EQ(resp.verdict(), v1::VERDICT_CONTRAINDICATED);
  ASSERT_EQ(resp.findings_size(), 1);
  EXPECT_EQ(resp.findings(0).code(), "NONCE_EXPIRED");
  auto rec = store_->GetAttestation(resp.attestation_id(), false);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->findings.front().code, "NONCE_EXPIRED");
  // The same nonce again: used.
  v1::AttestResponse again;
  ASSERT_TRUE(service_->AttestEvidence(attest, &again).ok());
  EXPECT_EQ(again.findings(0).code(), "NONCE_USED");
}

TEST_F(NonceTest, UnknownNodesGetNoChallenge) {
  v1::GetChallengeRequest req;
  req.set_node_id("node-00000000000000bb");
  v1::Challenge ch;
  EXPECT_EQ(service_->Challenge(req, &ch).code(), absl::StatusCode::kNotFound);
  v1::GetChallengeRequest empty;
  EXPECT_EQ(service_->Challenge(empty, &ch).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace bootgate::verifier
