// The store's node state machine and notification outbox (node_state_store.cc): transitions are
// recorded with their reasons and queued once per sink in the transaction that made them; only
// authentic evidence moves a state; revoked is final; stale detection; the outbox's due /
// delivered / failed bookkeeping; and the migration that derives states for existing nodes.
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/verifier/verifier_env.h"
#include "verifier/notify/notifier.h"
#include "verifier/store/sqlite.h"
#include "verifier/store/store.h"

namespace bootgate::verifier {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Time kT0 = absl::FromUnixSeconds(1790000000);

class NodeStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("state-store");
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
    store_->SetNotificationSinks({"exec", "webhook"});
  }

  void Enroll(const std::string& node_id, absl::Time at = kT0) {
    EnrollmentRecord e;
    e.enrollment_id = "enr-" + node_id;
    e.created_at = at;
    e.expires_at = at + absl::Minutes(5);
    e.state = EnrollmentState::kChallenged;
    e.request = {1};
    e.node.node_id = node_id;
    e.node.ak_name = {0x00, 0x0b, static_cast<uint8_t>(node_id.back())};
    e.node.ak_public = {0xa1};
    e.node.ek_public = {0xe1};
    e.node.ek_public_sha256 = "ek-" + node_id;
    e.node.ek_cert_sha256 = "c";
    e.node.ek_cert = {0x30};
    e.node.hostname = "host-" + node_id;
    ASSERT_TRUE(store_->InsertEnrollment(e).ok());
    ASSERT_TRUE(store_->FinishEnrollment(e.enrollment_id, EnrollmentState::kEnrolled, {}, at).ok());
  }

  // An attestation; `authentic` = the quote verified (its clockInfo is known).
  absl::Status Attest(const std::string& node_id, const std::string& id, bool affirming,
                      absl::Time at, bool authentic = true) {
    AttestationRecord a;
    a.attestation_id = id;
    a.node_id = node_id;
    a.created_at = at;
    a.verdict = affirming ? kVerdictAffirming : kVerdictContraindicated;
    if (!affirming) {
      a.findings = {{"POLICY_PCR_MISMATCH", "sha256:4"},
                    {"POLICY_PCR_MISMATCH", "sha256:9"},
                    {"TOKEN_ISSUER_FAILED", "not about the node"}};
    }
    a.checks_json = "[]";
    if (authentic) a.clock = ClockState{1000, 1, 0, true};
    a.nonce = Bytes(32, 1);
    return store_->RecordAttestation(a, nullptr, a.clock);
  }

  std::string State(const std::string& node_id) {
    auto n = store_->GetNode(node_id);
    EXPECT_TRUE(n.ok() && n->has_value());
    return n.ok() && n->has_value() ? (*n)->state : "";
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

TEST_F(NodeStateStoreTest, AttestationsMoveTheStateAndQueueOneNotificationPerSink) {
  Enroll("node-1");
  EXPECT_EQ(State("node-1"), kNodeStateEnrolled);
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0 + absl::Minutes(1)).ok());
  EXPECT_EQ(State("node-1"), kNodeStateTrusted);
  ASSERT_TRUE(Attest("node-1", "att-2", true, kT0 + absl::Minutes(2)).ok());  // no change
  ASSERT_TRUE(Attest("node-1", "att-3", false, kT0 + absl::Minutes(3)).ok());
  EXPECT_EQ(State("node-1"), kNodeStateUntrusted);

  auto node = store_->GetNode("node-1").value();
  EXPECT_EQ(node->last_attested_at, kT0 + absl::Minutes(2)) << "latest affirming";
  EXPECT_EQ(node->last_attempt_at, kT0 + absl::Minutes(3));
  EXPECT_EQ(node->state_since, kT0 + absl::Minutes(3));

  auto transitions = store_->ListNodeTransitions("node-1", 0);
  ASSERT_TRUE(transitions.ok());
  ASSERT_THAT(*transitions, SizeIs(2));
  const NodeTransition& t = (*transitions)[0];
  EXPECT_EQ(t.old_state, kNodeStateTrusted);
  EXPECT_EQ(t.new_state, kNodeStateUntrusted);
  EXPECT_EQ(t.attestation_id, "att-3");
  ASSERT_THAT(t.reasons, SizeIs(2)) << "TOKEN_ISSUER_FAILED is not a reason about the node";
  EXPECT_EQ(t.reasons[0].code, "POLICY_PCR_MISMATCH");
  EXPECT_EQ((*transitions)[1].attestation_id, "att-1");
  EXPECT_NE((*transitions)[0].event_id, (*transitions)[1].event_id);

  auto outbox = store_->ListNotifications(0);
  ASSERT_TRUE(outbox.ok());
  ASSERT_THAT(*outbox, SizeIs(4));
  EXPECT_EQ((*outbox)[0].event_id, (*transitions)[1].event_id);
  EXPECT_EQ((*outbox)[0].sink, "exec");
  EXPECT_EQ((*outbox)[1].sink, "webhook");
  EXPECT_EQ((*outbox)[0].payload, (*outbox)[1].payload);
  const nlohmann::json e = nlohmann::json::parse((*outbox)[2].payload);
  EXPECT_EQ(e["event_id"], t.event_id);
  EXPECT_EQ(e["node"], "node-1");
  EXPECT_EQ(e["hostname"], "host-node-1");
  EXPECT_EQ(e["old_state"], "trusted");
  EXPECT_EQ(e["new_state"], "untrusted");
  EXPECT_EQ(e["attestation_id"], "att-3");
  EXPECT_EQ(e["reasons"][1]["detail"], "sha256:9");
  EXPECT_EQ(store_->NotificationBacklog().value(), 4);
}

TEST_F(NodeStateStoreTest, UnauthenticatedEvidenceDoesNotMoveTheState) {
  Enroll("node-1");
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0 + absl::Minutes(1)).ok());
  ASSERT_TRUE(Attest("node-1", "att-2", false, kT0 + absl::Minutes(2), /*authentic=*/false).ok());
  EXPECT_EQ(State("node-1"), kNodeStateTrusted);
  EXPECT_EQ(store_->GetNode("node-1").value()->last_attempt_at, kT0 + absl::Minutes(2));
  EXPECT_THAT(store_->ListNodeTransitions("node-1", 0).value(), SizeIs(1));
}

TEST_F(NodeStateStoreTest, AttestationOfAnUnknownNodeRecordsNoTransition) {
  ASSERT_TRUE(Attest("node-9", "att-1", false, kT0).ok());
  EXPECT_THAT(store_->ListNodeTransitions("", 0).value(), IsEmpty());
  EXPECT_THAT(store_->ListNotifications(0).value(), IsEmpty());
}

TEST_F(NodeStateStoreTest, RevocationIsARecordedTransitionAndFinal) {
  Enroll("node-1");
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0 + absl::Minutes(1)).ok());
  ASSERT_TRUE(store_->RevokeNode("node-1", "stolen (by admin)", kT0 + absl::Minutes(2)).ok());
  EXPECT_EQ(State("node-1"), kNodeStateRevoked);
  // Revoking again records nothing new; attestations do not move it; nor does the deadline.
  ASSERT_TRUE(store_->RevokeNode("node-1", "again", kT0 + absl::Minutes(3)).ok());
  ASSERT_TRUE(Attest("node-1", "att-2", true, kT0 + absl::Minutes(4)).ok());
  ASSERT_TRUE(store_->MarkStaleNodes(kT0 + absl::Hours(5), absl::Hours(1)).ok());
  EXPECT_EQ(State("node-1"), kNodeStateRevoked);
  auto transitions = store_->ListNodeTransitions("node-1", 0).value();
  ASSERT_THAT(transitions, SizeIs(2));
  EXPECT_EQ(transitions[0].new_state, kNodeStateRevoked);
  EXPECT_EQ(transitions[0].old_state, kNodeStateTrusted);
  EXPECT_EQ(transitions[0].reasons[0].code, "NODE_REVOKED");
  EXPECT_EQ(transitions[0].reasons[0].detail, "stolen (by admin)");
  EXPECT_EQ(transitions[0].attestation_id, "");
}

TEST_F(NodeStateStoreTest, StaleDetectionHonoursTheDeadlineAndTheStates) {
  Enroll("node-1");                           // never attests
  Enroll("node-2");                           // trusted, then silent
  Enroll("node-3");                           // untrusted: stays untrusted
  Enroll("node-4", kT0 + absl::Minutes(50));  // enrolled late
  ASSERT_TRUE(Attest("node-2", "att-2", true, kT0 + absl::Minutes(10)).ok());
  ASSERT_TRUE(Attest("node-3", "att-3", false, kT0 + absl::Minutes(10)).ok());

  auto none = store_->MarkStaleNodes(kT0 + absl::Minutes(59), absl::Hours(1));
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
  auto first = store_->MarkStaleNodes(kT0 + absl::Minutes(60), absl::Hours(1));
  ASSERT_TRUE(first.ok());
  ASSERT_THAT(*first, SizeIs(1));
  EXPECT_EQ((*first)[0].node_id, "node-1");
  EXPECT_EQ((*first)[0].old_state, kNodeStateEnrolled);
  EXPECT_EQ((*first)[0].reasons[0].code, "NODE_STALE");
  auto second = store_->MarkStaleNodes(kT0 + absl::Minutes(75), absl::Hours(1));
  ASSERT_TRUE(second.ok());
  ASSERT_THAT(*second, SizeIs(1));
  EXPECT_EQ((*second)[0].node_id, "node-2");
  EXPECT_EQ(State("node-3"), kNodeStateUntrusted);
  EXPECT_EQ(State("node-4"), kNodeStateEnrolled);
  // Stale nodes are not marked again.
  EXPECT_THAT(store_->MarkStaleNodes(kT0 + absl::Minutes(80), absl::Hours(1)).value(), IsEmpty());

  auto counts = store_->CountNodesByState();
  ASSERT_TRUE(counts.ok());
  EXPECT_THAT(*counts, ElementsAre(std::pair<std::string, int64_t>{"enrolled", 1},
                                   std::pair<std::string, int64_t>{"revoked", 0},
                                   std::pair<std::string, int64_t>{"stale", 2},
                                   std::pair<std::string, int64_t>{"trusted", 0},
                                   std::pair<std::string, int64_t>{"untrusted", 1}));
  // A stale node that attests again is trusted again.
  ASSERT_TRUE(Attest("node-2", "att-4", true, kT0 + absl::Minutes(90)).ok());
  EXPECT_EQ(State("node-2"), kNodeStateTrusted);
}

TEST_F(NodeStateStoreTest, OutboxTracksDueFailedAndDelivered) {
  store_->SetNotificationSinks({"webhook"});
  Enroll("node-1");
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0).ok());
  auto due = store_->DueNotifications(kT0, 0);
  ASSERT_TRUE(due.ok());
  ASSERT_THAT(*due, SizeIs(1));
  const std::string id = (*due)[0].event_id;
  ASSERT_TRUE(
      store_->MarkNotificationFailed(id, "webhook", "refused", kT0 + absl::Seconds(5)).ok());
  EXPECT_THAT(store_->DueNotifications(kT0 + absl::Seconds(4), 0).value(), IsEmpty());
  due = store_->DueNotifications(kT0 + absl::Seconds(5), 0);
  ASSERT_THAT(*due, SizeIs(1));
  EXPECT_EQ((*due)[0].attempts, 1);
  EXPECT_EQ((*due)[0].last_error, "refused");
  ASSERT_TRUE(store_->MarkNotificationDelivered(id, "webhook", kT0 + absl::Seconds(6)).ok());
  EXPECT_THAT(store_->DueNotifications(kT0 + absl::Hours(9), 0).value(), IsEmpty());
  EXPECT_EQ(store_->NotificationBacklog().value(), 0);
  // A late failure report for a delivered entry changes nothing.
  ASSERT_TRUE(store_->MarkNotificationFailed(id, "webhook", "late", kT0).ok());
  auto all = store_->ListNotifications(0).value();
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_EQ(all[0].attempts, 2);
  EXPECT_EQ(*all[0].delivered_at, kT0 + absl::Seconds(6));
  // Survives reopening.
  Open();
  EXPECT_EQ(*store_->ListNotifications(0).value()[0].delivered_at, kT0 + absl::Seconds(6));
}

TEST_F(NodeStateStoreTest, ANodesEventsAreDueOnlyInOrder) {
  store_->SetNotificationSinks({"exec"});
  Enroll("node-1");
  Enroll("node-2");
  ASSERT_TRUE(Attest("node-1", "att-1", false, kT0).ok());                    // -> untrusted
  ASSERT_TRUE(Attest("node-1", "att-2", true, kT0 + absl::Seconds(1)).ok());  // -> trusted
  ASSERT_TRUE(Attest("node-2", "att-3", true, kT0 + absl::Seconds(2)).ok());  // -> trusted
  auto due = store_->DueNotifications(kT0 + absl::Seconds(2), 0).value();
  ASSERT_THAT(due, SizeIs(2)) << "node-1's second event waits for its first";
  EXPECT_THAT(due[0].payload, ::testing::HasSubstr("\"attestation_id\":\"att-1\""));
  EXPECT_THAT(due[1].payload, ::testing::HasSubstr("\"attestation_id\":\"att-3\""));
  // The first one fails and backs off: node-1's later event is still not due, even when the
  // backoff is longer than its own schedule.
  ASSERT_TRUE(
      store_->MarkNotificationFailed(due[0].event_id, "exec", "exit 1", kT0 + absl::Hours(1)).ok());
  due = store_->DueNotifications(kT0 + absl::Minutes(30), 0).value();
  ASSERT_THAT(due, SizeIs(1));
  EXPECT_THAT(due[0].payload, ::testing::HasSubstr("att-3"));
  due = store_->DueNotifications(kT0 + absl::Hours(1), 0).value();
  ASSERT_THAT(due, SizeIs(2));
  ASSERT_TRUE(
      store_->MarkNotificationDelivered(due[0].event_id, "exec", kT0 + absl::Hours(1)).ok());
  due = store_->DueNotifications(kT0 + absl::Hours(1), 0).value();
  ASSERT_THAT(due, SizeIs(2));
  EXPECT_THAT(due[0].payload, ::testing::HasSubstr("att-2"));
}

TEST_F(NodeStateStoreTest, WithoutSinksTransitionsAreRecordedButNothingIsQueued) {
  store_->SetNotificationSinks({});
  Enroll("node-1");
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0).ok());
  EXPECT_THAT(store_->ListNodeTransitions("", 0).value(), SizeIs(1));
  EXPECT_THAT(store_->ListNotifications(0).value(), IsEmpty());
}

TEST_F(NodeStateStoreTest, NotificationForASinkNoLongerConfiguredStaysQueued) {
  store_->SetNotificationSinks({"webhook"});
  Enroll("node-1");
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0).ok());
  // Restarted without a webhook: the queued event is kept, with the reason, and retried later.
  testing::FakeClock clock(kT0);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> devnull(std::fopen("/dev/null", "w"),
                                                          &std::fclose);
  Logger logger(LogFormat::kText, devnull.get(), &clock);
  Notifier notifier(store_.get(), {}, &clock, &logger, nullptr, NotifierOptions{});
  auto delivered = notifier.DeliverDue();
  ASSERT_TRUE(delivered.ok()) << delivered.status();
  EXPECT_EQ(*delivered, 0);
  auto all = store_->ListNotifications(0).value();
  ASSERT_THAT(all, SizeIs(1));
  EXPECT_FALSE(all[0].delivered_at.has_value());
  EXPECT_EQ(all[0].attempts, 1);
  EXPECT_THAT(all[0].last_error, ::testing::HasSubstr("sink 'webhook' is not configured"));
  EXPECT_EQ(all[0].next_attempt_at, kT0 + NotifierOptions{}.retry_initial);
  EXPECT_EQ(store_->NotificationBacklog().value(), 1);
}

TEST_F(NodeStateStoreTest, MigrationDerivesStatesOfExistingNodes) {
  Enroll("node-1");
  Enroll("node-2");
  Enroll("node-3");
  Enroll("node-4");
  ASSERT_TRUE(Attest("node-1", "att-1", true, kT0 + absl::Minutes(1)).ok());
  ASSERT_TRUE(Attest("node-2", "att-2a", true, kT0 + absl::Minutes(1)).ok());
  ASSERT_TRUE(Attest("node-2", "att-2b", false, kT0 + absl::Minutes(2)).ok());
  ASSERT_TRUE(store_->RevokeNode("node-3", "x", kT0 + absl::Minutes(3)).ok());
  store_.reset();
  // Back to schema 2 as an older verifier left it (no labels either): no state columns,
  // last_attested_at = the
  // latest attestation of any verdict.
  {
    auto db = SqliteDb::Open(path_, false);
    ASSERT_TRUE(db.ok());
    for (const char* sql :
         {"DROP TABLE attestation_policy", "DROP TABLE node_labels", "DROP TABLE enrollment_labels",
          "DROP TABLE notification_outbox", "DROP TABLE node_transitions",
          "DROP INDEX nodes_by_state", "ALTER TABLE nodes DROP COLUMN state",
          "ALTER TABLE nodes DROP COLUMN state_since",
          "ALTER TABLE nodes DROP COLUMN last_attempt_at",
          "UPDATE nodes SET last_attested_at = (SELECT max(created_at) FROM "
          "attestations a WHERE a.node_id = nodes.node_id)",
          "PRAGMA user_version = 2"}) {
      ASSERT_TRUE(db->Exec(sql).ok()) << sql;
    }
  }
  Open();
  EXPECT_EQ(store_->SchemaVersion().value(), kStoreSchemaVersion);
  EXPECT_EQ(State("node-1"), kNodeStateTrusted);
  EXPECT_EQ(State("node-2"), kNodeStateUntrusted);
  EXPECT_EQ(State("node-3"), kNodeStateRevoked);
  EXPECT_EQ(State("node-4"), kNodeStateEnrolled);
  auto n2 = store_->GetNode("node-2").value();
  EXPECT_EQ(n2->last_attested_at, kT0 + absl::Minutes(1)) << "latest affirming only";
  EXPECT_EQ(n2->last_attempt_at, kT0 + absl::Minutes(2));
  EXPECT_EQ(n2->state_since, kT0 + absl::Minutes(2));
  EXPECT_EQ(store_->GetNode("node-3").value()->state_since, kT0 + absl::Minutes(3));
}

}  // namespace
}  // namespace bootgate::verifier
