// The verifier's YAML configuration: documented defaults, strictness (unknown keys rejected with
// their path), value validation, and path resolution relative to the file.
#include "verifier/config/config.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {
namespace {

using ::testing::HasSubstr;

constexpr char kMinimal[] = R"(
tls:
  ca: ca.pem
  cert: server.pem
  key: server.key
ek_ca: ek-ca
policy: policy.yaml
ear_signing_key: ear.key
issuer:
  file: tokens.txt
)";

std::string Error(const std::string& yaml) {
  auto c = ParseConfig(yaml, "/etc/bootgate");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ConfigTest, MinimalConfigGetsTheDocumentedDefaults) {
  auto c = ParseConfig(kMinimal, "/etc/bootgate");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "127.0.0.1:7443");
  EXPECT_EQ(c->admin_listen, "127.0.0.1:7444");
  EXPECT_EQ(c->database, "/etc/bootgate/bootgate.db");
  EXPECT_EQ(c->tls.ca, "/etc/bootgate/ca.pem");
  EXPECT_EQ(c->ek_ca, "/etc/bootgate/ek-ca");
  EXPECT_EQ(c->ek_allow_list, "");
  EXPECT_EQ(c->nonce_ttl, absl::Minutes(2));
  EXPECT_EQ(c->enrollment_ttl, absl::Minutes(5));
  EXPECT_EQ(c->pcr_selection_spec, "sha256:0-9,11,14");
  EXPECT_EQ(attest::SelectedPcrCount(c->pcr_selection), 12u);
  EXPECT_EQ(c->token_ttl, absl::Hours(1));
  EXPECT_EQ(c->issuer.file, "/etc/bootgate/tokens.txt");
  EXPECT_EQ(c->issuer.timeout, absl::Seconds(30));
  EXPECT_EQ(c->verifier_id, "bootgate-verifier");
  EXPECT_EQ(c->log_format, "text");
  EXPECT_EQ(c->limits.max_message_bytes, 8u << 20);
  EXPECT_EQ(c->limits.max_event_log_bytes, 2u << 20);
  EXPECT_EQ(c->limits.max_ima_log_bytes, 4u << 20);
}

TEST(ConfigTest, EveryKeyCanBeSet) {
  auto c = ParseConfig(std::string(kMinimal) + R"(
listen: 0.0.0.0:9443
admin_listen: 127.0.0.1:0
database: /var/lib/bootgate/db.sqlite
ek_allow_list: allow.txt
nonce_ttl: 30s
enrollment_ttl: 10m
pcr_selection: sha256:0-7+sha1:0-7
token_ttl: 24h
verifier_id: verifier-eu-1
log_format: json
limits:
  max_message_bytes: 1048576
  max_event_log_bytes: 65536
  max_ima_log_bytes: 65536
admin_client:
  cert: admin.pem
  key: admin.key
)",
                       "/etc/bootgate");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->listen, "0.0.0.0:9443");
  EXPECT_EQ(c->database, "/var/lib/bootgate/db.sqlite");
  EXPECT_EQ(c->ek_allow_list, "/etc/bootgate/allow.txt");
  EXPECT_EQ(c->nonce_ttl, absl::Seconds(30));
  EXPECT_EQ(c->pcr_selection.size(), 2u);
  EXPECT_EQ(c->token_ttl, absl::Hours(24));
  EXPECT_EQ(c->log_format, "json");
  EXPECT_EQ(c->limits.max_event_log_bytes, 65536u);
  EXPECT_EQ(c->admin_client.key, "/etc/bootgate/admin.key");
}

TEST(ConfigTest, UnknownKeysAreRejectedWithTheirPath) {
  EXPECT_THAT(Error(std::string(kMinimal) + "listen_port: 1\n"),
              HasSubstr("unknown configuration key 'listen_port'"));
  EXPECT_THAT(Error(R"(
tls:
  ca: a
  cert: b
  key: c
  client_auth: true
)"),
              HasSubstr("unknown configuration key 'tls.client_auth'"));
  EXPECT_THAT(Error(std::string(kMinimal) + "limits:\n  max_events: 3\n"),
              HasSubstr("'limits.max_events'"));
}

TEST(ConfigTest, InvalidValuesAreRejected) {
  EXPECT_THAT(Error(std::string(kMinimal) + "nonce_ttl: soon\n"),
              HasSubstr("nonce_ttl: 'soon' is not a positive duration"));
  EXPECT_THAT(Error(std::string(kMinimal) + "nonce_ttl: 2h\n"), HasSubstr("at most 1h"));
  EXPECT_THAT(Error(std::string(kMinimal) + "log_format: xml\n"), HasSubstr("log_format"));
  EXPECT_THAT(Error(std::string(kMinimal) + "pcr_selection: sha256:0-99\n"),
              HasSubstr("pcr_selection"));
  EXPECT_THAT(Error(std::string(kMinimal) + "listen: localhost\n"), HasSubstr("HOST:PORT"));
  EXPECT_THAT(Error(std::string(kMinimal) + "listen: 127.0.0.1:7444\n"), HasSubstr("must differ"));
  EXPECT_THAT(Error(std::string(kMinimal) + "limits:\n  max_message_bytes: lots\n"),
              HasSubstr("max_message_bytes"));
  EXPECT_THAT(Error(std::string(kMinimal) + "tls: [1, 2]\n"), HasSubstr("given twice"));
  EXPECT_THAT(Error("tls:\n  ca: a\n  cert: b\n  key: c\n"),
              HasSubstr("missing configuration key"));
  EXPECT_THAT(Error("listen: [unterminated\n"), HasSubstr("configuration"));
  EXPECT_THAT(Error(""), HasSubstr("empty"));
}

TEST(ConfigTest, GoldenImagePoliciesComeFromADirectoryWithTrustedKeys) {
  std::string golden = std::string(kMinimal);
  golden.replace(golden.find("policy: policy.yaml"), 19,
                 "policy_dir: policies\npolicy_keys: [keys/a.pub, /etc/keys/b.pub]\n"
                 "policy_reload_interval: 0s");
  auto c = ParseConfig(golden, "/etc/bootgate");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->policy, "");
  EXPECT_EQ(c->policy_dir, "/etc/bootgate/policies");
  EXPECT_EQ(c->policy_keys,
            (std::vector<std::string>{"/etc/bootgate/keys/a.pub", "/etc/keys/b.pub"}));
  EXPECT_EQ(c->policy_reload_interval, absl::ZeroDuration());
  EXPECT_EQ(ParseConfig(kMinimal, "/etc")->policy_reload_interval, absl::Seconds(5));

  EXPECT_THAT(Error(std::string(kMinimal) + "policy_dir: policies\n"), HasSubstr("exactly one"));
  std::string neither = std::string(kMinimal);
  neither.replace(neither.find("policy: policy.yaml"), 19, "");
  EXPECT_THAT(Error(neither), HasSubstr("exactly one of 'policy: FILE'"));
  EXPECT_THAT(Error(std::string(kMinimal) + "policy_keys: k.pub\n"),
              HasSubstr("only golden-image policies"));
  EXPECT_THAT(Error(std::string(kMinimal) + "policy_reload_interval: often\n"),
              HasSubstr("policy_reload_interval"));
  EXPECT_THAT(Error(std::string(kMinimal) + "policy_keys: {a: 1}\n"), HasSubstr("expected a list"));
}

TEST(ConfigTest, IssuerIsExactlyOneOfFileAndExec) {
  std::string both = std::string(kMinimal) + "";
  both.replace(both.find("  file: tokens.txt"), 18,
               "  file: t\n  exec: \"kubeadm token create {token}\"");
  EXPECT_THAT(Error(both), HasSubstr("exactly one"));
  std::string exec = std::string(kMinimal);
  exec.replace(exec.find("  file: tokens.txt"), 18,
               "  exec: \"kubeadm token create {token} --ttl {ttl}\"\n  timeout: 5s");
  auto c = ParseConfig(exec, "/etc/bootgate");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->issuer.timeout, absl::Seconds(5));
  std::string bad = std::string(kMinimal);
  bad.replace(bad.find("  file: tokens.txt"), 18, "  exec: \"kubeadm {secret}\"");
  EXPECT_THAT(Error(bad), HasSubstr("unknown placeholder '{secret}'"));
}

TEST(ConfigTest, InitConfigurationLoadsFromItsDirectory) {
  const std::string dir = testing::MakeTempDir("config");
  ASSERT_TRUE(WriteNewFile(dir + "/verifier.yaml", DevConfigYaml("ek-ca")).ok());
  auto c = LoadConfigFile(dir);  // a directory means DIR/verifier.yaml
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->path, dir + "/verifier.yaml");
  EXPECT_EQ(c->tls.cert, dir + "/server.pem");
  EXPECT_EQ(c->admin_client.cert, dir + "/admin.pem");
  EXPECT_EQ(c->issuer.file, dir + "/tokens.txt");
  auto missing = LoadConfigFile(dir + "/nope.yaml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bootgate::verifier
