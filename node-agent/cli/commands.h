// bootgate-agent subcommands. Each takes the arguments after its name and returns the process
// exit code.
#ifndef BOOTGATE_NODE_AGENT_CLI_COMMANDS_H_
#define BOOTGATE_NODE_AGENT_CLI_COMMANDS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "node-agent/agent.h"
#include "node-agent/cli/flags.h"

namespace bootgate::agent {
class VerifierClient;  // node-agent/client/verifier_client.h
}  // namespace bootgate::agent

namespace bootgate::agent::cli {

// Exit codes (documented in `bootgate-agent --help` and docs/agent.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;           // the operation failed (TPM error, I/O, ...)
inline constexpr int kExitUsage = 2;            // bad command line or configuration
inline constexpr int kExitNoTpm = 3;            // no TPM device on this machine
inline constexpr int kExitTctiUnreachable = 4;  // the TCTI could not reach the TPM
inline constexpr int kExitLockout = 5;          // the TPM is in dictionary-attack lockout
inline constexpr int kExitAuthFailure = 6;      // the TPM rejected an authorization
// enroll / attest / join (a rejected enrollment or boot is kExitFailed).
inline constexpr int kExitVerifierUnreachable = 7;  // no answer from the verifier (network, TLS)
inline constexpr int kExitVerifierError = 8;        // the verifier refused the request (RPC error)

// Prints "bootgate-agent: <message>" on stderr and returns the exit code for the status.
int ReportError(const absl::Status& status);
int UsageError(const std::string& message, const std::string& command);

// Flags every command accepts (besides its own).
void AddCommonFlags(FlagSpec* spec);
inline constexpr char kCommonFlagsHelp[] =
    "  --tcti CONF        TPM connection (tpm2-tss TCTI string); default device:/dev/tpmrm0.\n"
    "                     Examples: swtpm:host=127.0.0.1,port=2321  mssim:host=...  tabrmd\n"
    "  --state-dir DIR    where the AK is kept; default /var/lib/bootgate-agent\n"
    "  --ek SLOT          EK for new AKs and for activation: rsa (default), ecc, or a slot id\n"
    "                     (rsa2048, ecc-p256, rsa2048-high, ecc-p256-high, ecc-p384, ecc-p521,\n"
    "                     rsa3072, rsa4096)\n"
    "  --config FILE      JSON or YAML configuration (docs/agent.md): tcti, state_dir, ek,\n"
    "                     ak_alg, eventlog, ima_log, verifier, ca, timeout, hostname and the\n"
    "                     `run` keys; unknown keys are errors; command-line flags win\n"
    "  -h, --help         this help\n";

// Command-line flags layered over the --config file: a flag wins over the file's key.
class Settings {
 public:
  static absl::StatusOr<Settings> Load(Flags flags);

  std::string Get(const std::string& flag, const std::string& config_key,
                  const std::string& def) const;
  // The flag was given or the config file sets the key.
  bool Has(const std::string& flag, const std::string& config_key) const;
  const Flags& flags() const { return flags_; }

 private:
  Settings(Flags flags, nlohmann::json config)
      : flags_(std::move(flags)), config_(std::move(config)) {}

  Flags flags_;
  nlohmann::json config_;
};

// AgentOptions from the settings. An explicit --ak-alg also requires an existing AK to match.
absl::StatusOr<AgentOptions> AgentOptionsFrom(const Settings& settings);

// The common start of every command: parses `args` against `spec` plus the common flags, loads the
// settings and agent options. When `settings` is empty the command ends with `exit_code` (help was
// printed, or a usage error reported).
struct CommandStart {
  std::optional<Settings> settings;
  AgentOptions options;
  int exit_code = kExitOk;
};
CommandStart StartCommand(const std::vector<std::string>& args, FlagSpec spec,
                          const std::string& command, const char* usage);

int RunInfo(const std::vector<std::string>& args);      // info_cmd.cc
int RunAk(const std::vector<std::string>& args);        // ak_cmd.cc
int RunQuote(const std::vector<std::string>& args);     // quote_cmd.cc
int RunActivate(const std::vector<std::string>& args);  // activate_cmd.cc
int RunEnroll(const std::vector<std::string>& args);    // enroll_cmd.cc
int RunAttest(const std::vector<std::string>& args);    // attest_cmd.cc
int RunJoin(const std::vector<std::string>& args);      // join_cmd.cc
int RunRun(const std::vector<std::string>& args);       // run_cmd.cc (the daemon)

// This host's name (gethostname), "" when unknown.
std::string LocalHostname();

// Reports an error of the enroll/attest/join flows: verifier RPC errors get exit code 7
// (unreachable, deadline) or 8 (refused); everything else as ReportError.
int ReportFlowError(const absl::Status& status);
// Flags enroll, attest and join share: --verifier HOST:PORT, --ca FILE, --timeout SECONDS.
void AddVerifierFlags(FlagSpec* spec);
// Connects to --verifier with --ca. Returns kExitOk and sets `client`, or reports the error and
// returns the exit code.
int ConnectVerifier(const Settings& settings, const std::string& command,
                    std::unique_ptr<VerifierClient>* client);
// The firmware event log of --eventlog (default: securityfs). Returns kExitOk and sets `log`, or
// reports the error and returns the exit code.
int ReadEventLogSetting(const Settings& settings, attest::Bytes* log);
inline constexpr char kVerifierFlagsHelp[] =
    "  --verifier HOST:PORT  the verifier's agent port\n"
    "  --ca FILE             PEM CA bundle the verifier's TLS certificate must chain to\n"
    "  --timeout SECONDS     per-RPC deadline (default 30)\n";

}  // namespace bootgate::agent::cli

#endif  // BOOTGATE_NODE_AGENT_CLI_COMMANDS_H_
