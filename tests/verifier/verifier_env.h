// In-process verifier test environment: a development PKI generated into a fresh temporary
// directory (bootgate-verifier init), a test EK CA in its bundle, a PCR-value policy from a real
// corpus event log, and the real gRPC servers (TLS) on free ports, with an injected clock. Plus a
// test "TPM" (SoftwareEk + SoftwareAk) that enrolls and attests through the public API.
#ifndef BOOTGATE_TESTS_VERIFIER_VERIFIER_ENV_H_
#define BOOTGATE_TESTS_VERIFIER_VERIFIER_ENV_H_

#include <grpcpp/channel.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "attest/crypto/ossl.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "bootgate/v1/admin.grpc.pb.h"
#include "bootgate/v1/attestation.grpc.pb.h"
#include "bootgate/v1/enrollment.grpc.pb.h"
#include "tests/testing/software_ak.h"
#include "tests/verifier/software_ek.h"
#include "verifier/config/config.h"
#include "verifier/service/server.h"
#include "verifier/util/clock.h"
#include "verifier/util/logging.h"
#include "verifier/util/os_random.h"
#include "verifier/util/x509_util.h"

namespace bootgate::testing {

// A settable clock (thread-safe: the servers read it from their handler threads).
class FakeClock final : public verifier::Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_;
};

// A fresh directory under the test's temporary directory.
std::string MakeTempDir(const std::string& prefix);

// A CA for EK certificates: root -> intermediate -> EK certificates.
class EkCa {
 public:
  static absl::StatusOr<EkCa> Create(const std::string& name, absl::Time now);

  struct EkCertOptions {
    absl::Duration valid_before = absl::Hours(24);       // notBefore = now - this
    absl::Duration valid_after = absl::Hours(24 * 365);  // notAfter = now + this
    bool ek_eku = true;
    bool tpm_san = true;
  };
  absl::StatusOr<attest::X509Ptr> IssueEkCert(EVP_PKEY* ek_key, absl::Time now,
                                              const EkCertOptions& options) const;
  absl::StatusOr<attest::X509Ptr> IssueEkCert(EVP_PKEY* ek_key, absl::Time now) const {
    return IssueEkCert(ek_key, now, EkCertOptions());
  }
  X509* root() const { return root_.get(); }
  X509* intermediate() const { return intermediate_.get(); }
  // PEM of root + intermediate (what goes into the verifier's EK CA bundle).
  absl::StatusOr<std::string> BundlePem() const;

 private:
  attest::EvpPkeyPtr root_key_;
  attest::X509Ptr root_;
  attest::EvpPkeyPtr intermediate_key_;
  attest::X509Ptr intermediate_;
};

// A test TPM: an EK with a certificate and an AK.
struct TestTpm {
  SoftwareEk ek;
  SoftwareAk ak;
  attest::X509Ptr ek_cert;
  std::string node_id;                        // after enrollment
  std::map<std::string, std::string> labels;  // sent with the enrollment
};

struct EnvOptions {
  // The corpus log the "TPM" booted; its replay (restricted to the selection) is the policy.
  std::string event_log = "qemu/qemu-ovmf-directkernel/binary_bios_measurements";
  std::string pcr_selection = "sha256:0-9,11,14";
  std::string issuer_exec;         // empty = file issuer (DIR/tokens.txt)
  std::string ek_allow_list_text;  // non-empty = write and configure an allow-list
  size_t max_message_bytes = 1u << 20;
  size_t max_event_log_bytes = 256u << 10;
  size_t max_ima_log_bytes = 256u << 10;
  bool quiet_logs = false;  // benchmarks: the verifier's log lines go to /dev/null
  // Golden-image mode: these files (name, YAML) go into DIR/policies, configured as policy_dir
  // instead of the PCR-value policy. Each is signed (detached NAME.sig) with the environment's
  // policy key, whose public key is configured in policy_keys, unless `sign_policies` is false.
  std::vector<std::pair<std::string, std::string>> golden_policy_files;
  bool sign_policies = true;
  bool allow_unsigned_policies = false;
  // YAML appended to the configuration; "@DIR@" is replaced with the environment's directory
  // (nodes, notifications, metrics sections).
  std::string extra_config;
  // Files written into the directory before the configuration is loaded (name -> content).
  std::vector<std::pair<std::string, std::string>> files;
};

class VerifierEnv {
 public:
  static absl::StatusOr<std::unique_ptr<VerifierEnv>> Create(const EnvOptions& options = {});
  ~VerifierEnv();

  absl::Status Start();  // (re)opens the store and starts servers on new free ports
  void Stop();

  const std::string& dir() const { return dir_; }
  std::string policy_dir() const { return dir_ + "/policies"; }
  // The environment's policy signing key (P-256, PEM) and its public key.
  const std::string& policy_key_pem() const { return policy_key_pem_; }
  // A policy file signed with the environment's key: the detached signature's YAML.
  absl::StatusOr<std::string> SignPolicy(const std::string& yaml) const;
  const verifier::VerifierConfig& config() const { return config_; }
  FakeClock& clock() { return clock_; }
  const EkCa& ek_ca() const { return ek_ca_; }
  verifier::VerifierServer* server() const { return server_.get(); }
  int agent_port() const { return server_->agent_port(); }
  int admin_port() const { return server_->admin_port(); }

  bootgate::v1::Enrollment::Stub& enrollment() { return *enrollment_; }
  bootgate::v1::Attestation::Stub& attestation() { return *attestation_; }
  bootgate::v1::Admin::Stub& admin() { return *admin_; }
  std::shared_ptr<grpc::Channel> agent_channel() const { return agent_channel_; }
  // An admin channel without a client certificate (must be refused).
  std::shared_ptr<grpc::Channel> AdminChannelWithoutClientCert() const;

  // The booted log and the true PCR values of the selection (what the policy allows).
  const attest::Bytes& event_log() const { return event_log_; }
  const attest::PcrSelection& selection() const { return selection_; }
  const attest::PcrValues& pcrs() const { return pcrs_; }

  // --- The agent side, through the public API.
  absl::StatusOr<TestTpm> MakeTpm(const SoftwareAkOptions& ak_options = {}) const;
  absl::StatusOr<bootgate::v1::StartEnrollmentResponse> StartEnrollment(const TestTpm& tpm);
  // Start + ActivateCredential + Finish; sets tpm->node_id.
  absl::StatusOr<bootgate::v1::FinishEnrollmentResponse> Enroll(TestTpm* tpm);
  absl::StatusOr<bootgate::v1::Challenge> GetChallenge(const std::string& node_id);

  struct Evidence {
    attest::PcrSelection selection;  // quoted selection (default: the challenge's)
    attest::PcrValues pcrs;          // values quoted and sent (default: the true values)
    attest::Bytes event_log;         // default: the booted log
    uint32_t reset_count = 1;
    uint32_t restart_count = 0;
    uint64_t clock = 1000;
    const SoftwareAk* signer = nullptr;  // default: the TPM's own AK
    bool request_join_token = true;
  };
  Evidence DefaultEvidence() const;
  absl::StatusOr<bootgate::v1::AttestRequest> MakeAttestRequest(const TestTpm& tpm,
                                                                const bootgate::v1::Challenge& ch,
                                                                const Evidence& evidence) const;
  // GetChallenge + quote + Attest. RPC errors are returned as Status.
  absl::StatusOr<bootgate::v1::AttestResponse> Attest(const TestTpm& tpm, const Evidence& evidence);
  absl::StatusOr<bootgate::v1::AttestResponse> Attest(const TestTpm& tpm) {
    return Attest(tpm, DefaultEvidence());
  }
  absl::StatusOr<bootgate::v1::AttestResponse> Send(const bootgate::v1::AttestRequest& request);

  // Unwraps a join token with the TPM's EK (ActivateCredential) and AES-256-GCM.
  absl::StatusOr<std::string> UnwrapToken(const TestTpm& tpm,
                                          const bootgate::v1::WrappedToken& token) const;

 private:
  VerifierEnv() : clock_(absl::Now()) {}

  std::string dir_;
  verifier::VerifierConfig config_;
  FakeClock clock_;
  verifier::OsRandom rng_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> log_sink_{nullptr, &std::fclose};
  std::unique_ptr<verifier::Logger> logger_;
  EkCa ek_ca_;
  std::string policy_key_pem_;
  bool allow_unsigned_policies_ = false;
  attest::Bytes event_log_;
  attest::PcrSelection selection_;
  attest::PcrValues pcrs_;
  std::unique_ptr<verifier::VerifierServer> server_;
  std::shared_ptr<grpc::Channel> agent_channel_;
  std::unique_ptr<bootgate::v1::Enrollment::Stub> enrollment_;
  std::unique_ptr<bootgate::v1::Attestation::Stub> attestation_;
  std::unique_ptr<bootgate::v1::Admin::Stub> admin_;
};

absl::Status ToStatus(const grpc::Status& s);

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_VERIFIER_VERIFIER_ENV_H_
