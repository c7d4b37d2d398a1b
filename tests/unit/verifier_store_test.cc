// The verifier's SQLite evidence store: migrations, CRUD of every table, atomic single-use
// nonces, durability across reopen, and a clear error for damaged or foreign files at open.
#include "verifier/store/store.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/store/sqlite.h"

namespace bootgate::verifier {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1790000000);

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("store");
    path_ = dir_ + "/bootgate.db";
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    auto s = Store::Open(path_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  EnrollmentRecord Enrollment(const std::string& id, const std::string& node_id) {
    EnrollmentRecord e;
    e.enrollment_id = id;
    e.created_at = kT0;
    e.expires_at = kT0 + absl::Minutes(5);
    e.state = EnrollmentState::kChallenged;
    e.request = {1, 2, 3};
    e.secret = Bytes(32, 0x5a);
    e.node.node_id = node_id;
    e.node.ak_name = {0x00, 0x0b, 0xaa};
    e.node.ak_public = {0xa1};
    e.node.ek_public = {0xe1};
    e.node.ek_public_sha256 = "ekpub-" + node_id;
    e.node.ek_cert_sha256 = "ekcert";
    e.node.ek_cert_nv_index = 0x01C00002;
    e.node.ek_cert = {0x30, 0x82};
    e.node.tpm_manufacturer = "id:00001014";
    e.node.hostname = "host-1";
    return e;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, MigratesToTheCurrentSchemaInWalMode) {
  EXPECT_EQ(store_->SchemaVersion().value(), kStoreSchemaVersion);
  auto db = SqliteDb::Open(path_, false);
  ASSERT_TRUE(db.ok());
  auto q = db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(q->Step().value());
  EXPECT_EQ(q->Text(0), "wal");
  // Reopening an up-to-date store migrates nothing and keeps the version.
  Open();
  EXPECT_EQ(store_->SchemaVersion().value(), kStoreSchemaVersion);
}

TEST_F(StoreTest, EnrollmentToNodeAndRevocation) {
  ASSERT_TRUE(store_->InsertEnrollment(Enrollment("enr-1", "node-1")).ok());
  auto e = store_->GetEnrollment("enr-1");
  ASSERT_TRUE(e.ok() && e->has_value());
  EXPECT_EQ((*e)->state, EnrollmentState::kChallenged);
  EXPECT_EQ((*e)->secret, Bytes(32, 0x5a));
  EXPECT_EQ((*e)->node.tpm_manufacturer, "id:00001014");

  ASSERT_TRUE(store_->FinishEnrollment("enr-1", EnrollmentState::kEnrolled, {}, kT0).ok());
  // Finishing twice is refused.
  EXPECT_EQ(store_->FinishEnrollment("enr-1", EnrollmentState::kRejected, {}, kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  e = store_->GetEnrollment("enr-1");
  EXPECT_EQ((*e)->state, EnrollmentState::kEnrolled);
  EXPECT_TRUE((*e)->secret.empty()) << "the secret is erased once used";

  auto node = store_->GetNode("node-1");
  ASSERT_TRUE(node.ok() && node->has_value());
  EXPECT_EQ((*node)->ak_name, (Bytes{0x00, 0x0b, 0xaa}));
  EXPECT_EQ((*node)->enrollment_id, "enr-1");
  EXPECT_FALSE((*node)->revoked());
  auto by_name = store_->GetNodeByAkName(Bytes{0x00, 0x0b, 0xaa});
  ASSERT_TRUE(by_name.ok() && by_name->has_value());
  EXPECT_EQ((*by_name)->node_id, "node-1");
  EXPECT_THAT(store_->ListNodes(0).value(), SizeIs(1));

  EXPECT_FALSE(store_->IsEkRevoked("ekpub-node-1").value());
  auto revoked = store_->RevokeNode("node-1", "stolen", kT0 + absl::Hours(1));
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(revoked->revoked());
  EXPECT_EQ(revoked->revoke_reason, "stolen");
  // Revoking again keeps the first reason and time.
  auto again = store_->RevokeNode("node-1", "other", kT0 + absl::Hours(2));
  EXPECT_EQ(again->revoke_reason, "stolen");
  EXPECT_EQ(*again->revoked_at, kT0 + absl::Hours(1));
  EXPECT_TRUE(store_->IsEkRevoked("ekpub-node-1").value());
  EXPECT_EQ(store_->RevokeNode("node-x", "", kT0).status().code(), absl::StatusCode::kNotFound);

  auto audit = store_->ListAudit(0);
  ASSERT_TRUE(audit.ok());
  ASSERT_THAT(*audit, SizeIs(4));
  EXPECT_EQ((*audit)[0].kind, "node.state");  // enrolled -> revoked (node_state_store.cc)
  EXPECT_EQ((*audit)[1].kind, "node.revoked");
  EXPECT_EQ((*audit)[2].kind, "enrollment.enrolled");
  EXPECT_EQ((*audit)[3].kind, "enrollment.challenged");
}

TEST_F(StoreTest, RejectedEnrollmentKeepsItsFindings) {
  EnrollmentRecord e = Enrollment("enr-2", "node-2");
  e.state = EnrollmentState::kRejected;
  e.secret.clear();
  e.findings = {{"ENROLL_EK_CHAIN_UNTRUSTED", "unable to get local issuer certificate"}};
  ASSERT_TRUE(store_->InsertEnrollment(e).ok());
  auto list = store_->ListEnrollments(10);
  ASSERT_TRUE(list.ok());
  ASSERT_THAT(*list, SizeIs(1));
  EXPECT_EQ((*list)[0].findings, e.findings);
  EXPECT_FALSE(store_->GetNode("node-2").value().has_value());
}

TEST_F(StoreTest, NoncesAreSingleUseAndExpire) {
  NonceRecord n{Bytes(32, 1), "node-1", "sha256:0-7", kT0, kT0 + absl::Minutes(2), std::nullopt};
  ASSERT_TRUE(store_->InsertNonce(n).ok());
  EXPECT_EQ(store_->InsertNonce(n).code(), absl::StatusCode::kAlreadyExists);
  auto first = store_->ConsumeNonce(n.nonce, kT0 + absl::Seconds(10));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->state, NonceState::kFresh);
  EXPECT_EQ(first->record.node_id, "node-1");
  EXPECT_EQ(first->record.selection, "sha256:0-7");
  EXPECT_EQ(store_->ConsumeNonce(n.nonce, kT0 + absl::Seconds(11))->state, NonceState::kUsed);
  EXPECT_EQ(store_->ConsumeNonce(Bytes(32, 2), kT0)->state, NonceState::kUnknown);

  NonceRecord late{Bytes(32, 3), "node-1", "sha256:0", kT0, kT0 + absl::Minutes(2), std::nullopt};
  ASSERT_TRUE(store_->InsertNonce(late).ok());
  EXPECT_EQ(store_->ConsumeNonce(late.nonce, kT0 + absl::Minutes(2))->state, NonceState::kExpired);
  // An expired nonce is used up as well.
  EXPECT_EQ(store_->ConsumeNonce(late.nonce, kT0)->state, NonceState::kUsed);
}

TEST_F(StoreTest, AttestationWithFindingsTokenAndClockIsOneTransaction) {
  ASSERT_TRUE(store_->InsertEnrollment(Enrollment("enr-1", "node-1")).ok());
  ASSERT_TRUE(store_->FinishEnrollment("enr-1", EnrollmentState::kEnrolled, {}, kT0).ok());
  AttestationRecord a;
  a.attestation_id = "att-1";
  a.node_id = "node-1";
  a.created_at = kT0 + absl::Minutes(1);
  a.verdict = kVerdictAffirming;
  a.checks_json = "[]";
  a.policy_id = "p@sha256:00";
  a.clock = ClockState{1000, 3, 1, true};
  a.new_boot = true;
  a.token_id = "abcdef";
  a.ear_jwt = "x.y.z";
  a.nonce = Bytes(32, 7);
  a.quote = {1, 2};
  a.signature = {3};
  a.pcrs_json = R"({"sha256":{}})";
  a.event_log = Bytes(1000, 9);
  TokenRecord t{"abcdef",      "node-1", "att-1", a.created_at, a.created_at + absl::Hours(1),
                "file:/tmp/t", "issued", ""};
  ASSERT_TRUE(store_->RecordAttestation(a, &t, a.clock).ok());

  AttestationRecord b = a;
  b.attestation_id = "att-2";
  b.created_at += absl::Minutes(1);
  b.verdict = kVerdictContraindicated;
  b.findings = {{"QUOTE_SIGNATURE_INVALID", "bad"}, {"SECOND", "kept in order"}};
  b.token_id.clear();
  b.clock.reset();
  ASSERT_TRUE(store_->RecordAttestation(b, nullptr, std::nullopt).ok());

  // A failing part (duplicate token id) rolls the whole attestation back.
  AttestationRecord c = a;
  c.attestation_id = "att-3";
  EXPECT_EQ(store_->RecordAttestation(c, &t, std::nullopt).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_FALSE(store_->GetAttestation("att-3", false).value().has_value());

  auto list = store_->ListAttestations("node-1", 10);
  ASSERT_TRUE(list.ok());
  ASSERT_THAT(*list, SizeIs(2));
  EXPECT_EQ((*list)[0].attestation_id, "att-2");
  EXPECT_EQ((*list)[0].findings, b.findings);
  EXPECT_TRUE((*list)[1].quote.empty()) << "listings leave the evidence out";
  auto full = store_->GetAttestation("att-1", true);
  ASSERT_TRUE(full.ok() && full->has_value());
  EXPECT_EQ((*full)->event_log, a.event_log);
  EXPECT_EQ((*full)->clock->reset_count, 3u);
  EXPECT_TRUE((*full)->new_boot);

  auto node = store_->GetNode("node-1").value();
  EXPECT_EQ(node->last_attestation_id, "att-2");
  EXPECT_EQ(node->last_verdict, kVerdictContraindicated);
  ASSERT_TRUE(node->last_clock.has_value());
  EXPECT_EQ(node->last_clock->clock, 1000u);
  EXPECT_EQ(node->last_clock->restart_count, 1u);

  auto tokens = store_->ListTokens("", 10);
  ASSERT_THAT(tokens.value(), SizeIs(1));
  EXPECT_EQ(tokens->at(0).expires_at, a.created_at + absl::Hours(1));
}

TEST_F(StoreTest, EnrollmentLabelsBecomeTheNodesAndAReEnrollmentReplacesThem) {
  EnrollmentRecord e = Enrollment("enr-1", "node-1");
  e.node.labels = {{"group", "workers"}, {"zone", "eu-1"}};
  ASSERT_TRUE(store_->InsertEnrollment(e).ok());
  EXPECT_EQ(store_->GetEnrollment("enr-1").value()->node.labels, e.node.labels);
  EXPECT_TRUE(store_->GetNode("node-1").value() == std::nullopt);
  ASSERT_TRUE(store_->FinishEnrollment("enr-1", EnrollmentState::kEnrolled, {}, kT0).ok());
  EXPECT_EQ(store_->GetNode("node-1").value()->labels, e.node.labels);

  EnrollmentRecord again = Enrollment("enr-2", "node-1");
  again.node.labels = {{"group", "control-plane"}};
  ASSERT_TRUE(store_->InsertEnrollment(again).ok());
  ASSERT_TRUE(store_->FinishEnrollment("enr-2", EnrollmentState::kEnrolled, {}, kT0).ok());
  auto nodes = store_->ListNodes(10).value();
  ASSERT_THAT(nodes, SizeIs(1));
  EXPECT_EQ(nodes[0].labels, again.node.labels);
}

TEST_F(StoreTest, WhatThePolicyMatchedIsRecordedWithTheAttestation) {
  ASSERT_TRUE(store_->InsertEnrollment(Enrollment("enr-1", "node-1")).ok());
  ASSERT_TRUE(store_->FinishEnrollment("enr-1", EnrollmentState::kEnrolled, {}, kT0).ok());
  AttestationRecord a;
  a.attestation_id = "att-1";
  a.node_id = "node-1";
  a.created_at = kT0;
  a.checks_json = "[]";
  a.policy_id = "fleet@sha256:0123456789abcdef";
  a.policy_matched = "golden image debian-12 6.1.0-27 on platform ovmf 2023.05";
  a.policy_warnings = {{"POLICY_SBAT_LEVEL_MISMATCH", "warn only"}};
  a.policy_explanation = "PCR 4: boot chain matches\nPCR 7: SecureBoot enabled";
  ASSERT_TRUE(store_->RecordAttestation(a, nullptr, std::nullopt).ok());
  Open();
  auto got = store_->GetAttestation("att-1", false).value();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->policy_matched, a.policy_matched);
  EXPECT_EQ(got->policy_warnings, a.policy_warnings);
  EXPECT_EQ(got->policy_explanation, a.policy_explanation);
  EXPECT_EQ(store_->ListAttestations("", 10).value().at(0).policy_matched, a.policy_matched);
}

TEST_F(StoreTest, ReopenKeepsEverything) {
  ASSERT_TRUE(store_->InsertEnrollment(Enrollment("enr-1", "node-1")).ok());
  ASSERT_TRUE(store_->FinishEnrollment("enr-1", EnrollmentState::kEnrolled, {}, kT0).ok());
  NonceRecord n{Bytes(32, 1), "node-1", "sha256:0", kT0, kT0 + absl::Minutes(2), std::nullopt};
  ASSERT_TRUE(store_->InsertNonce(n).ok());
  Open();
  EXPECT_TRUE(store_->GetNode("node-1").value().has_value());
  EXPECT_EQ(store_->ConsumeNonce(n.nonce, kT0)->state, NonceState::kFresh);
  Open();
  EXPECT_EQ(store_->ConsumeNonce(n.nonce, kT0)->state, NonceState::kUsed);
}

TEST_F(StoreTest, AFileThatIsNotADatabaseIsRefusedAtOpen) {
  store_.reset();
  const std::string garbage = dir_ + "/garbage.db";
  std::ofstream(garbage) << std::string(8192, 'G');
  auto s = Store::Open(garbage);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(garbage));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not a database"));
}

TEST_F(StoreTest, ADamagedDatabaseIsRefusedAtOpen) {
  // Fill a few pages, checkpoint them into the main file, then overwrite one b-tree page.
  ASSERT_TRUE(store_->InsertEnrollment(Enrollment("enr-1", "node-1")).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(store_->AppendAudit("filler", std::to_string(i), std::string(200, 'f'), kT0).ok());
  }
  store_.reset();  // the last connection checkpoints the WAL into the file
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    const std::string junk(64, '\xee');
    for (int page = 1; page < 12; ++page) {  // b-tree page headers of pages 2..12
      f.seekp(4096 * page);
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
  }
  auto s = Store::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(path_));
}

TEST_F(StoreTest, ANewerSchemaIsRefused) {
  store_.reset();
  {
    auto db = SqliteDb::Open(path_, false);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99").ok());
  }
  auto s = Store::Open(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("schema version 99"));
}

}  // namespace
}  // namespace bootgate::verifier
