// Top-level subcommands of the bootgate CLI. Each takes the arguments after its name and returns
// the process exit code (see args.h).
#ifndef BOOTGATE_VERIFIER_CLI_COMMANDS_H_
#define BOOTGATE_VERIFIER_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace bootgate::cli {

int RunEventlogCommand(const std::vector<std::string>& args);  // eventlog_cmd.cc
int RunQuoteCommand(const std::vector<std::string>& args);     // quote_cmd.cc
int RunPolicyCommand(const std::vector<std::string>& args);    // policy_cmd.cc
// `bootgate policy from-image` (dispatched by RunPolicyCommand): policy_from_image_cmd.cc.
int RunPolicyFromImageCommand(const std::vector<std::string>& args);
// Admin client of the verifier (mutual TLS): admin_cmd.cc.
int RunNodesCommand(const std::vector<std::string>& args);
int RunAttestationsCommand(const std::vector<std::string>& args);
int RunTokensCommand(const std::vector<std::string>& args);
int RunPoliciesCommand(const std::vector<std::string>& args);
// Offline tools over the store: audit_cmd.cc, report_cmd.cc.
int RunAuditCommand(const std::vector<std::string>& args);
int RunReportCommand(const std::vector<std::string>& args);

}  // namespace bootgate::cli

#endif  // BOOTGATE_VERIFIER_CLI_COMMANDS_H_
