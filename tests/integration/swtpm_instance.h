// Per-test software TPMs for integration tests: a RAII wrapper around
// swtpm-fixtures/bootgate-swtpm, plus a shell-free process runner for tpm2-tools.
#ifndef BOOTGATE_TESTS_INTEGRATION_SWTPM_INSTANCE_H_
#define BOOTGATE_TESTS_INTEGRATION_SWTPM_INSTANCE_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace bootgate::testing {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv (argv[0] is looked up in PATH) with fork/exec, no shell. `env` entries override the
// inherited environment. The child gets its own process group; on timeout the whole group is
// killed and DeadlineExceeded returned. Other errors: the process could not be started.
absl::StatusOr<ProcessResult> RunProcess(
    const std::vector<std::string>& argv,
    const std::vector<std::pair<std::string, std::string>>& env = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60), const std::string& cwd = "");

// Path of swtpm-fixtures/bootgate-swtpm in the source tree.
std::string SwtpmFixtureScript();
// OK when swtpm, swtpm_setup, swtpm_localca, tpm2-tools and the fixture script are usable;
// otherwise FailedPrecondition naming what is missing and the packages to install.
absl::Status SwtpmPrerequisites();
// BOOTGATE_ALLOW_SKIP_SWTPM=1 lets tests skip (with a loud warning) instead of failing.
bool SwtpmSkipAllowed();
void WarnSwtpmSkipped(const absl::Status& why);

struct SwtpmOptions {
  std::string pcr_banks = "sha1,sha256";
};

class SwtpmInstance {
 public:
  // Creates a private directory (mkdtemp under $TMPDIR), manufactures and starts a TPM in it.
  static absl::StatusOr<std::unique_ptr<SwtpmInstance>> Start(const SwtpmOptions& options = {});
  // Stops exactly this instance's swtpm and removes its directory.
  ~SwtpmInstance();
  SwtpmInstance(const SwtpmInstance&) = delete;
  SwtpmInstance& operator=(const SwtpmInstance&) = delete;

  // Stops the swtpm (only our pid; idempotent). The directory stays until destruction.
  absl::Status Stop();
  bool stopped() const { return stopped_; }

  const std::string& tcti() const { return tcti_; }
  int port() const { return port_; }
  int ctrl_port() const { return ctrl_port_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& state_dir() const { return state_dir_; }
  // Root CA + intermediate that signed this TPM's EK and platform certificates (PEM).
  const std::string& ca_bundle() const { return ca_bundle_; }
  // The raw `bootgate-swtpm start --json` output.
  const std::string& json() const { return json_; }

  // A path for a scratch file of this instance (inside dir()/work).
  std::string WorkPath(const std::string& name) const;

  // Runs a tpm2-tools command (argv[0] e.g. "tpm2_readpublic") against this TPM, in dir()/work,
  // with TPM2TOOLS_TCTI set. Returns the result whatever the exit code.
  absl::StatusOr<ProcessResult> RunTpm2(
      const std::vector<std::string>& argv,
      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // Like RunTpm2 but a non-zero exit is an Internal error carrying the tool's stderr.
  absl::StatusOr<ProcessResult> Tpm2(const std::vector<std::string>& argv) const;
  // Flushes every transient object and session (a raw swtpm socket has no resource manager, so
  // leftovers accumulate until TPM_RC_OBJECT_MEMORY, 0x902).
  absl::Status FlushAll() const;

 private:
  SwtpmInstance() = default;

  std::string dir_;
  std::string state_dir_;
  std::string ca_bundle_;
  std::string tcti_;
  std::string json_;
  int port_ = 0;
  int ctrl_port_ = 0;
  pid_t pid_ = 0;
  bool stopped_ = false;
};

}  // namespace bootgate::testing

// In a test body or SetUp(): fails the test when swtpm / tpm2-tools are missing (CI must not
// silently pass), or skips with a loud warning when BOOTGATE_ALLOW_SKIP_SWTPM=1.
#define BOOTGATE_REQUIRE_SWTPM()                                                             \
  do {                                                                                       \
    const ::absl::Status bootgate_swtpm_prereq_ = ::bootgate::testing::SwtpmPrerequisites(); \
    if (!bootgate_swtpm_prereq_.ok()) {                                                      \
      if (::bootgate::testing::SwtpmSkipAllowed()) {                                         \
        ::bootgate::testing::WarnSwtpmSkipped(bootgate_swtpm_prereq_);                       \
        GTEST_SKIP() << bootgate_swtpm_prereq_.message();                                    \
      }                                                                                      \
      GTEST_FAIL() << bootgate_swtpm_prereq_.message()                                       \
                   << " (swtpm integration tests never pass without a TPM; set "             \
                      "BOOTGATE_ALLOW_SKIP_SWTPM=1 to skip them explicitly)";                \
    }                                                                                        \
  } while (false)

#endif  // BOOTGATE_TESTS_INTEGRATION_SWTPM_INSTANCE_H_
