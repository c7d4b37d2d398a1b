// The policy registry that audit verification re-creates recorded policies with: a recorded
// (kind, content) gives back the same policy id; unknown kinds and bad content are named errors.
#include "verifier/appraise/policy_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "verifier/appraise/pcr_policy.h"

namespace bootgate::verifier {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] =
    "id: fleet-1\n"
    "pcrs:\n"
    "  sha256:\n"
    "    0: 0000000000000000000000000000000000000000000000000000000000000000\n";

TEST(PolicyRegistryTest, RecordedKindAndContentGiveTheSameId) {
  auto direct = PcrValuePolicy::Parse(kPolicy, "/etc/bootgate/policy.yaml");
  ASSERT_TRUE(direct.ok()) << direct.status();
  auto again = ParsePolicy((*direct)->kind(), (*direct)->content());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->id(), (*direct)->id());
  EXPECT_STREQ((*again)->kind(), "pcr-values");
  EXPECT_EQ((*again)->RequiredPcrs(), (*direct)->RequiredPcrs());
}

TEST(PolicyRegistryTest, OneChangedByteChangesTheId) {
  std::string changed = kPolicy;
  changed[changed.size() - 2] = '1';
  auto a = ParsePolicy("pcr-values", kPolicy);
  auto b = ParsePolicy("pcr-values", changed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->id(), (*b)->id());
}

TEST(PolicyRegistryTest, UnknownKindAndBadContentAreNamed) {
  auto unknown = ParsePolicy("golden-image-v9", kPolicy);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown policy kind 'golden-image-v9'"));
  EXPECT_THAT(unknown.status().message(), HasSubstr("pcr-values"));
  auto bad = ParsePolicy("pcr-values", "id: x\npcrs: 7\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("pcrs"));
  EXPECT_THAT(KnownPolicyKinds(), ::testing::Contains("pcr-values"));
}

}  // namespace
}  // namespace bootgate::verifier
