// Configuration of node states, notifications and metrics (docs/verifier.md): defaults, every
// key, and one test per rejection reason. Plus the pure pieces of the notification path: URL
// parsing, the HMAC header, the retry schedule and the exec hook's placeholders.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "verifier/config/config.h"
#include "verifier/notify/notifier.h"
#include "verifier/notify/sinks.h"
#include "verifier/util/subprocess.h"

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

std::string Error(const std::string& more) {
  auto c = ParseConfig(std::string(kMinimal) + more, "/etc/bootgate");
  EXPECT_FALSE(c.ok()) << more;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(WatchConfigTest, Defaults) {
  auto c = ParseConfig(kMinimal, "/etc/bootgate");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->nodes.attestation_deadline, absl::Hours(1));
  EXPECT_EQ(c->nodes.check_interval, absl::Seconds(30));
  EXPECT_EQ(c->notifications.webhook_url, "");
  EXPECT_EQ(c->notifications.webhook_timeout, absl::Seconds(10));
  EXPECT_EQ(c->notifications.exec, "");
  EXPECT_EQ(c->notifications.exec_timeout, absl::Seconds(30));
  EXPECT_EQ(c->notifications.retry_initial, absl::Seconds(5));
  EXPECT_EQ(c->notifications.retry_max, absl::Minutes(10));
  EXPECT_EQ(c->notifications.poll_interval, absl::Seconds(1));
  EXPECT_EQ(c->metrics.listen, "");
}

TEST(WatchConfigTest, EveryKeyCanBeSet) {
  auto c = ParseConfig(std::string(kMinimal) + R"(
nodes:
  attestation_deadline: 15m
  check_interval: 10s
notifications:
  webhook:
    url: http://127.0.0.1:9000/bootgate
    secret_file: webhook.secret
    timeout: 3s
  exec:
    command: "kubectl cordon {node}"
    timeout: 20s
  retry_initial: 2s
  retry_max: 1h
  poll_interval: 500ms
metrics:
  listen: 127.0.0.1:9464
)",
                       "/etc/bootgate");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->nodes.attestation_deadline, absl::Minutes(15));
  EXPECT_EQ(c->nodes.check_interval, absl::Seconds(10));
  EXPECT_EQ(c->notifications.webhook_url, "http://127.0.0.1:9000/bootgate");
  EXPECT_EQ(c->notifications.webhook_secret_file, "/etc/bootgate/webhook.secret");
  EXPECT_EQ(c->notifications.webhook_timeout, absl::Seconds(3));
  EXPECT_EQ(c->notifications.exec, "kubectl cordon {node}");
  EXPECT_EQ(c->notifications.exec_timeout, absl::Seconds(20));
  EXPECT_EQ(c->notifications.retry_initial, absl::Seconds(2));
  EXPECT_EQ(c->notifications.retry_max, absl::Hours(1));
  EXPECT_EQ(c->notifications.poll_interval, absl::Milliseconds(500));
  EXPECT_EQ(c->metrics.listen, "127.0.0.1:9464");
}

TEST(WatchConfigTest, UnknownKeyIsRejected) {
  EXPECT_THAT(Error("notifications:\n  slack: x\n"),
              HasSubstr("unknown configuration key 'notifications.slack'"));
  EXPECT_THAT(Error("nodes:\n  deadline: 1h\n"),
              HasSubstr("unknown configuration key 'nodes.deadline'"));
  EXPECT_THAT(Error("metrics:\n  port: 1\n"), HasSubstr("'metrics.port'"));
}

TEST(WatchConfigTest, NonPositiveDeadlineIsRejected) {
  EXPECT_THAT(Error("nodes:\n  attestation_deadline: 0s\n"),
              HasSubstr("nodes.attestation_deadline"));
}

TEST(WatchConfigTest, WebhookWithoutSecretIsRejected) {
  EXPECT_THAT(Error("notifications:\n  webhook:\n    url: http://127.0.0.1:9/x\n"),
              HasSubstr("secret_file: required"));
}

TEST(WatchConfigTest, SecretWithoutWebhookIsRejected) {
  EXPECT_THAT(Error("notifications:\n  webhook:\n    secret_file: s\n"),
              HasSubstr("set without notifications.webhook.url"));
}

TEST(WatchConfigTest, HttpsWebhookIsRejected) {
  EXPECT_THAT(Error("notifications:\n  webhook:\n    url: https://example.com/x\n    "
                    "secret_file: s\n"),
              HasSubstr("https is not supported"));
}

TEST(WatchConfigTest, MalformedWebhookUrlIsRejected) {
  EXPECT_THAT(Error("notifications:\n  webhook:\n    url: ftp://x/\n    secret_file: s\n"),
              HasSubstr("not an http:// URL"));
  EXPECT_THAT(Error("notifications:\n  webhook:\n    url: http://x:99999/\n    secret_file: s\n"),
              HasSubstr("bad port"));
}

TEST(WatchConfigTest, ExecHookWithUnknownPlaceholderIsRejected) {
  EXPECT_THAT(Error("notifications:\n  exec:\n    command: \"cordon {token}\"\n"),
              HasSubstr("unknown placeholder '{token}'"));
}

TEST(WatchConfigTest, ExecHookWithUnterminatedQuoteIsRejected) {
  EXPECT_THAT(Error("notifications:\n  exec:\n    command: \"cordon '{node}\"\n"),
              HasSubstr("unterminated '"));
}

TEST(WatchConfigTest, RetryMaxShorterThanInitialIsRejected) {
  EXPECT_THAT(Error("notifications:\n  retry_initial: 1m\n  retry_max: 10s\n"),
              HasSubstr("retry_max"));
}

TEST(WatchConfigTest, NonLoopbackMetricsAddressIsRejected) {
  EXPECT_THAT(Error("metrics:\n  listen: 0.0.0.0:9464\n"), HasSubstr("not a loopback address"));
}

TEST(WatchConfigTest, MalformedMetricsAddressIsRejected) {
  EXPECT_THAT(Error("metrics:\n  listen: 9464\n"), HasSubstr("metrics.listen"));
}

TEST(HttpUrlTest, Parses) {
  auto u = ParseHttpUrl("http://127.0.0.1:8080/a/b?c=d");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/a/b?c=d");
  auto v6 = ParseHttpUrl("http://[::1]:9/");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  auto bare = ParseHttpUrl("http://receiver");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->path, "/");
}

TEST(HttpUrlTest, UserInfoIsRejected) { EXPECT_FALSE(ParseHttpUrl("http://user:pw@host/").ok()); }

TEST(HttpUrlTest, SpaceInPathIsRejected) { EXPECT_FALSE(ParseHttpUrl("http://host/a b").ok()); }

TEST(SignatureTest, IsHmacSha256OfTheBody) {
  // RFC 4231 test case 2.
  auto sig = SignatureHeaderValue("Jefe", "what do ya want for nothing?");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(*sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RetryDelayTest, DoublesUpToTheCap) {
  NotifierOptions o;
  o.retry_initial = absl::Seconds(5);
  o.retry_max = absl::Seconds(60);
  EXPECT_EQ(RetryDelay(o, 1), absl::Seconds(5));
  EXPECT_EQ(RetryDelay(o, 2), absl::Seconds(10));
  EXPECT_EQ(RetryDelay(o, 3), absl::Seconds(20));
  EXPECT_EQ(RetryDelay(o, 4), absl::Seconds(40));
  EXPECT_EQ(RetryDelay(o, 5), absl::Seconds(60));
  EXPECT_EQ(RetryDelay(o, 1000), absl::Seconds(60));
}

TEST(ExecHookTest, SinkRejectsUnknownPlaceholder) {
  EXPECT_FALSE(ExecHookSink::Create("kubectl cordon {hostname}", absl::Seconds(1)).ok());
}

TEST(ExecHookTest, MalformedPayloadIsNotDelivered) {
  auto sink = ExecHookSink::Create("true {node}", absl::Seconds(5));
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->Deliver("evt-1", "not json").code(), absl::StatusCode::kDataLoss);
}

TEST(ExecHookTest, NonZeroExitIsAFailure) {
  auto sink = ExecHookSink::Create("false {node}", absl::Seconds(5));
  ASSERT_TRUE(sink.ok());
  absl::Status s = (*sink)->Deliver("evt-1", R"({"node":"node-1"})");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("exited with 1"));
}

TEST(ExecHookTest, TimeoutIsAFailure) {
  auto sink = ExecHookSink::Create("sleep 5 {node}", absl::Milliseconds(100));
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->Deliver("evt-1", R"({"node":"1"})").code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST(ExecHookTest, ValuesNeverBecomeNewArguments) {
  auto sink = ExecHookSink::Create("/bin/sh -c 'test $# -eq 1' hook {node}", absl::Seconds(5));
  ASSERT_TRUE(sink.ok());
  EXPECT_TRUE((*sink)->Deliver("evt-1", R"({"node":"a b; rm -rf /"})").ok());
}

}  // namespace
}  // namespace bootgate::verifier
