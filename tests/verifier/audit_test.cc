// `bootgate audit export` / `bootgate audit verify` and `bootgate report --format json|csv` against
// a store written by the real verifier (in-process servers, software TPMs): an export verifies;
// one changed byte of evidence (in the store or in the bundle), one changed stored verdict, a
// tampered or foreign bundle signature each fail and name the attestation (or file) and reason.
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/tokens/ear.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  ASSERT_TRUE(out.good()) << path;
}

// Flips one byte of a BLOB column of one attestation row.
void FlipStoredByte(const std::string& db_path, const std::string& column, const std::string& id,
                    size_t offset) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* get = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(
                db, ("SELECT " + column + " FROM attestations WHERE attestation_id = ?").c_str(),
                -1, &get, nullptr),
            SQLITE_OK);
  sqlite3_bind_text(get, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(get), SQLITE_ROW);
  const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(get, 0));
  std::string blob(reinterpret_cast<const char*>(p), sqlite3_column_bytes(get, 0));
  sqlite3_finalize(get);
  ASSERT_LT(offset, blob.size());
  blob[offset] ^= 0x01;
  sqlite3_stmt* put = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(
                db, ("UPDATE attestations SET " + column + " = ? WHERE attestation_id = ?").c_str(),
                -1, &put, nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(put, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(put, 2, id.c_str(), -1, SQLITE_TRANSIENT);
  EXPECT_EQ(sqlite3_step(put), SQLITE_DONE);
  sqlite3_finalize(put);
  sqlite3_close(db);
}

void Sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << message;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = VerifierEnv::Create({});
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
    dir_ = env_->dir();
    db_ = env_->config().database;

    // Two nodes; node A attests three times (the second after a reboot), once with a log whose
    // replay does not match; node B attests once and is then revoked and attests again.
    auto a = env_->MakeTpm();
    auto b = env_->MakeTpm();
    ASSERT_TRUE(a.ok() && b.ok());
    tpm_a_ = std::make_unique<TestTpm>(*std::move(a));
    tpm_b_ = std::make_unique<TestTpm>(*std::move(b));
    ASSERT_TRUE(env_->Enroll(tpm_a_.get()).ok());
    ASSERT_TRUE(env_->Enroll(tpm_b_.get()).ok());

    VerifierEnv::Evidence e = env_->DefaultEvidence();
    Attest(*tpm_a_, e, "affirming");
    e.clock += 5000;
    Attest(*tpm_a_, e, "affirming");
    after_second_ = env_->clock().Now() + absl::Microseconds(1);
    e.reset_count = 2;  // a new boot
    e.clock = 100;
    Attest(*tpm_a_, e, "affirming");
    VerifierEnv::Evidence bad = e;
    bad.clock += 1000;
    // Another firmware's log: its replay does not match the quoted PCRs.
    bad.event_log = ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements");
    bad_attestation_ = Attest(*tpm_a_, bad, "");
    Attest(*tpm_b_, env_->DefaultEvidence(), "affirming");
    // Audit verification orders a revocation and an attestation by their times (a revocation at
    // the same microsecond as an attestation counts as before it): keep them apart.
    env_->clock().Advance(absl::Seconds(1));
    {
      grpc::ClientContext ctx;
      v1::RevokeNodeRequest req;
      req.set_node_id(tpm_b_->node_id);
      req.set_reason("decommissioned");
      v1::Node resp;
      ASSERT_TRUE(env_->admin().RevokeNode(&ctx, req, &resp).ok());
    }
    env_->clock().Advance(absl::Seconds(1));
    VerifierEnv::Evidence later = env_->DefaultEvidence();
    later.clock = 9000;
    revoked_attestation_ = Attest(*tpm_b_, later, "contraindicated");
    env_->Stop();
  }

  std::string Attest(const TestTpm& tpm, const VerifierEnv::Evidence& e,
                     const std::string& expected_verdict) {
    env_->clock().Advance(absl::Seconds(10));
    auto r = env_->Attest(tpm, e);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return "";
    if (expected_verdict == "affirming") {
      EXPECT_EQ(r->verdict(), v1::VERDICT_AFFIRMING);
    } else if (expected_verdict == "contraindicated") {
      EXPECT_EQ(r->verdict(), v1::VERDICT_CONTRAINDICATED);
    }
    attestations_.push_back(r->attestation_id());
    return r->attestation_id();
  }

  CommandResult Export(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"audit", "export", "--config", dir_ + "/verifier.yaml",
                                     "--out", out,      "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunBinary("bootgate", args);
  }

  CommandResult Verify(const std::string& bundle, const std::string& key = "") {
    return RunBinary("bootgate",
                     {"audit", "verify", bundle, "--ca", dir_ + "/ek-ca", "--verifier-pub",
                      key.empty() ? dir_ + "/ear-signing.pub.pem" : key, "--json"});
  }

  std::string Bundle(const std::string& name) { return dir_ + "/" + name; }

  std::unique_ptr<VerifierEnv> env_;
  std::string dir_;
  std::string db_;
  std::unique_ptr<TestTpm> tpm_a_;
  std::unique_ptr<TestTpm> tpm_b_;
  std::vector<std::string> attestations_;
  absl::Time after_second_;
  std::string bad_attestation_;
  std::string revoked_attestation_;
};

TEST_F(AuditTest, ExportVerifiesOffline) {
  CommandResult exported = Export(Bundle("bundle"));
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  const auto summary = nlohmann::json::parse(exported.out);
  EXPECT_EQ(summary["attestations"], attestations_.size());
  EXPECT_EQ(summary["nodes"], 2);
  EXPECT_EQ(summary["policies"], 1);
  // Raw evidence and the exact policy are in the bundle, as files an auditor can use directly.
  EXPECT_TRUE(
      verifier::PathExists(Bundle("bundle/attestations/" + attestations_[0] + "/quote.msg")));
  EXPECT_EQ(ReadAll(Bundle("bundle/policies/0.policy")), ReadAll(dir_ + "/policy.yaml"));

  CommandResult verified = Verify(Bundle("bundle"));
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  const auto report = nlohmann::json::parse(verified.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["attestations"], attestations_.size());
  EXPECT_EQ(report["reproduced"], attestations_.size());
  EXPECT_EQ(report["nodes"], 2);

  // The text form names the totals.
  CommandResult text =
      RunBinary("bootgate", {"audit", "verify", Bundle("bundle"), "--ca", dir_ + "/ek-ca",
                             "--verifier-pub", dir_ + "/ear-signing.pub.pem"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat("OK: ")));

  // A window and a node filter: node A's attestations after its second one (the reboot and the
  // refused log), with the second one as the clock baseline they were compared with.
  CommandResult one = Export(
      Bundle("node-a"), {"--node", tpm_a_->node_id, "--since",
                         absl::FormatTime(absl::RFC3339_full, after_second_, absl::UTCTimeZone())});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)["attestations"], 2);
  EXPECT_EQ(nlohmann::json::parse(one.out)["clock_baselines"], 1);
  CommandResult one_ok = Verify(Bundle("node-a"));
  EXPECT_EQ(one_ok.exit_code, 0) << one_ok.out;
}

TEST_F(AuditTest, ChangedEvidenceByteInTheStoreIsNamed) {
  const std::string victim = attestations_[1];  // affirming
  // Flip one byte of the stored quote (inside the signed TPMS_ATTEST).
  FlipStoredByte(db_, "quote", victim, 20);
  CommandResult exported = Export(Bundle("bundle"));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  CommandResult verified = Verify(Bundle("bundle"));
  EXPECT_EQ(verified.exit_code, 1) << verified.out;
  EXPECT_THAT(verified.out, HasSubstr("attestation " + victim));
  EXPECT_THAT(verified.out, HasSubstr("VERDICT_NOT_REPRODUCED"));
  EXPECT_THAT(verified.out, HasSubstr("QUOTE_"));  // the recomputed reason
  // Only that attestation fails to reproduce.
  const auto report = nlohmann::json::parse(verified.out);
  EXPECT_EQ(report["reproduced"], attestations_.size() - 1);
  for (const auto& p : report["problems"]) EXPECT_EQ(p["subject"], "attestation " + victim);
}

TEST_F(AuditTest, ChangedStoredVerdictIsNamed) {
  Sql(db_, absl::StrCat("UPDATE attestations SET verdict = 'affirming' WHERE attestation_id = '",
                        bad_attestation_, "'"));
  CommandResult exported = Export(Bundle("bundle"));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  CommandResult verified = Verify(Bundle("bundle"));
  EXPECT_EQ(verified.exit_code, 1) << verified.out;
  EXPECT_THAT(verified.out, HasSubstr("attestation " + bad_attestation_));
  EXPECT_THAT(verified.out, HasSubstr("VERDICT_NOT_REPRODUCED"));
  EXPECT_THAT(verified.out, HasSubstr("EVENTLOG_REPLAY_MISMATCH"));
  EXPECT_THAT(verified.out, HasSubstr("EAR_MISMATCH"));  // the signed EAR says contraindicated
}

TEST_F(AuditTest, ChangedFindingOrRevocationIsNamed) {
  // The revoked node's refusal: deleting the revocation makes NODE_REVOKED unreproducible.
  Sql(db_, "UPDATE nodes SET revoked_at = NULL");
  CommandResult exported = Export(Bundle("bundle"));
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  CommandResult verified = Verify(Bundle("bundle"));
  EXPECT_EQ(verified.exit_code, 1) << verified.out;
  EXPECT_THAT(verified.out, HasSubstr("attestation " + revoked_attestation_));
  EXPECT_THAT(verified.out, HasSubstr("FINDINGS_NOT_REPRODUCED"));
}

TEST_F(AuditTest, ChangedBundleFileIsNamed) {
  ASSERT_EQ(Export(Bundle("bundle")).exit_code, 0);
  const std::string file = "attestations/" + attestations_[2] + "/eventlog.bin";
  std::string data = ReadAll(Bundle("bundle/" + file));
  ASSERT_FALSE(data.empty());
  data[data.size() / 2] ^= 0x01;
  WriteAll(Bundle("bundle/" + file), data);
  CommandResult verified = Verify(Bundle("bundle"));
  EXPECT_EQ(verified.exit_code, 1) << verified.out;
  EXPECT_THAT(verified.out, HasSubstr("file " + file));
  EXPECT_THAT(verified.out, HasSubstr("BUNDLE_FILE_MODIFIED"));

  // A stored verdict edited inside index.json.
  ASSERT_EQ(Export(Bundle("bundle2")).exit_code, 0);
  std::string index = ReadAll(Bundle("bundle2/index.json"));
  const size_t at = index.find("\"verdict\": \"contraindicated\"");
  ASSERT_NE(at, std::string::npos);
  index.replace(at, 28, "\"verdict\": \"affirming\"      ");
  WriteAll(Bundle("bundle2/index.json"), index);
  CommandResult edited = Verify(Bundle("bundle2"));
  EXPECT_EQ(edited.exit_code, 1);
  EXPECT_THAT(edited.out, HasSubstr("file index.json"));

  // A file added to the bundle after signing.
  ASSERT_EQ(Export(Bundle("bundle3")).exit_code, 0);
  WriteAll(Bundle("bundle3/extra.txt"), "x");
  CommandResult extra = Verify(Bundle("bundle3"));
  EXPECT_EQ(extra.exit_code, 1);
  EXPECT_THAT(extra.out, HasSubstr("BUNDLE_FILE_UNLISTED"));
}

TEST_F(AuditTest, TamperedOrForeignSignatureFails) {
  ASSERT_EQ(Export(Bundle("bundle")).exit_code, 0);
  std::string jws = ReadAll(Bundle("bundle/manifest.jws"));
  ASSERT_GT(jws.size(), 20u);
  const size_t last = jws.find_last_of('.') + 5;
  jws[last] = jws[last] == 'A' ? 'B' : 'A';
  WriteAll(Bundle("bundle/manifest.jws"), jws);
  CommandResult tampered = Verify(Bundle("bundle"));
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out;
  EXPECT_THAT(tampered.out, HasSubstr("BUNDLE_SIGNATURE_INVALID"));

  // The manifest changed under a valid signature.
  ASSERT_EQ(Export(Bundle("bundle2")).exit_code, 0);
  std::string manifest = ReadAll(Bundle("bundle2/manifest.json"));
  manifest += " ";
  WriteAll(Bundle("bundle2/manifest.json"), manifest);
  CommandResult changed = Verify(Bundle("bundle2"));
  EXPECT_EQ(changed.exit_code, 1);
  EXPECT_THAT(changed.out, HasSubstr("BUNDLE_SIGNATURE_INVALID"));

  // Another verifier's key.
  ASSERT_EQ(Export(Bundle("bundle3")).exit_code, 0);
  auto other = VerifierEnv::Create({});
  ASSERT_TRUE(other.ok());
  CommandResult foreign = Verify(Bundle("bundle3"), (*other)->dir() + "/ear-signing.pub.pem");
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_THAT(foreign.out, HasSubstr("BUNDLE_SIGNATURE_INVALID"));
}

// A bundle signed with the right key whose index is nonsense (wrong types everywhere): verify
// reports problems and exits 1; it never crashes or accepts.
TEST_F(AuditTest, SignedButMalformedIndexIsReportedNotTrusted) {
  ASSERT_EQ(Export(Bundle("bundle")).exit_code, 0);
  const std::string index =
      R"({"format": "bootgate-audit-bundle/1", "policies": [1, {"policy_id": 2}],
          "nodes": ["x", {"node_id": 5, "enrollments": 3}],
          "attestations": [7, {"attestation_id": "att-1", "clock": "x", "new_boot": "yes",
                               "findings": "no", "checks": {"a": 1}, "nonce": "zz",
                               "created_at": "2026-11-22T00:00:00Z", "nonce_record": [1]},
                           {"attestation_id": "../../etc"}]})";
  WriteAll(Bundle("bundle/index.json"), index);
  auto manifest = nlohmann::json::parse(ReadAll(Bundle("bundle/manifest.json")));
  for (auto& f : manifest["files"]) {
    if (f["path"] == "index.json") {
      f["sha256"] = verifier::Sha256Hex(attest::AsSpan(index));
      f["bytes"] = index.size();
    }
  }
  const std::string manifest_text = manifest.dump(1);
  WriteAll(Bundle("bundle/manifest.json"), manifest_text);
  auto signer = verifier::EarSigner::FromPemFile(env_->config().ear_signing_key);
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto jws = (*signer)->Sign(
      {{"bootgate.manifest-sha256", verifier::Sha256Hex(attest::AsSpan(manifest_text))}});
  ASSERT_TRUE(jws.ok());
  WriteAll(Bundle("bundle/manifest.jws"), *jws);
  CommandResult verified = Verify(Bundle("bundle"));
  EXPECT_EQ(verified.exit_code, 1) << verified.out << verified.err;
  const auto report = nlohmann::json::parse(verified.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << verified.out << verified.err;
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["reproduced"], 0);
  EXPECT_THAT(verified.out, HasSubstr("BUNDLE_INDEX_MALFORMED"));
}

TEST_F(AuditTest, UsageAndInputErrors) {
  EXPECT_EQ(RunBinary("bootgate", {"audit"}).exit_code, 2);
  EXPECT_EQ(RunBinary("bootgate", {"audit", "export", "--out", Bundle("x")}).exit_code, 2);
  EXPECT_EQ(Export(Bundle("x"), {"--since", "yesterday"}).exit_code, 2);
  CommandResult missing = Verify(Bundle("does-not-exist"));
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_THAT(missing.err, HasSubstr("not a bundle directory"));
  ASSERT_EQ(Export(Bundle("bundle")).exit_code, 0);
  CommandResult again = Export(Bundle("bundle"));  // never overwrites
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
  CommandResult not_db =
      RunBinary("bootgate", {"audit", "export", "--config", dir_ + "/verifier.yaml", "--store",
                             dir_ + "/policy.yaml", "--out", Bundle("y")});
  EXPECT_EQ(not_db.exit_code, 3);
  EXPECT_THAT(not_db.err, HasSubstr("policy.yaml"));
}

TEST_F(AuditTest, ReportJsonAndCsv) {
  CommandResult json = RunBinary("bootgate", {"report", "--store", db_, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const auto r = nlohmann::json::parse(json.out);
  EXPECT_EQ(r["attestations"], attestations_.size());
  EXPECT_EQ(r["nodes_by_state"]["revoked"], 1);
  EXPECT_EQ(r["nodes"].size(), 2u);
  bool replay_failure = false;
  for (const auto& f : r["failures"]) {
    if (f["code"] == "EVENTLOG_REPLAY_MISMATCH") {
      replay_failure = true;
      EXPECT_EQ(f["count"], 1);
      EXPECT_EQ(f["nodes"][0], tpm_a_->node_id);
    }
  }
  EXPECT_TRUE(replay_failure) << json.out;
  ASSERT_EQ(r["policies"].size(), 1u);
  EXPECT_THAT(r["policies"][0]["policy_id"].get<std::string>(), HasSubstr("test-golden@sha256:"));
  EXPECT_FALSE(r["timeline"].empty());

  CommandResult csv = RunBinary(
      "bootgate", {"report", "--store", db_, "--format", "csv", "--node", tpm_b_->node_id});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, HasSubstr("time,node_id,hostname,state,attestation_id,verdict"));
  EXPECT_THAT(csv.out, HasSubstr("NODE_REVOKED"));
  EXPECT_THAT(csv.out, Not(HasSubstr(tpm_a_->node_id)));

  // --since in the future: an empty window.
  CommandResult empty = RunBinary("bootgate", {"report", "--store", db_, "--format", "json",
                                               "--since", "2999-01-01T00:00:00Z"});
  ASSERT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_EQ(nlohmann::json::parse(empty.out)["attestations"], 0);
  EXPECT_EQ(RunBinary("bootgate", {"report", "--store", db_, "--format", "pdf"}).exit_code, 2);
  EXPECT_EQ(RunBinary("bootgate", {"report", "--store", dir_ + "/nope.db"}).exit_code, 3);
}

}  // namespace
}  // namespace bootgate::testing
