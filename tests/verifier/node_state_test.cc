// Node states, notifications and metrics against the real verifier (gRPC/TLS on free ports, the
// fake clock) and a real HTTP receiver on loopback written here: a node whose boot changes
// becomes untrusted and the webhook fires with the reason and a valid HMAC; a silent node becomes
// stale; a revoked node gets no token; webhook delivery survives a receiver outage (refused,
// HTTP error, no answer) and a verifier restart; the exec hook runs with its argv substituted;
// the metrics endpoint is scraped and parsed. Waiting is by polling a condition (never by
// asserting on elapsed time); retry backoff is driven by advancing the fake clock.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "attest/eventlog/event_log.h"
#include "attest/util/bytes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/notify/sinks.h"
#include "verifier/util/files.h"

namespace bootgate::testing {
namespace {

namespace v1 = ::bootgate::v1;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kSecret[] = "0123456789abcdef-webhook-secret";

// Polls `done` until it holds or a generous cap passes; the result is what the test asserts.
bool Eventually(const std::function<bool()>& done, absl::Duration cap = absl::Seconds(20)) {
  const absl::Time end = absl::Now() + cap;
  while (absl::Now() < end) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return done();
}

// A minimal HTTP/1.1 server on 127.0.0.1 that records every request and answers with a
// configurable status, or not at all ("hang").
class Receiver {
 public:
  struct Request {
    std::string method, path, body;
    std::map<std::string, std::string> headers;  // lower-case names
  };

  ~Receiver() { Stop(); }

  // Listens on `port` (0 = a free one).
  bool Start(int port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || listen(fd_, 16) != 0) {
      close(fd_);
      fd_ = -1;
      return false;
    }
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (pipe2(stop_pipe_, O_CLOEXEC) != 0) return false;
    thread_ = std::thread([this] { Run(); });
    return true;
  }

  void Stop() {
    if (thread_.joinable()) {
      (void)!write(stop_pipe_[1], "x", 1);
      thread_.join();
    }
    for (int* f : {&fd_, &stop_pipe_[0], &stop_pipe_[1]}) {
      if (*f >= 0) close(*f);
      *f = -1;
    }
  }

  int port() const { return port_; }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/hook"); }
  void set_status(int status) { status_ = status; }
  void set_hang(bool hang) { hang_ = hang; }
  // Answers with these bytes instead of an HTTP response ("" = a normal response).
  void set_raw_answer(const std::string& raw) {
    absl::MutexLock lock(&mu_);
    raw_answer_ = raw;
  }

  std::vector<Request> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  // The event JSON of every answered-2xx request.
  std::vector<nlohmann::json> delivered() {
    absl::MutexLock lock(&mu_);
    return delivered_;
  }
  std::vector<nlohmann::json> DeliveredFor(const std::string& node) {
    std::vector<nlohmann::json> out;
    for (const nlohmann::json& e : delivered()) {
      if (e.value("node", "") == node) out.push_back(e);
    }
    return out;
  }

 private:
  void Run() {
    while (true) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (poll(p, 2, -1) < 0) continue;
      if (p[1].revents & POLLIN) return;
      const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      Handle(c);
      close(c);
    }
  }

  void Handle(int c) {
    std::string data;
    size_t body_at = std::string::npos, length = 0;
    while (true) {
      pollfd p[2] = {{c, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      if (poll(p, 2, 5000) <= 0 || (p[1].revents & POLLIN)) return;
      char buf[4096];
      const ssize_t n = recv(c, buf, sizeof(buf), 0);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
      if (body_at == std::string::npos) {
        const size_t end = data.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        body_at = end + 4;
        for (absl::string_view line : absl::StrSplit(data.substr(0, end), "\r\n")) {
          if (absl::StartsWithIgnoreCase(line, "content-length:")) {
            (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(15)), &length);
          }
        }
      }
      if (data.size() >= body_at + length) break;
    }
    Request r;
    std::vector<std::string> lines = absl::StrSplit(data.substr(0, body_at - 4), "\r\n");
    std::vector<std::string> first = absl::StrSplit(lines[0], ' ');
    r.method = first.size() > 0 ? first[0] : "";
    r.path = first.size() > 1 ? first[1] : "";
    for (size_t i = 1; i < lines.size(); ++i) {
      const size_t colon = lines[i].find(':');
      if (colon == std::string::npos) continue;
      r.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
          std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
    }
    r.body = data.substr(body_at, length);
    const int status = status_.load();
    std::string raw;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(r);
      raw = raw_answer_;
      if (!hang_ && raw.empty() && status >= 200 && status < 300) {
        delivered_.push_back(nlohmann::json::parse(r.body, nullptr, false));
      }
    }
    if (!raw.empty()) {
      (void)!send(c, raw.data(), raw.size(), MSG_NOSIGNAL);
      return;
    }
    if (hang_) {
      // Never answers: wait until the client gives up (closes) or the receiver stops.
      pollfd p[2] = {{c, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      poll(p, 2, 10000);
      return;
    }
    const std::string resp = absl::StrCat("HTTP/1.1 ", status, " X\r\nContent-Length: 2\r\n",
                                          "Connection: close\r\n\r\nok");
    (void)!send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  int port_ = 0;
  int stop_pipe_[2] = {-1, -1};
  std::atomic<int> status_{200};
  std::atomic<bool> hang_{false};
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<Request> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<nlohmann::json> delivered_ ABSL_GUARDED_BY(mu_);
  std::string raw_answer_ ABSL_GUARDED_BY(mu_);
};

std::string Hmac(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  return "sha256=" + attest::HexEncode(attest::ByteSpan(mac, len));
}

// GET /metrics, parsed into "name{labels}" -> value.
std::map<std::string, double> Scrape(int port, std::string* raw = nullptr) {
  std::map<std::string, double> out;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return out;
  }
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
  (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) data.append(buf, static_cast<size_t>(n));
  close(fd);
  if (raw != nullptr) *raw = data;
  const size_t body = data.find("\r\n\r\n");
  if (!absl::StartsWith(data, "HTTP/1.1 200") || body == std::string::npos) return out;
  for (absl::string_view line : absl::StrSplit(data.substr(body + 4), '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    if (space == absl::string_view::npos || !absl::SimpleAtod(line.substr(space + 1), &v)) {
      out["__unparsable__"] += 1;
      continue;
    }
    out[std::string(line.substr(0, space))] = v;
  }
  return out;
}

class NodeStateTest : public ::testing::Test {
 protected:
  // A receiver on a free port, and a verifier whose webhook points at it.
  void StartEnv(const std::string& more_config = "", bool webhook = true) {
    ASSERT_TRUE(receiver_.Start());
    EnvOptions options;
    options.files = {{"webhook.secret", std::string(kSecret) + "\n"}};
    options.extra_config = absl::StrCat(
        "nodes:\n  attestation_deadline: 1h\n  check_interval: 50ms\n"
        "notifications:\n",
        webhook ? absl::StrCat("  webhook:\n    url: ", receiver_.url(),
                               "\n    secret_file: webhook.secret\n    timeout: 2s\n")
                : "",
        more_config,
        "  retry_initial: 1s\n  retry_max: 1m\n  poll_interval: 20ms\n"
        "metrics:\n  listen: 127.0.0.1:0\n");
    auto env = VerifierEnv::Create(options);
    ASSERT_TRUE(env.ok()) << env.status();
    env_ = *std::move(env);
  }

  TestTpm EnrolledTpm() {
    auto tpm = env_->MakeTpm();
    EXPECT_TRUE(tpm.ok()) << tpm.status();
    if (!tpm.ok()) return TestTpm{};
    auto finish = env_->Enroll(&*tpm);
    EXPECT_TRUE(finish.ok()) << finish.status();
    return *std::move(tpm);
  }

  // Evidence with a clock that moves forward on every call (one boot).
  VerifierEnv::Evidence Good() {
    VerifierEnv::Evidence e = env_->DefaultEvidence();
    e.clock = 1000 + 100 * (++attempts_);
    return e;
  }
  // Another real boot (UKI instead of the direct kernel the policy allows).
  VerifierEnv::Evidence ChangedBoot() {
    VerifierEnv::Evidence e = Good();
    e.reset_count = 2;
    e.event_log = ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements");
    auto log = attest::ParseEventLog(e.event_log);
    EXPECT_TRUE(log.ok());
    auto replayed = attest::ReplayEventLog(*log);
    EXPECT_TRUE(replayed.ok());
    e.pcrs = attest::RestrictReplayToSelection(*replayed, env_->selection()).values;
    return e;
  }

  v1::Node Node(const std::string& id) {
    v1::GetNodeRequest req;
    req.set_node_id(id);
    v1::Node node;
    grpc::ClientContext ctx;
    grpc::Status s = env_->admin().GetNode(&ctx, req, &node);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return node;
  }
  std::string State(const std::string& id) { return Node(id).state(); }

  std::vector<verifier::OutboxEntry> Outbox() {
    auto list = env_->server()->store()->ListNotifications(1000);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *list : std::vector<verifier::OutboxEntry>{};
  }
  bool AllDelivered() {
    for (const verifier::OutboxEntry& e : Outbox()) {
      if (!e.delivered_at.has_value()) return false;
    }
    return true;
  }

  Receiver receiver_;
  std::unique_ptr<VerifierEnv> env_;
  int attempts_ = 0;
};

TEST_F(NodeStateTest, EnrolledNodeBecomesTrustedThenUntrustedWhenItsBootChanges) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  EXPECT_EQ(State(tpm.node_id), "enrolled");
  auto ok = env_->Attest(tpm, Good());
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_EQ(State(tpm.node_id), "trusted");

  auto bad = env_->Attest(tpm, ChangedBoot());
  ASSERT_TRUE(bad.ok()) << bad.status();
  ASSERT_EQ(bad->verdict(), v1::VERDICT_CONTRAINDICATED);
  v1::Node node = Node(tpm.node_id);
  EXPECT_EQ(node.state(), "untrusted");
  EXPECT_EQ(node.last_attestation_id(), bad->attestation_id());
  EXPECT_TRUE(node.has_next_due_at());
  // The transition is recorded with its reasons and the attestation that caused it.
  ASSERT_GE(node.transitions_size(), 2);
  const v1::NodeTransition& t = node.transitions(0);
  EXPECT_EQ(t.old_state(), "trusted");
  EXPECT_EQ(t.new_state(), "untrusted");
  EXPECT_EQ(t.attestation_id(), bad->attestation_id());
  ASSERT_GE(t.reasons_size(), 1);
  EXPECT_EQ(t.reasons(0).code(), "POLICY_PCR_MISMATCH");

  // The webhook fired for both changes, in order, signed with the configured secret.
  ASSERT_TRUE(Eventually([&] { return receiver_.DeliveredFor(tpm.node_id).size() >= 2; }));
  std::vector<Receiver::Request> requests = receiver_.requests();
  const Receiver::Request* untrusted = nullptr;
  for (const Receiver::Request& r : requests) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/hook");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(r.headers.at("x-bootgate-signature"), Hmac(kSecret, r.body)) << r.body;
    EXPECT_NE(r.headers.at("x-bootgate-signature"), Hmac("another secret entirely", r.body));
    if (absl::StrContains(r.body, "\"new_state\":\"untrusted\"")) untrusted = &r;
  }
  ASSERT_NE(untrusted, nullptr);
  nlohmann::json e = nlohmann::json::parse(untrusted->body);
  EXPECT_EQ(e["node"], tpm.node_id);
  EXPECT_EQ(e["old_state"], "trusted");
  EXPECT_EQ(e["new_state"], "untrusted");
  EXPECT_EQ(e["attestation_id"], bad->attestation_id());
  EXPECT_EQ(e["reasons"][0]["code"], "POLICY_PCR_MISMATCH");
  EXPECT_EQ(e["event_id"], t.event_id());
  EXPECT_EQ(untrusted->headers.at("x-bootgate-event"), t.event_id());
  EXPECT_EQ(e["type"], "node.state_changed");
  EXPECT_FALSE(e["time"].get<std::string>().empty());

  // Back to the good boot: trusted again.
  VerifierEnv::Evidence good = Good();
  good.reset_count = 3;
  auto again = env_->Attest(tpm, good);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->verdict(), v1::VERDICT_AFFIRMING);
  EXPECT_EQ(State(tpm.node_id), "trusted");
}

TEST_F(NodeStateTest, ForgedEvidenceIsRecordedButDoesNotMoveTheState) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_EQ(State(tpm.node_id), "trusted");
  // Signed by another AK: anyone can ask for this node's nonce; that must not flip its state.
  auto other = SoftwareAk::Create({});
  ASSERT_TRUE(other.ok());
  VerifierEnv::Evidence forged = Good();
  forged.signer = &*other;
  auto resp = env_->Attest(tpm, forged);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->verdict(), v1::VERDICT_CONTRAINDICATED);
  v1::Node node = Node(tpm.node_id);
  EXPECT_EQ(node.state(), "trusted");
  EXPECT_EQ(node.last_attestation_id(), resp->attestation_id()) << "the attempt is recorded";
}

TEST_F(NodeStateTest, SilentNodeBecomesStaleAndReattestationMakesItTrustedAgain) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_EQ(State(tpm.node_id), "trusted");
  const int64_t due = Node(tpm.node_id).next_due_at().seconds();
  EXPECT_GT(due, 0);

  env_->clock().Advance(absl::Minutes(61));
  // The verifier's own monitor thread finds it.
  ASSERT_TRUE(Eventually([&] { return State(tpm.node_id) == "stale"; }));
  v1::Node node = Node(tpm.node_id);
  EXPECT_EQ(node.transitions(0).old_state(), "trusted");
  EXPECT_EQ(node.transitions(0).new_state(), "stale");
  EXPECT_EQ(node.transitions(0).reasons(0).code(), "NODE_STALE");
  EXPECT_TRUE(node.transitions(0).attestation_id().empty());
  ASSERT_TRUE(Eventually([&] {
    for (const nlohmann::json& e : receiver_.DeliveredFor(tpm.node_id)) {
      if (e["new_state"] == "stale" && e["reasons"][0]["code"] == "NODE_STALE") return true;
    }
    return false;
  }));
  // Once stale, another sweep changes nothing.
  auto again = env_->server()->monitor()->CheckOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(*again, SizeIs(0));

  auto resp = env_->Attest(tpm, Good());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(State(tpm.node_id), "trusted");
  EXPECT_GT(Node(tpm.node_id).next_due_at().seconds(), due);
}

TEST_F(NodeStateTest, EnrolledNodeThatNeverAttestsBecomesStale) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  env_->clock().Advance(absl::Minutes(61));
  auto stale = env_->server()->monitor()->CheckOnce();
  ASSERT_TRUE(stale.ok()) << stale.status();
  ASSERT_TRUE(Eventually([&] { return State(tpm.node_id) == "stale"; }));
  EXPECT_EQ(Node(tpm.node_id).transitions(0).old_state(), "enrolled");
}

TEST_F(NodeStateTest, RevokedNodeGetsNoTokenAndStaysRevoked) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  v1::RevokeNodeRequest revoke;
  revoke.set_node_id(tpm.node_id);
  revoke.set_reason("stolen");
  v1::Node revoked;
  grpc::ClientContext ctx;
  ASSERT_TRUE(env_->admin().RevokeNode(&ctx, revoke, &revoked).ok());
  EXPECT_EQ(revoked.state(), "revoked");
  EXPECT_FALSE(revoked.has_next_due_at());

  auto resp = env_->Attest(tpm, Good());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->verdict(), v1::VERDICT_CONTRAINDICATED);
  EXPECT_EQ(resp->findings(0).code(), "NODE_REVOKED");
  EXPECT_FALSE(resp->has_join_token());
  v1::Node node = Node(tpm.node_id);
  EXPECT_EQ(node.state(), "revoked");
  EXPECT_EQ(node.transitions(0).new_state(), "revoked");
  EXPECT_EQ(node.transitions(0).old_state(), "trusted");
  EXPECT_EQ(node.transitions(0).reasons(0).code(), "NODE_REVOKED");
  EXPECT_THAT(node.transitions(0).reasons(0).detail(), HasSubstr("stolen"));
  // Revoked is final: the deadline does not make it stale either.
  env_->clock().Advance(absl::Hours(2));
  ASSERT_TRUE(env_->server()->monitor()->CheckOnce().ok());
  EXPECT_EQ(State(tpm.node_id), "revoked");
  ASSERT_TRUE(Eventually([&] {
    for (const nlohmann::json& e : receiver_.DeliveredFor(tpm.node_id)) {
      if (e["new_state"] == "revoked") return true;
    }
    return false;
  }));
}

// Outage 1: nothing listens (connection refused), then the receiver comes back on its port.
TEST_F(NodeStateTest, WebhookSurvivesReceiverDownThenUp) {
  StartEnv();
  const int port = receiver_.port();
  receiver_.Stop();
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_TRUE(Eventually([&] {
    std::vector<verifier::OutboxEntry> o = Outbox();
    return o.size() == 1 && o[0].attempts >= 1;
  }));
  std::vector<verifier::OutboxEntry> o = Outbox();
  EXPECT_FALSE(o[0].delivered_at.has_value());
  EXPECT_THAT(o[0].last_error, HasSubstr("connect"));
  EXPECT_GT(o[0].next_attempt_at, env_->clock().Now()) << "backoff on the injected clock";

  ASSERT_TRUE(receiver_.Start(port));
  env_->clock().Advance(absl::Minutes(2));
  ASSERT_TRUE(Eventually([&] { return AllDelivered(); }));
  std::vector<nlohmann::json> got = receiver_.DeliveredFor(tpm.node_id);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0]["event_id"], o[0].event_id);
  EXPECT_EQ(got[0]["new_state"], "trusted");
}

// Outage 2: the receiver answers 503 until it recovers.
TEST_F(NodeStateTest, WebhookRetriesOnHttpErrorStatus) {
  StartEnv();
  receiver_.set_status(503);
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_TRUE(Eventually([&] { return !receiver_.requests().empty(); }));
  ASSERT_TRUE(Eventually([&] {
    std::vector<verifier::OutboxEntry> o = Outbox();
    return o.size() == 1 && o[0].attempts >= 1;
  }));
  EXPECT_THAT(Outbox()[0].last_error, HasSubstr("HTTP 503"));
  receiver_.set_status(200);
  env_->clock().Advance(absl::Minutes(2));
  ASSERT_TRUE(Eventually([&] { return AllDelivered(); }));
  EXPECT_THAT(receiver_.DeliveredFor(tpm.node_id), SizeIs(1));
  // Every attempt carried the same event id and bytes.
  std::vector<Receiver::Request> all = receiver_.requests();
  ASSERT_GE(all.size(), 2u);
  for (const Receiver::Request& r : all) EXPECT_EQ(r.body, all.front().body);
}

// Outage 3: the receiver accepts but never answers (the webhook timeout applies).
TEST_F(NodeStateTest, WebhookRetriesWhenTheReceiverDoesNotAnswer) {
  StartEnv();
  receiver_.set_hang(true);
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_TRUE(Eventually([&] {
    std::vector<verifier::OutboxEntry> o = Outbox();
    return o.size() == 1 && o[0].attempts >= 1;
  }));
  EXPECT_THAT(Outbox()[0].last_error, HasSubstr("timed out"));
  receiver_.set_hang(false);
  env_->clock().Advance(absl::Minutes(2));
  ASSERT_TRUE(Eventually([&] { return AllDelivered(); }));
  EXPECT_THAT(receiver_.DeliveredFor(tpm.node_id), SizeIs(1));
}

// Outage 4: something answers, but not HTTP (a wrong port, a half-started proxy).
TEST_F(NodeStateTest, WebhookRetriesOnAMalformedAnswer) {
  StartEnv();
  receiver_.set_raw_answer("SSH-2.0-OpenSSH_9.2\r\n");
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_TRUE(Eventually([&] {
    std::vector<verifier::OutboxEntry> o = Outbox();
    return o.size() == 1 && o[0].attempts >= 1;
  }));
  EXPECT_THAT(Outbox()[0].last_error, HasSubstr("malformed HTTP response"));
  receiver_.set_raw_answer("");
  env_->clock().Advance(absl::Minutes(2));
  ASSERT_TRUE(Eventually([&] { return AllDelivered(); }));
  EXPECT_THAT(receiver_.DeliveredFor(tpm.node_id), SizeIs(1));
}

TEST_F(NodeStateTest, QueuedEventSurvivesVerifierRestart) {
  StartEnv();
  const int port = receiver_.port();
  receiver_.Stop();
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, ChangedBoot()).ok());  // enrolled -> untrusted, queued
  ASSERT_TRUE(Eventually([&] {
    std::vector<verifier::OutboxEntry> o = Outbox();
    return o.size() == 1 && o[0].attempts >= 1;
  }));
  const std::string event_id = Outbox()[0].event_id;
  env_->Stop();
  ASSERT_TRUE(receiver_.Start(port));
  ASSERT_TRUE(env_->Start().ok());
  env_->clock().Advance(absl::Minutes(2));
  ASSERT_TRUE(Eventually([&] { return AllDelivered(); }));
  std::vector<nlohmann::json> got = receiver_.DeliveredFor(tpm.node_id);
  ASSERT_THAT(got, SizeIs(1));
  EXPECT_EQ(got[0]["event_id"], event_id);
  EXPECT_EQ(got[0]["new_state"], "untrusted");
  EXPECT_EQ(got[0]["reasons"][0]["code"], "POLICY_PCR_MISMATCH");
}

TEST_F(NodeStateTest, DeliveredEventsAreNotSentAgain) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_TRUE(env_->Attest(tpm, ChangedBoot()).ok());
  ASSERT_TRUE(Eventually([&] { return Outbox().size() == 2 && AllDelivered(); }));
  env_->clock().Advance(absl::Hours(1) - absl::Seconds(1));
  auto more = env_->server()->notifier()->DeliverDue();
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(*more, 0);
  // Restarting does not resend delivered events either.
  env_->Stop();
  ASSERT_TRUE(env_->Start().ok());
  auto after = env_->server()->notifier()->DeliverDue();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 0);
  std::map<std::string, int> seen;
  for (const nlohmann::json& e : receiver_.delivered()) ++seen[e["event_id"].get<std::string>()];
  EXPECT_THAT(seen, SizeIs(2));
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << id;
}

TEST_F(NodeStateTest, ExecHookRunsWithSubstitutedArgv) {
  // A shell only as the hook program itself: the values arrive as separate arguments ($1..$5),
  // never parsed as shell syntax.
  StartEnv(
      "  exec:\n"
      "    command: \"/bin/sh -c 'printf \\\"%s\\\\n\\\" \\\"$@\\\" > @DIR@/hook.out' hook "
      "{node} {old} {new} {reasons} {attestation}\"\n"
      "    timeout: 10s\n",
      /*webhook=*/false);
  TestTpm tpm = EnrolledTpm();
  auto bad = env_->Attest(tpm, ChangedBoot());
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(Eventually([&] { return !Outbox().empty() && AllDelivered(); }));
  auto out = verifier::ReadFile(env_->dir() + "/hook.out");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, absl::StrCat(tpm.node_id, "\nenrolled\nuntrusted\nPOLICY_PCR_MISMATCH\n",
                               bad->attestation_id(), "\n"));
}

TEST_F(NodeStateTest, FailingExecHookIsRetried) {
  StartEnv(
      "  exec:\n"
      "    command: \"/bin/sh -c 'test -e @DIR@/ok && echo {node} >> @DIR@/hook.out' hook\"\n"
      "    timeout: 10s\n",
      /*webhook=*/false);
  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  ASSERT_TRUE(Eventually([&] {
    std::vector<verifier::OutboxEntry> o = Outbox();
    return o.size() == 1 && o[0].attempts >= 1;
  }));
  EXPECT_THAT(Outbox()[0].last_error, HasSubstr("exited with 1"));
  ASSERT_TRUE(verifier::WriteNewFile(env_->dir() + "/ok", "").ok());
  env_->clock().Advance(absl::Minutes(2));
  ASSERT_TRUE(Eventually([&] { return AllDelivered(); }));
  auto out = verifier::ReadFile(env_->dir() + "/hook.out");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, tpm.node_id + "\n");
}

TEST_F(NodeStateTest, MetricsEndpointCountsAttestations) {
  StartEnv();
  const int port = env_->server()->metrics_port();
  ASSERT_GT(port, 0);
  std::map<std::string, double> before = Scrape(port);
  ASSERT_FALSE(before.empty());
  EXPECT_EQ(before.count("__unparsable__"), 0u);
  EXPECT_EQ(before["bootgate_appraisal_seconds_count"], 0);
  EXPECT_EQ(before["bootgate_nodes{state=\"trusted\"}"], 0);
  EXPECT_EQ(before["bootgate_store_up"], 1);
  EXPECT_GT(before["bootgate_store_bytes"], 0);
  EXPECT_GT(before["process_resident_memory_bytes"], 0);
  EXPECT_EQ(before["bootgate_tokens_issued_total{status=\"issued\"}"], 0);

  TestTpm tpm = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm, Good()).ok());
  TestTpm tpm2 = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm2, ChangedBoot()).ok());
  std::map<std::string, double> after = Scrape(port);
  EXPECT_EQ(after["bootgate_attestations_total{verdict=\"affirming\",reason=\"none\"}"], 1);
  EXPECT_EQ(after["bootgate_attestations_total{verdict=\"contraindicated\",reason=\"POLICY_PCR_"
                  "MISMATCH\"}"],
            1);
  EXPECT_EQ(after["bootgate_appraisal_seconds_count"], 2);
  EXPECT_EQ(after["bootgate_appraisal_seconds_bucket{le=\"+Inf\"}"], 2);
  EXPECT_EQ(after["bootgate_tokens_issued_total{status=\"issued\"}"], 1);
  EXPECT_EQ(after["bootgate_nodes{state=\"trusted\"}"], 1);
  EXPECT_EQ(after["bootgate_nodes{state=\"untrusted\"}"], 1);
  EXPECT_EQ(after["bootgate_stale_nodes"], 0);

  env_->clock().Advance(absl::Minutes(61));
  ASSERT_TRUE(env_->server()->monitor()->CheckOnce().ok());
  std::map<std::string, double> stale = Scrape(port);
  EXPECT_EQ(stale["bootgate_stale_nodes"], 1);
  EXPECT_EQ(stale["bootgate_nodes{state=\"stale\"}"], 1);

  // The backlog shows undelivered notifications.
  receiver_.Stop();
  TestTpm tpm3 = EnrolledTpm();
  ASSERT_TRUE(env_->Attest(tpm3, Good()).ok());
  EXPECT_GE(Scrape(port)["bootgate_webhook_backlog"], 1);

  std::string raw;
  (void)Scrape(port, &raw);
  EXPECT_THAT(raw, HasSubstr("# TYPE bootgate_appraisal_seconds histogram"));
  EXPECT_THAT(raw, HasSubstr("Content-Type: text/plain; version=0.0.4"));
}

TEST_F(NodeStateTest, MetricsEndpointAnswersOnlyMetrics) {
  StartEnv();
  const int port = env_->server()->metrics_port();
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const std::string req = "GET /secrets HTTP/1.1\r\n\r\n";
  (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[512] = {};
  (void)!recv(fd, buf, sizeof(buf) - 1, 0);
  close(fd);
  EXPECT_THAT(std::string(buf), HasSubstr("HTTP/1.1 404"));
}

// grpc.health.v1.Health/Check for `service`; returns the raw HealthCheckResponse bytes.
std::string HealthCheck(std::shared_ptr<grpc::Channel> channel, const std::string& service) {
  grpc::GenericStub stub(channel);
  // HealthCheckRequest{service = 1}: tag 0x0a, length, bytes.
  std::string encoded;
  if (!service.empty())
    encoded = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext ctx;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = s;
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return "error: " + status.error_message();
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "error: dump";
  std::string bytes;
  for (const grpc::Slice& s : slices)
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

TEST_F(NodeStateTest, HealthServiceReportsServingAfterTheMonitorsCheck) {
  StartEnv();
  ASSERT_TRUE(env_->server()->monitor()->CheckOnce().ok());
  for (const char* service : {"", "bootgate.v1.Attestation", "bootgate.v1.Enrollment"}) {
    EXPECT_EQ(HealthCheck(env_->agent_channel(), service), std::string("\x08\x01", 2)) << service;
  }
  const verifier::HealthState h = env_->server()->monitor()->CheckHealth();
  EXPECT_TRUE(h.store_ok);
  EXPECT_TRUE(h.policy_file_current);
  EXPECT_EQ(h.detail, "");
}

TEST_F(NodeStateTest, HealthServiceReportsNotServingWhenTheStoreFails) {
  StartEnv();
  ASSERT_TRUE(env_->server()->monitor()->CheckOnce().ok());
  ASSERT_EQ(HealthCheck(env_->agent_channel(), ""), std::string("\x08\x01", 2));
  // The database file is overwritten under the running verifier (same inode).
  {
    std::ofstream f(env_->config().database, std::ios::binary | std::ios::trunc);
    f << std::string(8192, 'x');
  }
  const verifier::HealthState h = env_->server()->monitor()->CheckHealth();
  EXPECT_FALSE(h.store_ok);
  EXPECT_THAT(h.detail, HasSubstr("store"));
  for (const char* service : {"", "bootgate.v1.Attestation", "bootgate.v1.Enrollment"}) {
    EXPECT_EQ(HealthCheck(env_->agent_channel(), service), std::string("\x08\x02", 2))
        << service << ": NOT_SERVING";
  }
  EXPECT_EQ(Scrape(env_->server()->metrics_port())["bootgate_store_up"], 0);
}

TEST_F(NodeStateTest, AFailedPolicyReloadIsReportedAndTheLoadedPolicyStays) {
  StartEnv();
  const int port = env_->server()->metrics_port();
  EXPECT_EQ(Scrape(port)["bootgate_policy_file_current"], 1);
  const std::string good = verifier::ReadFile(env_->dir() + "/policy.yaml").value();
  ASSERT_TRUE(verifier::WriteFileAtomic(env_->dir() + "/policy.yaml", "changed: true\n").ok());
  EXPECT_FALSE(env_->server()->policy()->ReloadIfChanged().ok());
  ASSERT_TRUE(env_->server()->monitor()->CheckOnce().ok());
  EXPECT_EQ(Scrape(port)["bootgate_policy_file_current"], 0);
  TestTpm tpm = EnrolledTpm();
  auto resp = env_->Attest(tpm, Good());
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->verdict(), v1::VERDICT_AFFIRMING) << "the previous policy is still in force";
  // Fixed (a comment added): reloaded, reported current again.
  ASSERT_TRUE(verifier::WriteFileAtomic(env_->dir() + "/policy.yaml", good + "# reviewed\n").ok());
  EXPECT_TRUE(env_->server()->policy()->ReloadIfChanged().ok());
  ASSERT_TRUE(env_->server()->monitor()->CheckOnce().ok());
  EXPECT_EQ(Scrape(port)["bootgate_policy_file_current"], 1);
}

TEST_F(NodeStateTest, AdminCliShowsStatesTimesAndHistory) {
  StartEnv();
  TestTpm tpm = EnrolledTpm();
  auto bad = env_->Attest(tpm, ChangedBoot());
  ASSERT_TRUE(bad.ok());
  const std::vector<std::string> conn = {"--config", env_->dir(), "--server",
                                         absl::StrCat("127.0.0.1:", env_->admin_port())};
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), conn.begin(), conn.end());
    return RunBinary("bootgate", args);
  };
  CommandResult list = run({"nodes", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json j = nlohmann::json::parse(list.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["state"], "untrusted");
  EXPECT_EQ(j[0]["last_attested_at"], "") << "never affirmed";
  EXPECT_NE(j[0]["last_attempt_at"], "");
  EXPECT_NE(j[0]["next_due_at"], "");
  CommandResult show = run({"nodes", "show", tpm.node_id, "--json"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  nlohmann::json n = nlohmann::json::parse(show.out);
  ASSERT_EQ(n["transitions"].size(), 1u);
  EXPECT_EQ(n["transitions"][0]["old_state"], "enrolled");
  EXPECT_EQ(n["transitions"][0]["new_state"], "untrusted");
  EXPECT_EQ(n["transitions"][0]["attestation_id"], bad->attestation_id());
  EXPECT_EQ(n["transitions"][0]["reasons"][0]["code"], "POLICY_PCR_MISMATCH");
  CommandResult text = run({"nodes", "list"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("NEXT DUE"));
  EXPECT_THAT(text.out, HasSubstr("untrusted"));
  CommandResult show_text = run({"nodes", "show", tpm.node_id});
  ASSERT_EQ(show_text.exit_code, 0) << show_text.err;
  EXPECT_THAT(show_text.out, HasSubstr("enrolled -> untrusted POLICY_PCR_MISMATCH"));
}

}  // namespace
}  // namespace bootgate::testing
