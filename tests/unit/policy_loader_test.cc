// The policy document loader: strict schema (one test per rejection reason), JSON accepted,
// multi-document files, canonical bytes and version ids, YAML round trips.
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/loader.h"
#include "policy/model.h"

namespace bootgate::policy {
namespace {

using ::testing::HasSubstr;

const std::string kSha256A(64, 'a');
const std::string kSha256B(64, 'b');
const std::string kSha1C(40, 'c');

// A minimal valid set: one image, one platform, one policy.
std::string ValidPolicy() {
  return absl::StrCat(R"(apiVersion: bootgate.dev/v1
kind: Policy
metadata:
  name: prod
spec:
  banks: [sha256]
  groups:
    - name: workers
      selector: {role: worker}
      images:
        - {name: debian-12, version: "2026.11", notAfter: "2027-01-01T00:00:00Z"}
      platforms:
        - {name: ovmf, version: "1", quirks: [application-before-boot-option]}
  warnOnly: [POLICY_MOK_MISMATCH]
---
apiVersion: bootgate.dev/v1
kind: GoldenImage
metadata: {name: debian-12, version: "2026.11", description: "Debian 12 image"}
spec:
  bootChain:
    - name: shim
      digests: {sha256: ")",
                      kSha256A, R"(", sha1: ")", kSha1C, R"("}
  grub:
    commands: ["set timeout=0"]
    files:
      - {path: /vmlinuz, digests: {sha256: ")",
                      kSha256B, R"("}}
  kernelCmdline: "console=ttyS0"
  ukiSections:
    - {name: .linux, digests: {sha256: ")",
                      kSha256A, R"("}}
  secureBoot:
    enabled: true
    pk: [{type: x509, sha256: ")",
                      kSha256A, R"(", description: "Debian PK"}]
    dbxRequired: [{type: sha256, sha256: ")",
                      kSha256B, R"("}]
    sbatLevel: "sbat,1,2025021800\n"
  mok:
    - {name: MokList, digests: {sha256: ")",
                      kSha256A, R"("}}
---
apiVersion: bootgate.dev/v1
kind: PlatformReference
metadata: {name: ovmf, version: "1"}
spec:
  model: QEMU q35
  events:
    - {pcr: 0, type: EV_S_CRTM_VERSION, digests: {sha256: ")",
                      kSha256A, R"("}}
)");
}

absl::Status LoadError(const std::string& text) {
  auto set = ParsePolicyDocuments(text, "p.yaml");
  if (!set.ok()) return set.status();
  return ValidatePolicySet(*set);
}

TEST(PolicyLoaderTest, ValidSetLoads) {
  auto set = ParsePolicyDocuments(ValidPolicy(), "p.yaml");
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_TRUE(ValidatePolicySet(*set).ok()) << ValidatePolicySet(*set);
  ASSERT_EQ(set->images.size(), 1u);
  const GoldenImage& img = set->images[0];
  EXPECT_EQ(img.metadata.version, "2026.11");
  EXPECT_EQ(img.boot_chain[0].digests.at(0x000B), attest::Bytes(32, 0xAA));
  EXPECT_EQ(img.boot_chain[0].digests.at(0x0004), attest::Bytes(20, 0xCC));
  EXPECT_EQ(img.kernel_cmdline, "console=ttyS0");
  EXPECT_EQ(img.secure_boot.sbat_level, "sbat,1,2025021800\n");
  EXPECT_FALSE(img.secure_boot.kek.has_value());  // absent: not checked
  EXPECT_TRUE(img.secure_boot.pk.has_value());
  const Policy& p = set->policies[0];
  EXPECT_EQ(p.pcrs, (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14}));  // default
  EXPECT_EQ(p.groups[0].selector.at("role"), "worker");
  ASSERT_TRUE(p.groups[0].images[0].not_after.has_value());
  EXPECT_EQ(*p.groups[0].images[0].not_after, absl::FromUnixSeconds(1798761600));
  EXPECT_EQ(set->platforms[0].pcrs, (std::vector<uint32_t>{0, 1, 2, 3, 6}));  // default
}

TEST(PolicyLoaderTest, JsonIsAccepted) {
  const std::string json = absl::StrCat(
      R"({"apiVersion": "bootgate.dev/v1", "kind": "GoldenImage",
          "metadata": {"name": "img", "version": "1"},
          "spec": {"bootChain": [{"digests": {"sha256": ")",
      kSha256A, R"("}}], "secureBoot": {"enabled": false}}})");
  auto set = ParsePolicyDocuments(json, "img.json");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->images[0].boot_chain.size(), 1u);
  EXPECT_FALSE(set->images[0].secure_boot.enabled);
}

TEST(PolicyLoaderTest, UnknownFieldIsRejectedWithItsPath) {
  const std::string text = absl::StrReplaceAll(ValidPolicy(), {{"    enabled: true\n",
                                                                "    enabled: true\n"
                                                                "    allowAll: true\n"}});
  absl::Status st = LoadError(text);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("p.yaml: document 2 (GoldenImage debian-12): "
                                      "spec.secureBoot.allowAll: unknown field"));
}

TEST(PolicyLoaderTest, UnknownTopLevelFieldIsRejected) {
  absl::Status st = LoadError(absl::StrCat(ValidPolicy(), "extra: 1\n"));
  EXPECT_THAT(st.message(), HasSubstr("extra: unknown field"));
}

TEST(PolicyLoaderTest, BadHexLengthIsRejected) {
  const std::string text = absl::StrReplaceAll(ValidPolicy(), {{kSha1C, kSha256A}});
  absl::Status st = LoadError(text);
  EXPECT_THAT(st.message(),
              HasSubstr("spec.bootChain[0].digests.sha1: 32 bytes, a sha1 digest has 20"));
}

TEST(PolicyLoaderTest, NonHexDigestIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{kSha1C, std::string(39, 'c') + "z"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("spec.bootChain[0].digests.sha1"));
}

TEST(PolicyLoaderTest, UnknownBankIsRejected) {
  const std::string text = absl::StrReplaceAll(ValidPolicy(), {{"sha1: \"", "md5: \""}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("spec.bootChain[0].digests.md5: unknown bank"));
}

TEST(PolicyLoaderTest, MissingApiVersionIsRejected) {
  const std::string text =
      ValidPolicy().substr(std::string("apiVersion: bootgate.dev/v1\n").size());
  absl::Status st = LoadError(text);
  EXPECT_THAT(st.message(),
              HasSubstr("document 1 (Policy prod): apiVersion: required field missing"));
}

TEST(PolicyLoaderTest, OtherApiVersionIsRejected) {
  const std::string text = absl::StrReplaceAll(
      ValidPolicy(), {{"bootgate.dev/v1\nkind: Policy", "bootgate.dev/v2\nkind: Policy"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("'bootgate.dev/v2' is not supported"));
}

TEST(PolicyLoaderTest, UnknownKindIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{"kind: Policy\n", "kind: Polcy\n"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("unknown kind 'Polcy'"));
}

TEST(PolicyLoaderTest, MissingRequiredFieldIsRejected) {
  const std::string text = absl::StrReplaceAll(ValidPolicy(), {{"    enabled: true\n", ""}});
  EXPECT_THAT(LoadError(text).message(),
              HasSubstr("spec.secureBoot.enabled: required field missing"));
}

TEST(PolicyLoaderTest, WrongTypeIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{"    enabled: true\n", "    enabled: yes\n"}});
  EXPECT_THAT(LoadError(text).message(),
              HasSubstr("spec.secureBoot.enabled: expected true or false, got a string"));
}

TEST(PolicyLoaderTest, UnknownQuirkIsRejected) {
  const std::string text = absl::StrReplaceAll(
      ValidPolicy(), {{"quirks: [application-before-boot-option]", "quirks: [anything-goes]"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("unknown quirk 'anything-goes'"));
}

TEST(PolicyLoaderTest, UnknownWarnOnlyCodeIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{"[POLICY_MOK_MISMATCH]", "[POLICY_EVERYTHING]"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("unknown finding code 'POLICY_EVERYTHING'"));
}

TEST(PolicyLoaderTest, BadTimeIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{"2027-01-01T00:00:00Z", "next tuesday"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("notAfter: 'next tuesday' is not an RFC 3339"));
}

TEST(PolicyLoaderTest, NotBeforeAfterNotAfterIsRejected) {
  const std::string text = absl::StrReplaceAll(
      ValidPolicy(), {{"notAfter: \"2027-01-01T00:00:00Z\"",
                       "notBefore: \"2027-06-01T00:00:00Z\", notAfter: \"2027-01-01T00:00:00Z\""}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("notBefore must be earlier than notAfter"));
}

TEST(PolicyLoaderTest, NonEnforceablePcrIsRejected) {
  const std::string text = absl::StrReplaceAll(
      ValidPolicy(), {{"  banks: [sha256]\n", "  banks: [sha256]\n  pcrs: [4, 10]\n"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("PCR 10 is not described"));
}

TEST(PolicyLoaderTest, DuplicateKeyIsRejected) {
  const std::string text = absl::StrReplaceAll(
      ValidPolicy(), {{"  kernelCmdline: \"console=ttyS0\"\n",
                       "  kernelCmdline: \"console=ttyS0\"\n  kernelCmdline: \"quiet\"\n"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("duplicate key 'kernelCmdline'"));
}

TEST(PolicyLoaderTest, MissingReferencedImageIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{"{name: debian-12, version: \"2026.11\", notAfter",
                                           "{name: debian-13, version: \"2026.11\", notAfter"}});
  EXPECT_THAT(LoadError(text).message(),
              HasSubstr("names GoldenImage debian-13@2026.11, which is not in the policy set"));
}

TEST(PolicyLoaderTest, EnforcedBankMissingFromImageIsRejected) {
  const std::string text =
      absl::StrReplaceAll(ValidPolicy(), {{"  banks: [sha256]\n", "  banks: [sha1, sha256]\n"}});
  EXPECT_THAT(LoadError(text).message(), HasSubstr("has no sha1 digest"));
}

TEST(PolicyLoaderTest, TwoPoliciesAreRejected) {
  const std::string policy_doc = ValidPolicy().substr(0, ValidPolicy().find("---"));
  absl::Status st = LoadError(absl::StrCat(ValidPolicy(), "---\n", policy_doc));
  EXPECT_THAT(st.message(), HasSubstr("exactly one Policy document, found 2"));
}

TEST(PolicyLoaderTest, EmptyAndMalformedFilesAreRejected) {
  EXPECT_THAT(LoadError("").message(), HasSubstr("no documents"));
  EXPECT_THAT(LoadError("{{{").message(), HasSubstr("p.yaml:"));
  EXPECT_THAT(LoadError("- 1\n- 2\n").message(), HasSubstr("expected a mapping, got a list"));
}

// yaml-cpp 0.7's LoadAll loops forever on these (jbeder/yaml-cpp#1319); the loader must not.
TEST(PolicyLoaderTest, InputsThatHangYamlCppLoadAllFailCleanly) {
  EXPECT_FALSE(ParsePolicyDocuments(",\n", "p.yaml").ok());
  EXPECT_FALSE(ParsePolicyDocuments("{\n \"a\": 1,\n \"b\": {c\": \"d\"\n }\n}\n", "p.yaml").ok());
}

TEST(PolicyLoaderTest, DeepNestingIsCapped) {
  std::string deep = "a: ";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  EXPECT_THAT(LoadError(deep).message(), HasSubstr("nesting deeper than"));
}

TEST(PolicyLoaderTest, AliasExpansionIsCapped) {
  // "Billion laughs": 10^9 nodes after alias expansion.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    text += absl::StrCat("a", i, ": &a", i, " [");
    for (int k = 0; k < 10; ++k) text += absl::StrCat(k ? ", " : "", "*a", i - 1);
    text += "]\n";
  }
  EXPECT_THAT(LoadError(text).message(), HasSubstr("YAML nodes (after aliases)"));
}

TEST(PolicyLoaderTest, CanonicalBytesIgnoreFormattingAndOrder) {
  auto a = ParsePolicyDocuments(ValidPolicy(), "a");
  ASSERT_TRUE(a.ok());
  // Same documents, different order, comments and key order.
  const std::string text = ValidPolicy();
  const size_t first = text.find("---");
  std::string reordered =
      absl::StrCat("# comment\n", text.substr(first + 4), "---\n", text.substr(0, first));
  reordered =
      absl::StrReplaceAll(reordered, {{"metadata:\n  name: prod\n", "metadata: {name: prod}\n"}});
  auto b = ParsePolicyDocuments(reordered, "b");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(CanonicalBytes(*a), CanonicalBytes(*b));
  EXPECT_EQ(PolicyVersionId(*a), PolicyVersionId(*b));
  EXPECT_THAT(PolicyVersionId(*a), ::testing::MatchesRegex("prod@sha256:[0-9a-f]{16}"));
  // A semantic change changes the id.
  auto c = ParsePolicyDocuments(
      absl::StrReplaceAll(ValidPolicy(), {{"console=ttyS0", "console=ttyS1"}}), "c");
  ASSERT_TRUE(c.ok());
  EXPECT_NE(PolicyVersionId(*a), PolicyVersionId(*c));
}

TEST(PolicyLoaderTest, YamlRoundTrip) {
  auto a = ParsePolicyDocuments(ValidPolicy(), "a");
  ASSERT_TRUE(a.ok());
  const std::string yaml = SerializeYaml(*a);
  auto b = ParsePolicyDocuments(yaml, "b");
  ASSERT_TRUE(b.ok()) << b.status() << "\n" << yaml;
  EXPECT_EQ(CanonicalBytes(*a), CanonicalBytes(*b));
  EXPECT_EQ(b->images[0].secure_boot.sbat_level, "sbat,1,2025021800\n");
}

TEST(PolicyLoaderTest, DetachedSignatureFileHoldsOneSignature) {
  PolicySignature sig{kSigAlgEd25519, "sha256:00", attest::Bytes(64, 7)};
  auto parsed = ParseDetachedSignature(SerializeSignatureYaml(sig), "p.sig");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->signature, sig.signature);
  EXPECT_THAT(ParseDetachedSignature(ValidPolicy(), "p.sig").status().message(),
              HasSubstr("exactly one PolicySignature"));
}

}  // namespace
}  // namespace bootgate::policy
