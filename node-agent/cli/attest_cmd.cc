// bootgate-agent attest: one attestation of the boot to the verifier.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/commands.h"
#include "node-agent/client/verifier_client.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent attest --verifier HOST:PORT --ca FILE [--eventlog PATH] [--json]\n"
    "                             [common flags]\n"
    "\n"
    "Gets a challenge from the verifier, quotes its nonce over the challenged PCRs with the AK,\n"
    "sends the quote, the PCR values and the firmware event log, and prints the verdict, the\n"
    "attestation id and each finding. Needs a previous 'bootgate-agent enroll'.\n"
    "Exit code 0 when the verdict is affirming, 1 when it is not.\n"
    "\n"
    "  --eventlog PATH       firmware event log; default\n"
    "                        /sys/kernel/security/tpm0/binary_bios_measurements\n"
    "  --json                print {\"verdict\", \"attestation_id\", \"node_id\", \"findings\"}\n";

}  // namespace

int RunAttest(const std::vector<std::string>& args) {
  FlagSpec spec;
  AddVerifierFlags(&spec);
  spec.value_flags.insert("eventlog");
  spec.bool_flags.insert("json");
  static const std::string usage = absl::StrCat(kUsage, kVerifierFlagsHelp);
  CommandStart start = StartCommand(args, spec, "attest", usage.c_str());
  if (!start.settings.has_value()) return start.exit_code;
  const Settings& settings = *start.settings;

  std::unique_ptr<VerifierClient> client;
  if (int rc = ConnectVerifier(settings, "attest", &client); rc != kExitOk) return rc;
  absl::StatusOr<std::string> node_id = ReadNodeId(start.options.state_dir);
  if (!node_id.ok()) return ReportError(node_id.status());
  attest::Bytes event_log;
  if (int rc = ReadEventLogSetting(settings, &event_log); rc != kExitOk) return rc;
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  absl::StatusOr<v1::AttestResponse> response =
      Attest(**agent, *client, *node_id, event_log, /*request_join_token=*/false);
  if (!response.ok()) return ReportFlowError(response.status());

  if (settings.flags().Has("json")) {
    nlohmann::json findings = nlohmann::json::array();
    for (const v1::Finding& f : response->findings()) {
      findings.push_back({{"code", f.code()}, {"detail", f.detail()}});
    }
    std::cout << nlohmann::json({{"verdict", VerdictName(response->verdict())},
                                 {"attestation_id", response->attestation_id()},
                                 {"node_id", *node_id},
                                 {"findings", findings}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << DescribeAttestation(*response);
  }
  return response->verdict() == v1::VERDICT_AFFIRMING ? kExitOk : kExitFailed;
}

}  // namespace bootgate::agent::cli
