// PCR-value policy evaluation (several allowed values per PCR, every violation named), its strict
// file format, and the per-AK clockInfo monotonicity rules of the appraisal pipeline.
#include "verifier/appraise/pcr_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "verifier/appraise/appraisal.h"

namespace bootgate::verifier {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const std::string kA(64, 'a');
const std::string kB(64, 'b');
const std::string kC(64, 'c');

attest::Bytes Hex(const std::string& h) { return attest::HexDecode(h).value(); }

std::unique_ptr<PcrValuePolicy> Parse(const std::string& text) {
  auto p = PcrValuePolicy::Parse(text, "test.yaml");
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *std::move(p) : nullptr;
}

absl::Status ParseError(const std::string& text) {
  return PcrValuePolicy::Parse(text, "test.yaml").status();
}

TEST(PcrPolicyTest, SeveralAllowedValuesPerPcr) {
  auto policy = Parse("id: fleet-2026\npcrs:\n  sha256:\n    0: " + kA + "\n    4: [" + kB + ", " +
                      kC + "]\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_THAT(policy->id(), ::testing::MatchesRegex("fleet-2026@sha256:[0-9a-f]{16}"));
  EXPECT_THAT(policy->RequiredPcrs(), SizeIs(2));
  attest::VerifiedEventLog events;
  attest::PcrValues quoted = {{TPM2_ALG_SHA256, {{0, Hex(kA)}, {4, Hex(kB)}, {7, Hex(kC)}}}};
  EXPECT_THAT(policy->Evaluate(quoted, events, {}).violations, IsEmpty());
  quoted[TPM2_ALG_SHA256][4] = Hex(kC);  // the other allowed image
  EXPECT_THAT(policy->Evaluate(quoted, events, {}).violations, IsEmpty());
}

TEST(PcrPolicyTest, EveryViolationIsNamed) {
  auto policy =
      Parse("id: p\npcrs:\n  sha256:\n    0: " + kA + "\n    4: " + kB + "\n    9: " + kC + "\n");
  ASSERT_NE(policy, nullptr);
  attest::PcrValues quoted = {{TPM2_ALG_SHA256, {{0, Hex(kB)}, {4, Hex(kA)}}}};
  Findings f = policy->Evaluate(quoted, {}, {}).violations;
  ASSERT_THAT(f, SizeIs(3));
  EXPECT_EQ(f[0].code, "POLICY_PCR_MISMATCH");
  EXPECT_THAT(f[0].detail, HasSubstr("sha256:0 = " + kB));
  EXPECT_EQ(f[1].code, "POLICY_PCR_MISMATCH");
  EXPECT_EQ(f[2].code, "POLICY_PCR_NOT_QUOTED");
  EXPECT_THAT(f[2].detail, HasSubstr("sha256:9"));
}

TEST(PcrPolicyTest, BanksAreSeparate) {
  auto policy = Parse("id: p\npcrs:\n  sha1:\n    0: " + std::string(40, 'a') + "\n");
  ASSERT_NE(policy, nullptr);
  attest::PcrValues quoted = {{TPM2_ALG_SHA256, {{0, Hex(kA)}}}};
  Findings f = policy->Evaluate(quoted, {}, {}).violations;
  ASSERT_THAT(f, SizeIs(1));
  EXPECT_EQ(f[0].code, "POLICY_PCR_NOT_QUOTED");
}

TEST(PcrPolicyTest, JsonIsAcceptedToo) {
  auto policy = Parse(R"({"id": "j", "pcrs": {"sha256": {"7": [")" + kA + R"("]}}})");
  ASSERT_NE(policy, nullptr);
  EXPECT_THAT(policy->Evaluate({{TPM2_ALG_SHA256, {{7, Hex(kA)}}}}, {}, {}).violations, IsEmpty());
}

TEST(PcrPolicyTest, TheIdChangesWithTheContent) {
  auto a = Parse("id: p\npcrs:\n  sha256:\n    0: " + kA + "\n");
  auto b = Parse("id: p\npcrs:\n  sha256:\n    0: " + kB + "\n");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a->id(), b->id());
}

TEST(PcrPolicyTest, StrictFormat) {
  EXPECT_THAT(
      std::string(ParseError("id: p\npcrs:\n  sha256:\n    0: " + kA + "\nextra: 1\n").message()),
      HasSubstr("unknown key 'extra'"));
  EXPECT_THAT(std::string(ParseError("pcrs:\n  sha256:\n    0: " + kA + "\n").message()),
              HasSubstr("'id' is required"));
  EXPECT_THAT(std::string(ParseError("id: p\npcrs: {}\n").message()), HasSubstr("at least one"));
  EXPECT_THAT(std::string(ParseError("id: p\npcrs:\n  sha256:\n    24: " + kA + "\n").message()),
              HasSubstr("not a PCR index"));
  EXPECT_THAT(std::string(ParseError("id: p\npcrs:\n  sha256:\n    0: abcd\n").message()),
              HasSubstr("32 bytes of hex"));
  EXPECT_FALSE(ParseError("id: p\npcrs:\n  md5:\n    0: " + kA + "\n").ok());
  EXPECT_THAT(std::string(ParseError("id: p\npcrs: [unterminated\n").message()),
              HasSubstr("test.yaml"));
  EXPECT_FALSE(ParseError("id: 'bad id!'\npcrs:\n  sha256:\n    0: " + kA + "\n").ok());
}

TEST(PcrPolicyTest, GeneratedPolicyRoundTrips) {
  attest::PcrValues values = {{TPM2_ALG_SHA256, {{0, Hex(kA)}, {14, Hex(kB)}}},
                              {TPM2_ALG_SHA1, {{0, attest::Bytes(20, 1)}}}};
  auto policy = Parse(PcrPolicyYaml("gen", values));
  ASSERT_NE(policy, nullptr);
  EXPECT_THAT(policy->RequiredPcrs(), SizeIs(3));
  EXPECT_THAT(policy->Evaluate(values, {}, {}).violations, IsEmpty());
}

// --- clockInfo monotonicity per AK.

TEST(ClockCheckTest, FirstQuoteAndHigherResetCountAreNewBoots) {
  bool new_boot = false;
  EXPECT_FALSE(CheckClock(std::nullopt, ClockState{10, 1, 0, true}, &new_boot).has_value());
  EXPECT_TRUE(new_boot);
  EXPECT_FALSE(CheckClock(ClockState{500, 1, 3, true}, ClockState{10, 2, 0, true}, &new_boot));
  EXPECT_TRUE(new_boot);
  EXPECT_FALSE(CheckClock(ClockState{500, 2, 0, true}, ClockState{900, 2, 0, true}, &new_boot));
  EXPECT_FALSE(new_boot);
  EXPECT_FALSE(CheckClock(ClockState{500, 2, 0, true}, ClockState{100, 2, 1, false}, &new_boot))
      << "a restart (hibernate) may reset the clock";
  EXPECT_FALSE(new_boot);
}

TEST(ClockCheckTest, RegressionsAreNamed) {
  bool new_boot = false;
  EXPECT_EQ(CheckClock(ClockState{500, 5, 0, true}, ClockState{900, 4, 9, true}, &new_boot)->code,
            "CLOCK_RESET_COUNT_REGRESSED");
  EXPECT_EQ(CheckClock(ClockState{500, 5, 2, true}, ClockState{900, 5, 1, true}, &new_boot)->code,
            "CLOCK_RESTART_COUNT_REGRESSED");
  EXPECT_EQ(CheckClock(ClockState{500, 5, 2, true}, ClockState{499, 5, 2, true}, &new_boot)->code,
            "CLOCK_REGRESSED");
}

}  // namespace
}  // namespace bootgate::verifier
