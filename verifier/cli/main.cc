// bootgate: offline tools over the attestation core.
#include <cstdio>
#include <string>
#include <vector>

#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"

namespace {

constexpr char kUsage[] = R"(bootgate - measured-boot attestation tools

Usage:
  bootgate eventlog show FILE [--json]        decode a TCG event log
  bootgate eventlog replay FILE --json        replay a log into PCR values per bank
  bootgate quote verify --ak AK --quote QUOTE --signature SIG --nonce HEX
                        [--eventlog LOG] [--pcrs PCRS.json] [--json]
                                              verify a TPM2 quote, check by check
  bootgate policy learn --eventlog LOG [--name N] [--version V] [--out FILE]
  bootgate policy sign --key KEY.pem [--detached] POLICY
  bootgate policy verify --pub PUB.pem POLICY [--sig FILE.sig]
  bootgate policy check --policy P (--pub PUB.pem | --allow-unsigned) --eventlog LOG
                        [--pcrs PCRS.json] [--labels k=v,...] [--at TIME] [--json]
                                              golden-measurement policies (docs/policy.md)
  bootgate nodes list|show ID|revoke ID [--json]
                                              enrolled nodes (verifier admin API, mutual TLS)
  bootgate attestations list [--node ID] [--json]
  bootgate attestations show ID [--json]      attestation records with their findings
  bootgate tokens list [--json]               issued join tokens
  bootgate policies list|push FILE [--json]   the verifier's policy in force; add a policy file
        admin commands connect with --config VERIFIER.yaml|DIR, or --server --ca --cert --key
  bootgate audit export --config CFG --out DIR [--since T] [--until T] [--node ID]
                                              signed audit bundle from the store (read-only)
  bootgate audit verify DIR --ca EK-CA --verifier-pub PEM
                                              re-check a bundle offline
  bootgate report --store DB --format html|json|csv [--since T] [--out F]
                                              fleet report from the store (read-only)
  bootgate COMMAND --help                     help for one command

Exit codes:
  0  success (for `quote verify`: every check passed)
  1  evidence was checked and rejected (a verdict, with named findings)
  2  usage error (unknown command or flag, missing argument)
  3  input unreadable or malformed (file missing, log or structure does not parse)
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? bootgate::cli::kExitUsage : bootgate::cli::kExitOk;
  }
  std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "eventlog") return bootgate::cli::RunEventlogCommand(rest);
  if (command == "quote") return bootgate::cli::RunQuoteCommand(rest);
  if (command == "policy") return bootgate::cli::RunPolicyCommand(rest);
  if (command == "nodes") return bootgate::cli::RunNodesCommand(rest);
  if (command == "attestations") return bootgate::cli::RunAttestationsCommand(rest);
  if (command == "tokens") return bootgate::cli::RunTokensCommand(rest);
  if (command == "policies") return bootgate::cli::RunPoliciesCommand(rest);
  if (command == "audit") return bootgate::cli::RunAuditCommand(rest);
  if (command == "report") return bootgate::cli::RunReportCommand(rest);
  std::fprintf(stderr, "bootgate: unknown command '%s' (see bootgate --help)\n", command.c_str());
  return bootgate::cli::kExitUsage;
}
