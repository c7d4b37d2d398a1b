// The verifier with golden-image policies (policy_dir): signed policy files learned from a real
// boot, node groups selected by enrollment labels, what matched recorded with each attestation,
// unsigned / tampered / invalid sets refused (at start and through the admin API) with the
// previous set staying active, and two images accepted at once for a rolling upgrade.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/replay.h"
#include "attest/util/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/learn.h"
#include "policy/loader.h"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::testing {
namespace {

namespace v1 = ::bootgate::v1;
using attest::Bytes;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kDirectKernel[] = "qemu/qemu-ovmf-directkernel/binary_bios_measurements";
constexpr char kUki[] = "qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements";

// A policy set learned from one corpus log (image NAME 1, platform NAME-fw 1, policy fleet).
policy::PolicySet Learned(const std::string& log_path, const std::string& name) {
  auto log = attest::ParseEventLog(ReadTestData(log_path));
  EXPECT_TRUE(log.ok()) << log.status();
  policy::LearnOptions options;
  options.image_name = name;
  options.platform_name = name + "-fw";
  options.policy_name = "fleet";
  auto set = policy::LearnPolicy(*log, options);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *std::move(set) : policy::PolicySet();
}

// Direct-kernel and UKI images, each with its platform, in one policy's group(s).
std::string TwoImagePolicy(bool groups) {
  policy::PolicySet a = Learned(kDirectKernel, "direct");
  policy::PolicySet b = Learned(kUki, "uki");
  policy::PolicySet set;
  set.images = {a.images.at(0), b.images.at(0)};
  set.platforms = {a.platforms.at(0), b.platforms.at(0)};
  policy::Policy p = a.policies.at(0);
  policy::NodeGroup direct = p.groups.at(0);
  policy::NodeGroup uki = b.policies.at(0).groups.at(0);
  for (const policy::PlatformRef& ref : uki.platforms) direct.platforms.push_back(ref);
  if (groups) {
    // Workers run the UKI; everyone else the direct-kernel image.
    uki.name = "workers";
    uki.selector = {{"group", "workers"}};
    direct.name = "default";
    direct.selector.clear();
    p.groups = {uki, direct};
  } else {
    direct.images.push_back(uki.images.at(0));
    p.groups = {direct};
  }
  set.policies = {p};
  return policy::SerializeYaml(set);
}

std::string OnePolicy(const std::string& log_path, const std::string& name) {
  return policy::SerializeYaml(Learned(log_path, name));
}

class GoldenPolicyTest : public ::testing::Test {
 protected:
  void Init(EnvOptions options) {
    env_.reset();
    auto env = VerifierEnv::Create(options);
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
  }

  TestTpm EnrolledTpm(std::map<std::string, std::string> labels = {}) {
    auto tpm = env_->MakeTpm();
    EXPECT_TRUE(tpm.ok()) << tpm.status();
    if (!tpm.ok()) return TestTpm{};
    tpm->labels = std::move(labels);
    auto finish = env_->Enroll(&*tpm);
    EXPECT_TRUE(finish.ok()) << finish.status();
    return *std::move(tpm);
  }

  // Evidence of a node that booted `log_path` (quote, PCRs and log all agree).
  VerifierEnv::Evidence BootedFrom(const std::string& log_path) {
    VerifierEnv::Evidence e = env_->DefaultEvidence();
    e.event_log = ReadTestData(log_path);
    auto log = attest::ParseEventLog(e.event_log);
    EXPECT_TRUE(log.ok());
    auto replayed = attest::ReplayEventLog(*log);
    EXPECT_TRUE(replayed.ok());
    e.pcrs = attest::RestrictReplayToSelection(*replayed, env_->selection()).values;
    return e;
  }

  v1::AttestationRecord Record(const std::string& id) {
    v1::GetAttestationRequest req;
    req.set_attestation_id(id);
    v1::AttestationRecord rec;
    grpc::ClientContext ctx;
    EXPECT_TRUE(env_->admin().GetAttestation(&ctx, req, &rec).ok());
    return rec;
  }

  v1::PolicyInfo ActivePolicy() {
    v1::ListPoliciesResponse resp;
    grpc::ClientContext ctx;
    EXPECT_TRUE(env_->admin().ListPolicies(&ctx, v1::ListPoliciesRequest(), &resp).ok());
    EXPECT_EQ(resp.policies_size(), 1);
    return resp.policies_size() > 0 ? resp.policies(0) : v1::PolicyInfo();
  }

  grpc::Status Put(const std::string& name, const std::string& content,
                   const std::string& signature, v1::PolicyInfo* out) {
    v1::PutPolicyRequest req;
    req.set_file_name(name);
    req.set_content(content);
    req.set_signature(signature);
    grpc::ClientContext ctx;
    return env_->admin().PutPolicy(&ctx, req, out);
  }

  std::unique_ptr<VerifierEnv> env_;
};

TEST_F(GoldenPolicyTest, ALearnedSignedPolicyAcceptsItsBootAndRecordsWhatMatched) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  Init(options);
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm);
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->verdict(), v1::VERDICT_AFFIRMING) << resp->DebugString();
  EXPECT_TRUE(resp->has_join_token());
  EXPECT_THAT(resp->policy_id(), StartsWith("fleet@sha256:"));
  EXPECT_THAT(resp->policy_matched(), HasSubstr("golden image direct 1"));
  EXPECT_THAT(resp->policy_matched(), HasSubstr("platform direct-fw 1"));

  const v1::AttestationRecord rec = Record(resp->attestation_id());
  EXPECT_EQ(rec.policy_id(), resp->policy_id());
  EXPECT_EQ(rec.policy_matched(), resp->policy_matched());
  EXPECT_FALSE(rec.policy_explanation().empty());

  const v1::PolicyInfo active = ActivePolicy();
  EXPECT_EQ(active.kind(), "golden-images");
  EXPECT_EQ(active.policy_id(), resp->policy_id());
  ASSERT_EQ(active.signed_by_size(), 1);
  EXPECT_THAT(active.signed_by(0), StartsWith("sha256:"));
}

TEST_F(GoldenPolicyTest, ANodeThatBootedAnotherImageIsRejectedByThePolicy) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  Init(options);
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm, BootedFrom(kUki));
  ASSERT_TRUE(resp.ok()) << resp.status();
  EXPECT_EQ(resp->verdict(), v1::VERDICT_CONTRAINDICATED);
  ASSERT_GT(resp->findings_size(), 0);
  for (const v1::Finding& f : resp->findings()) EXPECT_THAT(f.code(), StartsWith("POLICY_"));
  EXPECT_FALSE(resp->has_join_token());
  EXPECT_EQ(resp->policy_matched(), "");
  // The stored explanation names the candidate image and what differed.
  const v1::AttestationRecord rec = Record(resp->attestation_id());
  EXPECT_THAT(rec.policy_explanation(), HasSubstr("direct"));
}

TEST_F(GoldenPolicyTest, TwoImagesAreAcceptedAtOnceDuringARollout) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", TwoImagePolicy(/*groups=*/false)}};
  Init(options);
  TestTpm old_node = EnrolledTpm();
  TestTpm new_node = EnrolledTpm();
  auto old_resp = env_->Attest(old_node);
  ASSERT_TRUE(old_resp.ok());
  EXPECT_EQ(old_resp->verdict(), v1::VERDICT_AFFIRMING) << old_resp->DebugString();
  EXPECT_THAT(old_resp->policy_matched(), HasSubstr("golden image direct 1"));
  auto new_resp = env_->Attest(new_node, BootedFrom(kUki));
  ASSERT_TRUE(new_resp.ok());
  EXPECT_EQ(new_resp->verdict(), v1::VERDICT_AFFIRMING) << new_resp->DebugString();
  EXPECT_THAT(new_resp->policy_matched(), HasSubstr("golden image uki 1"));
}

TEST_F(GoldenPolicyTest, EnrollmentLabelsSelectTheNodeGroup) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", TwoImagePolicy(/*groups=*/true)}};
  Init(options);
  TestTpm worker = EnrolledTpm({{"group", "workers"}});
  TestTpm other = EnrolledTpm();
  // Workers must run the UKI image, everyone else the direct-kernel one.
  auto w = env_->Attest(worker, BootedFrom(kUki));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->verdict(), v1::VERDICT_AFFIRMING) << w->DebugString();
  EXPECT_THAT(w->policy_matched(), HasSubstr("(group workers)"));
  auto w_direct = env_->Attest(worker);
  ASSERT_TRUE(w_direct.ok());
  EXPECT_EQ(w_direct->verdict(), v1::VERDICT_CONTRAINDICATED);
  auto o = env_->Attest(other);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->verdict(), v1::VERDICT_AFFIRMING) << o->DebugString();
  auto o_uki = env_->Attest(other, BootedFrom(kUki));
  ASSERT_TRUE(o_uki.ok());
  EXPECT_EQ(o_uki->verdict(), v1::VERDICT_CONTRAINDICATED);

  // The labels are stored with the node.
  v1::GetNodeRequest req;
  req.set_node_id(worker.node_id);
  v1::Node node;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->admin().GetNode(&ctx, req, &node).ok());
  EXPECT_EQ(node.labels().at("group"), "workers");
}

TEST_F(GoldenPolicyTest, BadLabelsAreRefusedAtEnrollment) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  Init(options);
  auto tpm = env_->MakeTpm();
  ASSERT_TRUE(tpm.ok());
  tpm->labels = {{"Group", "x"}};
  auto start = env_->StartEnrollment(*tpm);
  EXPECT_EQ(start.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(start.status().message()), HasSubstr("[a-z0-9._/-]"));
}

TEST_F(GoldenPolicyTest, AnUnsignedPolicyIsRefusedAtStartUnlessInDevelopmentMode) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  options.sign_policies = false;
  auto refused = VerifierEnv::Create(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("not signed"));

  options.allow_unsigned_policies = true;
  Init(options);
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_EQ(ActivePolicy().signed_by_size(), 0);
}

TEST_F(GoldenPolicyTest, ATamperedPolicyIsRefusedAtStartEvenInDevelopmentMode) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  Init(options);
  // Change one digest character after signing.
  std::string yaml = verifier::ReadFile(env_->policy_dir() + "/fleet.yaml").value();
  const size_t pos = yaml.find("sha256: \"");
  ASSERT_NE(pos, std::string::npos);
  char& c = yaml[pos + 9];
  c = c == '0' ? '1' : '0';
  ASSERT_TRUE(verifier::WriteFileAtomic(env_->policy_dir() + "/fleet.yaml", yaml).ok());
  env_->Stop();
  EXPECT_FALSE(env_->Start().ok());
}

TEST_F(GoldenPolicyTest, PutPolicyVerifiesTheNewSetAndKeepsTheOldOneOnFailure) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  Init(options);
  const std::string before = ActivePolicy().policy_id();
  TestTpm tpm = EnrolledTpm();
  auto uki = env_->Attest(tpm, BootedFrom(kUki));
  ASSERT_TRUE(uki.ok());
  EXPECT_EQ(uki->verdict(), v1::VERDICT_CONTRAINDICATED);

  const std::string next = TwoImagePolicy(false);
  v1::PolicyInfo info;
  // Unsigned: refused, nothing changes.
  grpc::Status s = Put("fleet.yaml", next, "", &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("not signed"));
  // Signed, but for other content (tampered in transit): refused.
  const std::string sig = env_->SignPolicy(next).value();
  std::string tampered = next;
  const size_t at = tampered.find("name: \"uki\"");
  ASSERT_NE(at, std::string::npos) << tampered;
  tampered.replace(at, 11, "name: \"ukj\"");
  s = Put("fleet.yaml", tampered, sig, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Schema-invalid: refused with the field named.
  std::string unknown_field = next;
  const size_t spec = unknown_field.find("spec:\n");
  ASSERT_NE(spec, std::string::npos);
  unknown_field.insert(spec + 6, "  bogus: 1\n");
  s = Put("extra.yaml", unknown_field, sig, &info);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("bogus"));
  EXPECT_EQ(ActivePolicy().policy_id(), before);
  EXPECT_FALSE(verifier::PathExists(env_->policy_dir() + "/extra.yaml"));

  // Signed and valid: active at once, and the UKI node now passes.
  s = Put("fleet.yaml", next, sig, &info);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(info.policy_id(), before);
  EXPECT_EQ(ActivePolicy().policy_id(), info.policy_id());
  auto again = env_->Attest(tpm, BootedFrom(kUki));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->verdict(), v1::VERDICT_AFFIRMING) << again->DebugString();
  EXPECT_EQ(again->policy_id(), info.policy_id());

  // The PCR-value mode has no policy directory.
}

TEST_F(GoldenPolicyTest, AnAuditorReverifiesGoldenPolicyDecisionsAndTheirSignature) {
  EnvOptions options;
  options.golden_policy_files = {{"fleet.yaml", OnePolicy(kDirectKernel, "direct")}};
  Init(options);
  TestTpm tpm = EnrolledTpm();
  env_->clock().Advance(absl::Seconds(10));
  auto good = env_->Attest(tpm);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->verdict(), v1::VERDICT_AFFIRMING);
  env_->clock().Advance(absl::Seconds(10));
  VerifierEnv::Evidence other = BootedFrom(kUki);
  other.clock = 5000;
  auto bad = env_->Attest(tpm, other);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->verdict(), v1::VERDICT_CONTRAINDICATED);
  env_->Stop();

  const std::string bundle = env_->dir() + "/bundle";
  CommandResult exported = RunBinary(
      "bootgate", {"audit", "export", "--config", env_->dir() + "/verifier.yaml", "--out", bundle});
  ASSERT_EQ(exported.exit_code, 0) << exported.out << exported.err;
  auto verify = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"audit",
                                     "verify",
                                     bundle,
                                     "--ca",
                                     env_->dir() + "/ek-ca",
                                     "--verifier-pub",
                                     env_->dir() + "/ear-signing.pub.pem"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunBinary("bootgate", args);
  };
  CommandResult ok = verify({"--policy-key", env_->dir() + "/policy-signing.pub"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("2 of 2 attestations reproduced"));

  // Another policy key: the recorded golden-image policy is not trusted, nothing is re-appraised
  // with it.
  auto other_key = verifier::GenerateEcP256Key();
  ASSERT_TRUE(other_key.ok());
  ASSERT_TRUE(verifier::WriteNewFile(env_->dir() + "/other.pub",
                                     verifier::PublicKeyPem(other_key->get()).value())
                  .ok());
  CommandResult wrong = verify({"--policy-key", env_->dir() + "/other.pub"});
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_THAT(wrong.out, HasSubstr("POLICY_UNPARSABLE"));

  // The fleet report names the OS image (golden image) in use, not only the policy id.
  CommandResult report = RunBinary(
      "bootgate", {"report", "--config", env_->dir() + "/verifier.yaml", "--format", "json"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_THAT(report.out, HasSubstr("golden image direct 1 on platform direct-fw 1"));

  // Without a policy key the decisions are re-checked and the skipped signature check is said.
  CommandResult unchecked = verify({});
  EXPECT_EQ(unchecked.exit_code, 0) << unchecked.out;
  EXPECT_THAT(unchecked.err, HasSubstr("not checked"));
}

}  // namespace
}  // namespace bootgate::testing
