// Token issuers: command-template splitting into argv (no shell), placeholder substitution per
// argument, exec through fork/execvp (exit status, output, timeout, the token never echoed), and
// the file issuer.
#include "verifier/tokens/issuer.h"

#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Split(const std::string& t) {
  auto r = SplitCommandTemplate(t);
  EXPECT_TRUE(r.ok()) << t << ": " << r.status();
  return r.ok() ? *r : std::vector<std::string>{};
}

TEST(CommandTemplateTest, SplitsLikeAShellWithoutBeingOne) {
  EXPECT_THAT(Split("kubeadm token create {token} --ttl {ttl}"),
              ElementsAre("kubeadm", "token", "create", "{token}", "--ttl", "{ttl}"));
  EXPECT_THAT(Split("  a   b\tc  "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(Split("cmd 'two words' \"and \\\"more\\\"\" x\\ y"),
              ElementsAre("cmd", "two words", "and \"more\"", "x y"));
  EXPECT_THAT(Split("cmd --label=node={node} ''"), ElementsAre("cmd", "--label=node={node}", ""));
  EXPECT_THAT(Split("echo $(rm -rf /) ; | &&"),
              ElementsAre("echo", "$(rm", "-rf", "/)", ";", "|", "&&"))
      << "shell syntax is just text";
}

TEST(CommandTemplateTest, Errors) {
  EXPECT_THAT(std::string(SplitCommandTemplate("cmd 'open").status().message()),
              HasSubstr("unterminated '"));
  EXPECT_THAT(std::string(SplitCommandTemplate("cmd \"open").status().message()),
              HasSubstr("unterminated \""));
  EXPECT_FALSE(SplitCommandTemplate("cmd \\").ok());
  EXPECT_FALSE(SplitCommandTemplate("   ").ok());
  EXPECT_THAT(std::string(SplitCommandTemplate("cmd {tokn}").status().message()),
              HasSubstr("unknown placeholder '{tokn}'"));
}

TEST(CommandTemplateTest, ValuesNeverBecomeNewArguments) {
  IssueRequest r{"abcdef.0123456789abcdef", absl::Minutes(90), "node-1 --evil", absl::Now()};
  EXPECT_THAT(ExpandCommand(Split("k create {token} --ttl {ttl} --node={node}"), r),
              ElementsAre("k", "create", "abcdef.0123456789abcdef", "--ttl", "1h30m",
                          "--node=node-1 --evil"));
  EXPECT_EQ(GoDuration(absl::Hours(24)), "24h");
  EXPECT_EQ(GoDuration(absl::Seconds(90)), "1m30s");
}

class ExecIssuerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("issuer"); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  IssueRequest Request() {
    return IssueRequest{"abcdef.0123456789abcdef", absl::Hours(1), "node-7",
                        absl::FromUnixSeconds(1790000000)};
  }
  std::string dir_;
};

TEST_F(ExecIssuerTest, RunsTheCommandWithSubstitutedArguments) {
  auto issuer = ExecIssuer::Create(
      "sh -c 'printf \"%s|%s|%s\" \"$0\" \"$1\" \"$2\" > " + dir_ + "/out' {token} {ttl} {node}",
      absl::Seconds(10));
  ASSERT_TRUE(issuer.ok());
  EXPECT_EQ((*issuer)->Describe(), "exec:sh");
  ASSERT_TRUE((*issuer)->Publish(Request()).ok());
  EXPECT_EQ(ReadFile(dir_ + "/out").value(), "abcdef.0123456789abcdef|1h|node-7");
}

TEST_F(ExecIssuerTest, AFailingCommandIsAnErrorWithItsOutputButNotTheToken) {
  auto issuer = ExecIssuer::Create("sh -c 'echo \"cannot create $0\" >&2; exit 3' {token}",
                                   absl::Seconds(10));
  ASSERT_TRUE(issuer.ok());
  absl::Status s = (*issuer)->Publish(Request());
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("exited with 3"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("cannot create <token>"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("0123456789abcdef")));
}

TEST_F(ExecIssuerTest, AMissingProgramIsAnError) {
  auto issuer = ExecIssuer::Create("/nonexistent/kubeadm token create {token}", absl::Seconds(10));
  ASSERT_TRUE(issuer.ok());
  absl::Status s = (*issuer)->Publish(Request());
  EXPECT_THAT(std::string(s.message()), HasSubstr("exited with 127"));
}

TEST_F(ExecIssuerTest, AHangingCommandIsKilledAtTheTimeout) {
  auto issuer = ExecIssuer::Create("sleep 30", absl::Milliseconds(300));
  ASSERT_TRUE(issuer.ok());
  const absl::Time start = absl::Now();
  absl::Status s = (*issuer)->Publish(Request());
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(ExecIssuerTest, FileIssuerAppendsPrivately) {
  FileIssuer issuer(dir_ + "/tokens.txt");
  ASSERT_TRUE(issuer.Publish(Request()).ok());
  IssueRequest second = Request();
  second.token = "ghijkl.0123456789abcdef";
  ASSERT_TRUE(issuer.Publish(second).ok());
  EXPECT_EQ(ReadFile(dir_ + "/tokens.txt").value(),
            "abcdef.0123456789abcdef node-7 2026-09-21T14:13:20Z\n"
            "ghijkl.0123456789abcdef node-7 2026-09-21T14:13:20Z\n");
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/tokens.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  FileIssuer broken(dir_ + "/missing-dir/tokens.txt");
  EXPECT_FALSE(broken.Publish(Request()).ok());
}

}  // namespace
}  // namespace bootgate::verifier
