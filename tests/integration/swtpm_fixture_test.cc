// The swtpm fixture itself: EK certificates chain to the run's private CA, instances are
// isolated (own ports, own CA), and stopping one kills exactly its own pid.
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/ossl.h"
#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/swtpm_instance.h"

extern char** environ;

namespace bootgate::testing {
namespace {

using attest::Bytes;
using ::testing::HasSubstr;

struct X509StoreDeleter {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct X509StoreCtxDeleter {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct EkuDeleter {
  void operator()(EXTENDED_KEY_USAGE* p) const { EXTENDED_KEY_USAGE_free(p); }
};

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// True while `pid` exists and is not a zombie.
bool PidAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

bool WaitGone(pid_t pid) {
  for (int i = 0; i < 200 && PidAlive(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !PidAlive(pid);
}

// Local addresses of the LISTEN sockets on `port` (hex "0100007F" = 127.0.0.1).
std::vector<std::string> ListenAddresses(int port) {
  std::vector<std::string> out;
  const std::string suffix = absl::StrFormat(":%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "0A" && local.size() > suffix.size() &&
          local.compare(local.size() - suffix.size(), suffix.size(), suffix) == 0) {
        out.push_back(local.substr(0, local.size() - suffix.size()));
      }
    }
  }
  return out;
}

class SwtpmFixtureTest : public ::testing::Test {
 protected:
  void SetUp() override { BOOTGATE_REQUIRE_SWTPM(); }

  static std::unique_ptr<SwtpmInstance> StartOrDie(const SwtpmOptions& options = {}) {
    auto started = SwtpmInstance::Start(options);
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? std::move(*started) : nullptr;
  }

  // Reads an NV certificate with tpm2_nvread and checks it against `ca_bundle`: chain, EKU
  // tcg-kp-EKCertificate, and that its key is the TPM's EK at `ek_handle`.
  static void ExpectEkCertificate(const SwtpmInstance& tpm, const std::string& nv_index,
                                  const std::string& ek_handle, const std::string& ca_bundle,
                                  bool expect_chain_ok) {
    const std::string file = "cert_" + nv_index + ".der";
    auto run = tpm.Tpm2({"tpm2_nvread", nv_index, "-o", file});
    ASSERT_TRUE(run.ok()) << run.status();
    const Bytes der = ReadFile(tpm.WorkPath(file));
    const uint8_t* p = der.data();
    attest::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
    ASSERT_TRUE(cert) << nv_index << " is not a DER certificate";
    EXPECT_EQ(p, der.data() + der.size()) << "trailing bytes after the certificate";

    std::unique_ptr<X509_STORE, X509StoreDeleter> store(X509_STORE_new());
    ASSERT_TRUE(store);
    ASSERT_EQ(X509_STORE_load_file(store.get(), ca_bundle.c_str()), 1) << ca_bundle;
    std::unique_ptr<X509_STORE_CTX, X509StoreCtxDeleter> ctx(X509_STORE_CTX_new());
    ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
    const int verified = X509_verify_cert(ctx.get());
    if (expect_chain_ok) {
      EXPECT_EQ(verified, 1) << nv_index << ": "
                             << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
      EXPECT_EQ(sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get())), 3) << "EK, intermediate, root";
    } else {
      EXPECT_NE(verified, 1) << nv_index << " must not chain to another instance's CA";
      return;
    }

    std::unique_ptr<EXTENDED_KEY_USAGE, EkuDeleter> eku(static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(cert.get(), NID_ext_key_usage, nullptr, nullptr)));
    ASSERT_TRUE(eku) << nv_index << " has no extended key usage";
    bool ek_certificate = false;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
      char oid[80];
      OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku.get(), i), 1);
      ek_certificate |= std::string(oid) == "2.23.133.8.1";
    }
    EXPECT_TRUE(ek_certificate) << nv_index << ": EKU 2.23.133.8.1 (tcg-kp-EKCertificate) missing";

    ASSERT_TRUE(tpm.Tpm2({"tpm2_readpublic", "-c", ek_handle, "-o", "ek_cmp.pub"}).ok());
    auto ek = attest::ParsePublicArea(ReadFile(tpm.WorkPath("ek_cmp.pub")));
    ASSERT_TRUE(ek.ok()) << ek.status();
    auto ek_key = attest::PublicKeyFromPublicArea(*ek);
    ASSERT_TRUE(ek_key.ok()) << ek_key.status();
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), ek_key->get()), 1)
        << nv_index << " certifies a different key than " << ek_handle;
  }
};

TEST_F(SwtpmFixtureTest, EkCertificatesVerifyAgainstTheRunsCaBundle) {
  auto tpm = StartOrDie();
  ASSERT_TRUE(tpm);
  ExpectEkCertificate(*tpm, "0x01c00002", "0x81010001", tpm->ca_bundle(), true);
  ExpectEkCertificate(*tpm, "0x01c00016", "0x81010016", tpm->ca_bundle(), true);
  // The CA lives inside the instance's directory, never in the system CA directory.
  EXPECT_EQ(tpm->ca_bundle(), tpm->dir() + "/ca-bundle.pem");
  EXPECT_TRUE(tpm->FlushAll().ok());
}

TEST_F(SwtpmFixtureTest, EachInstanceHasItsOwnCa) {
  auto a = StartOrDie();
  auto b = StartOrDie();
  ASSERT_TRUE(a && b);
  ExpectEkCertificate(*a, "0x01c00002", "0x81010001", b->ca_bundle(), false);
  ExpectEkCertificate(*b, "0x01c00016", "0x81010016", a->ca_bundle(), false);
}

TEST_F(SwtpmFixtureTest, JsonDescribesARunningLoopbackInstance) {
  auto tpm = StartOrDie();
  ASSERT_TRUE(tpm);
  nlohmann::json j = nlohmann::json::parse(tpm->json(), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << tpm->json();
  EXPECT_EQ(j["tcti"], absl::StrCat("swtpm:host=127.0.0.1,port=", tpm->port()));
  EXPECT_EQ(j["ctrl_port"], tpm->port() + 1);
  EXPECT_EQ(tpm->ctrl_port(), tpm->port() + 1);
  EXPECT_EQ(j["ek_handles"]["rsa"], "0x81010001");
  EXPECT_EQ(j["ek_handles"]["ecc"], "0x81010016");
  EXPECT_EQ(j["state_dir"], tpm->state_dir());
  EXPECT_TRUE(std::filesystem::is_directory(tpm->state_dir()));
  // DIR/swtpm.json holds the same document.
  const Bytes file = ReadFile(tpm->dir() + "/swtpm.json");
  EXPECT_EQ(nlohmann::json::parse(file.begin(), file.end(), nullptr, false), j);
  // Both ports listen on 127.0.0.1 only.
  for (int port : {tpm->port(), tpm->ctrl_port()}) {
    EXPECT_THAT(ListenAddresses(port), ::testing::ElementsAre("0100007F")) << port;
  }
  EXPECT_TRUE(PidAlive(tpm->pid()));
  // The TPM answers, with the banks we asked for.
  auto run = tpm->Tpm2({"tpm2_pcrread", "sha1:0+sha256:0"});
  EXPECT_TRUE(run.ok()) << run.status();
}

TEST_F(SwtpmFixtureTest, PcrBanksOption) {
  SwtpmOptions options;
  options.pcr_banks = "sha256,sha384";
  auto tpm = StartOrDie(options);
  ASSERT_TRUE(tpm);
  auto run = tpm->Tpm2({"tpm2_getcap", "pcrs"});
  ASSERT_TRUE(run.ok()) << run.status();
  // tpm2_getcap lists every bank with the allocated PCRs; unallocated banks have "[ ]".
  EXPECT_THAT(run->out, HasSubstr("sha384: [ 0, 1, 2"));
  EXPECT_THAT(run->out, HasSubstr("sha256: [ 0, 1, 2"));
  EXPECT_THAT(run->out, HasSubstr("sha1: [ ]"));
}

TEST_F(SwtpmFixtureTest, TwoInstancesGetDifferentPortsAndStopKillsOnlyItsOwnPid) {
  auto a = StartOrDie();
  auto b = StartOrDie();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->port(), b->ctrl_port());
  EXPECT_NE(a->ctrl_port(), b->port());
  EXPECT_NE(a->pid(), b->pid());
  EXPECT_NE(a->dir(), b->dir());

  const pid_t a_pid = a->pid();
  ASSERT_TRUE(a->Stop().ok());
  EXPECT_TRUE(WaitGone(a_pid)) << "stop did not end pid " << a_pid;
  EXPECT_TRUE(ListenAddresses(a->port()).empty());
  EXPECT_TRUE(PidAlive(b->pid())) << "stopping A must not touch B";
  auto run = b->Tpm2({"tpm2_getrandom", "--hex", "8"});
  EXPECT_TRUE(run.ok()) << run.status();
  // Stop is idempotent, for the wrapper and for the script.
  EXPECT_TRUE(a->Stop().ok());
  auto again = RunProcess({SwtpmFixtureScript(), "stop", "--dir", a->dir()});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->exit_code, 0) << again->err;
  EXPECT_THAT(again->out, HasSubstr("not running"));
}

TEST_F(SwtpmFixtureTest, DestructorStopsThePidAndRemovesTheDirectory) {
  auto tpm = StartOrDie();
  ASSERT_TRUE(tpm);
  const pid_t pid = tpm->pid();
  const std::string dir = tpm->dir();
  tpm.reset();
  EXPECT_TRUE(WaitGone(pid));
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(SwtpmFixtureTest, StopRefusesAPidThatIsNotThisDirectorysSwtpm) {
  // A pid file that names some other process (a stale file after pid reuse, for instance).
  char dir_template[] = "/tmp/bootgate-swtpm-foreign-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  pid_t sleeper = 0;
  char arg0[] = "sleep";
  char arg1[] = "60";
  char* argv[] = {arg0, arg1, nullptr};
  ASSERT_EQ(posix_spawnp(&sleeper, "sleep", nullptr, nullptr, argv, environ), 0);
  std::ofstream(dir + "/swtpm.pid") << sleeper << "\n";

  auto run = RunProcess({SwtpmFixtureScript(), "stop", "--dir", dir});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0);
  EXPECT_THAT(run->err, HasSubstr("not killing it"));
  EXPECT_TRUE(PidAlive(sleeper)) << "the script killed a process that was not its swtpm";

  kill(sleeper, SIGKILL);
  waitpid(sleeper, nullptr, 0);
  std::filesystem::remove_all(dir);
}

TEST_F(SwtpmFixtureTest, StartRefusesARunningDirectory) {
  auto tpm = StartOrDie();
  ASSERT_TRUE(tpm);
  auto run = RunProcess({SwtpmFixtureScript(), "start", "--dir", tpm->dir()});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0);
  EXPECT_THAT(run->err, HasSubstr("already running"));
  EXPECT_TRUE(PidAlive(tpm->pid()));
}

TEST(SwtpmPrerequisitesTest, MissingSwtpmIsALoudNamedFailure) {
  const char* old_path = std::getenv("PATH");
  const std::string saved = old_path != nullptr ? old_path : "";
  setenv("PATH", "/nonexistent-bootgate-path", 1);
  absl::Status s = SwtpmPrerequisites();
  setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("swtpm is not installed"));
  EXPECT_THAT(s.message(), HasSubstr("apt-get install swtpm swtpm-tools tpm2-tools"));

  // The script says the same, even with nothing on PATH (bash started directly).
  auto direct =
      RunProcess({"/bin/bash", SwtpmFixtureScript(), "start", "--dir", "/tmp/bootgate-never-used"},
                 {{"PATH", "/nonexistent-bootgate-path"}});
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_NE(direct->exit_code, 0);
  EXPECT_THAT(direct->err, HasSubstr("swtpm is not installed"));
}

}  // namespace
}  // namespace bootgate::testing
