// bootgate-agent enroll: enrolls the AK with the verifier (docs/api.md, "What the agent does").
#include <unistd.h>

#include <climits>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/commands.h"
#include "node-agent/client/verifier_client.h"
#include "node-agent/io/event_logs.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent enroll --verifier HOST:PORT --ca FILE [--json] [common flags]\n"
    "\n"
    "Sends every EK certificate, the EK public and the AK public (the AK is created when missing)\n"
    "to the verifier, recovers its credential challenge with TPM2_ActivateCredential and finishes\n"
    "the enrollment. The node id is printed and kept in STATE_DIR/node_id (mode 0600).\n"
    "Exit code 1 when the verifier rejects the enrollment (its findings are printed).\n"
    "\n"
    "  --hostname NAME       label sent with the enrollment (default: this host's name)\n"
    "  --labels K=V[,K=V]    node-group labels (e.g. group=workers); the verifier's policy picks\n"
    "                        the golden images a node must match by them\n"
    "  --json                print {\"enrolled\", \"node_id\", \"enrollment_id\", \"findings\"}\n";

}  // namespace

std::string LocalHostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

void AddVerifierFlags(FlagSpec* spec) { spec->value_flags.insert({"verifier", "ca", "timeout"}); }

int ReportFlowError(const absl::Status& status) {
  if (!IsVerifierRpcError(status)) return ReportError(status);
  std::cerr << "bootgate-agent: " << status.message() << "\n";
  if (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status)) {
    return kExitVerifierUnreachable;
  }
  return kExitVerifierError;
}

int ConnectVerifier(const Settings& settings, const std::string& command,
                    std::unique_ptr<VerifierClient>* client) {
  const std::string target = settings.Get("verifier", "verifier", "");
  const std::string ca = settings.Get("ca", "ca", "");
  if (target.empty()) return UsageError("--verifier HOST:PORT is required", command);
  if (ca.empty()) return UsageError("--ca FILE is required", command);
  int timeout = 30;
  if (settings.Has("timeout", "timeout") &&
      (!absl::SimpleAtoi(settings.Get("timeout", "timeout", "30"), &timeout) || timeout < 1 ||
       timeout > 3600)) {
    return UsageError("--timeout must be 1-3600 seconds", command);
  }
  absl::StatusOr<std::unique_ptr<VerifierClient>> connected =
      VerifierClient::Connect(target, ca, timeout);
  if (!connected.ok()) {
    if (absl::IsInvalidArgument(connected.status())) {
      return UsageError(std::string(connected.status().message()), command);
    }
    return ReportError(connected.status());
  }
  *client = *std::move(connected);
  return kExitOk;
}

int ReadEventLogSetting(const Settings& settings, attest::Bytes* log) {
  absl::StatusOr<attest::Bytes> read =
      ReadFirmwareEventLog(settings.Get("eventlog", "eventlog", kDefaultFirmwareLogPath));
  if (!read.ok()) return ReportError(read.status());
  *log = *std::move(read);
  return kExitOk;
}

int RunEnroll(const std::vector<std::string>& args) {
  FlagSpec spec;
  AddVerifierFlags(&spec);
  spec.value_flags.insert({"hostname", "labels"});
  spec.bool_flags.insert("json");
  static const std::string usage = absl::StrCat(kUsage, kVerifierFlagsHelp);
  CommandStart start = StartCommand(args, spec, "enroll", usage.c_str());
  if (!start.settings.has_value()) return start.exit_code;
  const Settings& settings = *start.settings;

  std::unique_ptr<VerifierClient> client;
  if (int rc = ConnectVerifier(settings, "enroll", &client); rc != kExitOk) return rc;
  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  const std::string hostname = settings.Get("hostname", "hostname", LocalHostname());
  std::map<std::string, std::string> labels;
  if (settings.flags().Has("labels")) {
    for (absl::string_view item :
         absl::StrSplit(settings.flags().Get("labels"), ',', absl::SkipEmpty())) {
      const size_t eq = item.find('=');
      if (eq == absl::string_view::npos || eq == 0) {
        return UsageError(absl::StrCat("--labels: '", item, "' is not KEY=VALUE"), "enroll");
      }
      labels[std::string(item.substr(0, eq))] = std::string(item.substr(eq + 1));
    }
  }
  absl::StatusOr<EnrollResult> result = Enroll(**agent, *client, hostname, labels);
  if (!result.ok()) return ReportFlowError(result.status());

  if (settings.flags().Has("json")) {
    nlohmann::json findings = nlohmann::json::array();
    for (const v1::Finding& f : result->findings) {
      findings.push_back({{"code", f.code()}, {"detail", f.detail()}});
    }
    std::cout << nlohmann::json({{"enrolled", result->enrolled},
                                 {"node_id", result->node_id},
                                 {"enrollment_id", result->enrollment_id},
                                 {"findings", findings}})
                     .dump(2)
              << "\n";
  } else if (result->enrolled) {
    std::cout << result->node_id << "\n";
  } else {
    std::cout << "enrollment " << result->enrollment_id << " rejected\n";
    for (const v1::Finding& f : result->findings) {
      std::cout << "  " << f.code() << ": " << f.detail() << "\n";
    }
  }
  return result->enrolled ? kExitOk : kExitFailed;
}

}  // namespace bootgate::agent::cli
