// The bootgate-verifier binary: `init` (refuses to overwrite), `check`, `policy from-pcrs`, and
// `serve` as a real process on free ports (port files, "listening on", health, graceful SIGTERM).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "bootgate/v1/attestation.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/util/files.h"

namespace bootgate::testing {
namespace {

using ::testing::HasSubstr;

TEST(VerifierBinaryTest, InitCreatesAPkiAndRefusesToOverwrite) {
  const std::string dir = MakeTempDir("init") + "/pki";
  CommandResult first = RunBinary("bootgate-verifier", {"init", dir});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("verifier.yaml"));
  for (const char* f : {"ca.pem", "ca.key", "server.pem", "server.key", "admin.pem", "admin.key",
                        "ear-signing.key", "ear-signing.pub.pem", "verifier.yaml"}) {
    EXPECT_TRUE(verifier::PathExists(dir + "/" + f)) << f;
  }
  EXPECT_TRUE(verifier::IsDirectory(dir + "/ek-ca"));
  const std::string ca_before = verifier::ReadFile(dir + "/ca.pem").value();
  CommandResult second = RunBinary("bootgate-verifier", {"init", dir});
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_THAT(second.err, HasSubstr("already exists"));
  EXPECT_EQ(verifier::ReadFile(dir + "/ca.pem").value(), ca_before);
  // Without EK CAs and a policy the configuration does not load, with a clear message.
  CommandResult check = RunBinary("bootgate-verifier", {"check", "--config", dir});
  EXPECT_EQ(check.exit_code, 3);
  EXPECT_THAT(check.err, HasSubstr("ek_ca"));
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST(VerifierBinaryTest, HelpAndUsage) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--help"},
                                               {"serve", "--help"},
                                               {"init", "--help"},
                                               {"policy", "--help"},
                                               {"check", "--help"}}) {
    CommandResult r = RunBinary("bootgate-verifier", args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_THAT(r.out, HasSubstr("bootgate-verifier")) << args[0];
  }
  EXPECT_EQ(RunBinary("bootgate-verifier", {"serve"}).exit_code, 2);
  EXPECT_EQ(RunBinary("bootgate-verifier", {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunBinary("bootgate-verifier", {"serve", "--config", "x", "--bogus"}).exit_code, 2);
}

TEST(VerifierBinaryTest, PolicyFromReplayOutput) {
  const std::string dir = MakeTempDir("policy");
  CommandResult replay = RunBinary(
      "bootgate", {"eventlog", "replay",
                   TestDataPath("qemu/qemu-ovmf-directkernel/binary_bios_measurements"), "--json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  ASSERT_TRUE(verifier::WriteNewFile(dir + "/replay.json", replay.out).ok());
  CommandResult r = RunBinary("bootgate-verifier",
                              {"policy", "from-pcrs", dir + "/replay.json", "--id", "ovmf",
                               "--selection", "sha256:0-9,14", "--out", dir + "/policy.yaml"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("policy id ovmf@sha256:"));
  const std::string policy = verifier::ReadFile(dir + "/policy.yaml").value();
  EXPECT_THAT(policy, HasSubstr("    14: [0000000000000000"));
  EXPECT_THAT(policy, ::testing::Not(HasSubstr("sha1")));
  std::filesystem::remove_all(dir);
}

// Runs `bootgate-verifier serve` as a child process.
class ServeProcess {
 public:
  explicit ServeProcess(const std::vector<std::string>& args) {
    int out[2];
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    std::vector<std::string> argv = {std::string(BOOTGATE_BIN_DIR) + "/bootgate-verifier"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (std::string& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_fd_ = out[0];
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_fd_ >= 0) close(stdout_fd_);
  }
  // Sends SIGTERM and returns the exit status.
  int Terminate() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string ReadStdout() {
    std::string all;
    char buf[512];
    ssize_t n;
    while ((n = read(stdout_fd_, buf, sizeof(buf))) > 0) all.append(buf, static_cast<size_t>(n));
    return all;
  }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
};

int WaitForPortFile(const std::string& path) {
  for (int i = 0; i < 300; ++i) {
    auto text = verifier::ReadFile(path);
    int port = 0;
    if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &port) && port > 0) {
      return port;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 0;
}

TEST(VerifierBinaryTest, ServeOnFreePortsAndShutDownOnSigterm) {
  // A complete verifier directory (PKI, EK CA, policy, port 0) from the test environment.
  auto env = VerifierEnv::Create();
  ASSERT_TRUE(env.ok()) << env.status();
  (*env)->Stop();
  const std::string dir = (*env)->dir();
  ServeProcess serve({"serve", "--config", dir + "/verifier.yaml", "--port-file", dir + "/port",
                      "--admin-port-file", dir + "/admin-port"});
  const int port = WaitForPortFile(dir + "/port");
  const int admin_port = WaitForPortFile(dir + "/admin-port");
  ASSERT_GT(port, 0);
  ASSERT_GT(admin_port, 0);
  EXPECT_NE(port, admin_port);

  // The agent API answers over TLS with the development CA. (The channel is closed before the
  // SIGTERM: an idle client notices the server's GOAWAY only at its next poll, and the server
  // waits up to its 5 s grace period for open connections.)
  {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = verifier::ReadFile(dir + "/ca.pem").value();
    auto stub = bootgate::v1::Attestation::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::SslCredentials(tls)));
    bootgate::v1::GetChallengeRequest req;
    req.set_node_id("node-0000000000000000");
    bootgate::v1::Challenge ch;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    EXPECT_EQ(stub->GetChallenge(&ctx, req, &ch).error_code(), grpc::StatusCode::NOT_FOUND);
  }

  // The admin CLI reaches the admin API with the configuration's client certificate.
  CommandResult nodes = RunBinary("bootgate", {"nodes", "list", "--config", dir, "--server",
                                               absl::StrCat("127.0.0.1:", admin_port)});
  EXPECT_EQ(nodes.exit_code, 0) << nodes.err;

  EXPECT_EQ(serve.Terminate(), 0);
  const std::string out = serve.ReadStdout();
  EXPECT_THAT(out, HasSubstr(absl::StrCat("listening on 127.0.0.1:", port, "\n")));
  EXPECT_THAT(out, HasSubstr(absl::StrCat("admin listening on 127.0.0.1:", admin_port)));
}

// GET /metrics over a plain socket; the whole answer.
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string all;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string req = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n\r\n");
    (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) all.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return all;
}

TEST(VerifierBinaryTest, ServeWithMetricsOnAFreePort) {
  EnvOptions options;
  options.extra_config = "metrics:\n  listen: 127.0.0.1:0\n";
  auto env = VerifierEnv::Create(options);
  ASSERT_TRUE(env.ok()) << env.status();
  (*env)->Stop();
  const std::string dir = (*env)->dir();
  ServeProcess serve({"serve", "--config", dir + "/verifier.yaml", "--port-file", dir + "/port",
                      "--admin-port-file", dir + "/admin-port", "--metrics-port-file",
                      dir + "/metrics-port"});
  const int metrics_port = WaitForPortFile(dir + "/metrics-port");
  ASSERT_GT(metrics_port, 0);
  const std::string metrics = HttpGet(metrics_port, "/metrics");
  EXPECT_THAT(metrics, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(metrics, HasSubstr("bootgate_nodes{state=\"enrolled\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("bootgate_store_up 1\n"));
  EXPECT_THAT(metrics, HasSubstr("process_start_time_seconds "));
  EXPECT_EQ(serve.Terminate(), 0);
  EXPECT_THAT(serve.ReadStdout(),
              HasSubstr(absl::StrCat("metrics listening on 127.0.0.1:", metrics_port, "\n")));
}

}  // namespace
}  // namespace bootgate::testing
