// bootgate-agent: the node side of bootgate. main only dispatches to the subcommands.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "node-agent/cli/commands.h"

namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent COMMAND [flags]\n"
    "\n"
    "Commands:\n"
    "  info       the TPM, its EK certificates and publics, the AK state\n"
    "  ak         the attestation key (created under the EK when missing)\n"
    "  quote      quote a nonce over PCRs and write the evidence files\n"
    "  activate   TPM2_ActivateCredential with the AK and the EK\n"
    "  enroll     enroll the AK with a verifier (EK certificates + credential activation)\n"
    "  attest     attest the boot to the verifier (quote + event log) and print the verdict\n"
    "  join       attest and unwrap the TPM-bound join token (to a file or a command)\n"
    "  run        the daemon: enroll once, then attest periodically and at every boot\n"
    "Run 'bootgate-agent COMMAND --help' for a command's flags.\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  the operation failed (TPM error, I/O error, PCRs kept changing, ...)\n"
    "  2  bad command line or configuration\n"
    "  3  no TPM: the TPM device does not exist\n"
    "  4  the TCTI could not reach the TPM (library missing, connection refused, I/O error)\n"
    "  5  the TPM is in dictionary-attack lockout\n"
    "  6  the TPM rejected an authorization (wrong auth value or policy)\n"
    "  7  the verifier could not be reached (network, TLS, deadline)\n"
    "  8  the verifier refused the request (RPC error)\n"
    "enroll/attest/join exit 1 when the verifier rejects the enrollment or the boot.\n";

}  // namespace

int main(int argc, char** argv) {
  namespace cli = bootgate::agent::cli;
  // tpm2-tss logs failed commands to stderr itself; errors are reported once, as one line, by us.
  // An operator's own TSS2_LOG setting wins.
  setenv("TSS2_LOG", "all+NONE", /*overwrite=*/0);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? cli::kExitUsage : cli::kExitOk;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "info") return cli::RunInfo(args);
  if (command == "ak") return cli::RunAk(args);
  if (command == "quote") return cli::RunQuote(args);
  if (command == "activate") return cli::RunActivate(args);
  if (command == "enroll") return cli::RunEnroll(args);
  if (command == "attest") return cli::RunAttest(args);
  if (command == "join") return cli::RunJoin(args);
  if (command == "run") return cli::RunRun(args);
  std::cerr << "bootgate-agent: unknown command \"" << command << "\"\n" << kUsage;
  return cli::kExitUsage;
}
