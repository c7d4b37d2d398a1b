// ActivePolicy and the policy directory: a reload activates a valid new policy, a broken one
// keeps the previous policy active and is reported, and PutPolicy validates the whole resulting
// set before writing anything.
#include "verifier/appraise/active_policy.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/appraise/pcr_policy.h"
#include "verifier/appraise/policy_files.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kZeros(64, '0');
const std::string kOnes(64, '1');

std::string PcrPolicy(const std::string& id, const std::string& pcr0) {
  return "id: " + id + "\npcrs:\n  sha256:\n    0: " + pcr0 + "\n";
}

// A loader over one PCR-value policy file, as the verifier builds it.
struct FilePolicy {
  explicit FilePolicy(const std::string& path) : path(path) {}
  ActivePolicy::Loader Loader() const {
    const std::string p = path;
    return [p]() -> absl::StatusOr<std::shared_ptr<const Policy>> {
      auto policy = PcrValuePolicy::LoadFile(p);
      if (!policy.ok()) return policy.status();
      return std::shared_ptr<const Policy>(*std::move(policy));
    };
  }
  ActivePolicy::Fingerprint Fingerprint() const {
    const std::string p = path;
    return [p]() { return FingerprintFile(p); };
  }
  std::string path;
};

class ActivePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("active-policy"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  testing::FakeClock clock_{absl::FromUnixSeconds(1790000000)};
  Logger logger_{LogFormat::kText, stderr, &clock_};
};

TEST_F(ActivePolicyTest, AValidChangeIsActivatedAndABrokenOneKeepsThePreviousPolicy) {
  const std::string path = dir_ + "/policy.yaml";
  ASSERT_TRUE(WriteFileAtomic(path, PcrPolicy("first", kZeros)).ok());
  FilePolicy file(path);
  auto active = ActivePolicy::Create(file.Loader(), file.Fingerprint(), &clock_, &logger_);
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_THAT((*active)->Get()->id(), StartsWith("first@"));

  // Unchanged: no reload.
  EXPECT_TRUE((*active)->ReloadIfChanged().ok());

  ASSERT_TRUE(WriteFileAtomic(path, PcrPolicy("second", kOnes)).ok());
  EXPECT_TRUE((*active)->ReloadIfChanged().ok());
  EXPECT_THAT((*active)->Get()->id(), StartsWith("second@"));
  EXPECT_EQ((*active)->last_reload_error(), "");

  // A snapshot taken before a reload stays valid and unchanged.
  const std::shared_ptr<const Policy> snapshot = (*active)->Get();
  ASSERT_TRUE(WriteFileAtomic(path, "id: broken\npcrs:\n  sha256:\n    0: xyz\n").ok());
  absl::Status s = (*active)->ReloadIfChanged();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT((*active)->Get()->id(), StartsWith("second@")) << "the old policy stays active";
  EXPECT_THAT((*active)->last_reload_error(), HasSubstr("xyz"));
  EXPECT_EQ(snapshot->id(), (*active)->Get()->id());
  // The same broken content is not retried (and not logged) at every poll.
  EXPECT_TRUE((*active)->ReloadIfChanged().ok());

  // Fixed again: the error clears.
  ASSERT_TRUE(WriteFileAtomic(path, PcrPolicy("third", kZeros)).ok());
  EXPECT_TRUE((*active)->ReloadIfChanged().ok());
  EXPECT_THAT((*active)->Get()->id(), StartsWith("third@"));
  EXPECT_EQ((*active)->last_reload_error(), "");
}

TEST_F(ActivePolicyTest, AMissingFileKeepsThePolicyAndIsReported) {
  const std::string path = dir_ + "/policy.yaml";
  ASSERT_TRUE(WriteFileAtomic(path, PcrPolicy("first", kZeros)).ok());
  FilePolicy file(path);
  auto active = ActivePolicy::Create(file.Loader(), file.Fingerprint(), &clock_, &logger_);
  ASSERT_TRUE(active.ok());
  std::filesystem::remove(path);
  EXPECT_FALSE((*active)->ReloadIfChanged().ok());
  EXPECT_THAT((*active)->Get()->id(), StartsWith("first@"));
  EXPECT_THAT((*active)->last_reload_error(), HasSubstr("policy.yaml"));
}

TEST_F(ActivePolicyTest, TheFirstLoadMustSucceed) {
  FilePolicy file(dir_ + "/absent.yaml");
  auto active = ActivePolicy::Create(file.Loader(), file.Fingerprint(), &clock_, &logger_);
  EXPECT_FALSE(active.ok());
}

TEST_F(ActivePolicyTest, TheWatcherPicksUpAChange) {
  const std::string path = dir_ + "/policy.yaml";
  ASSERT_TRUE(WriteFileAtomic(path, PcrPolicy("first", kZeros)).ok());
  FilePolicy file(path);
  auto active = ActivePolicy::Create(file.Loader(), file.Fingerprint(), &clock_, &logger_);
  ASSERT_TRUE(active.ok());
  (*active)->StartWatching(absl::Milliseconds(20));
  ASSERT_TRUE(WriteFileAtomic(path, PcrPolicy("watched", kOnes)).ok());
  // Polls for the outcome (no timing assertion: up to 10 s on a loaded machine).
  for (int i = 0; i < 500 && !absl::StartsWith((*active)->Get()->id(), "watched@"); ++i) {
    usleep(20000);
  }
  EXPECT_THAT((*active)->Get()->id(), StartsWith("watched@"));
}

// --- Policy directories

TEST(PolicyFilesTest, NamesAndDirectoryReading) {
  EXPECT_TRUE(IsPolicyFileName("debian-12.yaml"));
  EXPECT_TRUE(IsPolicyFileName("fleet.json"));
  EXPECT_FALSE(IsPolicyFileName("fleet.yaml.sig"));
  EXPECT_FALSE(IsPolicyFileName(".hidden.yaml"));
  EXPECT_FALSE(IsPolicyFileName("../escape.yaml"));
  EXPECT_FALSE(IsPolicyFileName("a b.yaml"));

  const std::string dir = testing::MakeTempDir("policy-dir");
  EXPECT_THAT(std::string(ReadPolicyDirectory(dir).status().message()),
              HasSubstr("holds no policy file"));
  ASSERT_TRUE(WriteFileAtomic(dir + "/b.yaml", "b").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/a.yaml", "a").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/a.yaml.sig", "sig-a").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/README", "ignored").ok());
  auto files = ReadPolicyDirectory(dir);
  ASSERT_TRUE(files.ok()) << files.status();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "a.yaml");
  EXPECT_EQ((*files)[0].signature, "sig-a");
  EXPECT_EQ((*files)[1].name, "b.yaml");
  EXPECT_EQ((*files)[1].signature, "");

  // The fingerprint covers contents and signatures.
  const std::string before = FingerprintPolicyFiles(*files);
  (*files)[0].signature = "sig-b";
  EXPECT_NE(FingerprintPolicyFiles(*files), before);
  std::filesystem::remove_all(dir);
}

TEST_F(ActivePolicyTest, PutValidatesTheWholeSetBeforeWritingAnything) {
  // A "set" of PCR-value policies where every file must parse: the directory mechanics do not
  // depend on the policy kind.
  const std::string dir = dir_ + "/policies";
  std::filesystem::create_directory(dir);
  ASSERT_TRUE(WriteFileAtomic(dir + "/base.yaml", PcrPolicy("base", kZeros)).ok());
  PolicySetBuilder build =
      [](const std::vector<PolicyFile>& files) -> absl::StatusOr<std::shared_ptr<const Policy>> {
    std::shared_ptr<const Policy> last;
    for (const PolicyFile& f : files) {
      auto p = PcrValuePolicy::Parse(f.content, f.name);
      if (!p.ok()) return p.status();
      last = *std::move(p);
    }
    return last;
  };
  const std::string d = dir;
  auto active = ActivePolicy::Create(
      [d, build]() -> absl::StatusOr<std::shared_ptr<const Policy>> {
        auto files = ReadPolicyDirectory(d);
        if (!files.ok()) return files.status();
        return build(*files);
      },
      [d]() -> absl::StatusOr<std::string> {
        auto files = ReadPolicyDirectory(d);
        if (!files.ok()) return files.status();
        return FingerprintPolicyFiles(*files);
      },
      &clock_, &logger_);
  ASSERT_TRUE(active.ok()) << active.status();
  PolicyDirectory directory(dir, build, active->get());

  absl::Status refused = directory.Put({"zz-new.yaml", "id: bad\npcrs: {}\n", ""});
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(refused.message()), HasSubstr("zz-new.yaml does not load"));
  EXPECT_FALSE(PathExists(dir + "/zz-new.yaml")) << "nothing is written for a refused set";
  EXPECT_THAT((*active)->Get()->id(), StartsWith("base@"));

  EXPECT_EQ(directory.Put({"../evil.yaml", PcrPolicy("x", kZeros), ""}).code(),
            absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(directory.Put({"zz-new.yaml", PcrPolicy("newest", kOnes), "sig"}).ok());
  EXPECT_TRUE(PathExists(dir + "/zz-new.yaml"));
  EXPECT_EQ(ReadFile(dir + "/zz-new.yaml.sig").value(), "sig");
  EXPECT_THAT((*active)->Get()->id(), StartsWith("newest@"));
}

}  // namespace
}  // namespace bootgate::verifier
