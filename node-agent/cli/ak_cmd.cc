// bootgate-agent ak: the attestation key, created when missing.
#include <iostream>

#include "attest/tpm/key_checks.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/commands.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent ak [--ak-alg rsa|ecc] [--json] [common flags]\n"
    "\n"
    "Prints the AK kept in the state directory, creating it under the EK (--ek) first when there\n"
    "is none: a restricted signing key, RSA-2048 RSASSA-SHA256 (rsa, default) or ECC P-256\n"
    "ECDSA-SHA256 (ecc). Files: STATE/ak.pub (TPM2B_PUBLIC), ak.priv (TPM2B_PRIVATE), ak.name,\n"
    "ak.parent, all 0600.\n"
    "\n"
    "  --ak-alg rsa|ecc   algorithm of a new AK; an existing AK of the other algorithm is an "
    "error\n"
    "  --json             one JSON object: name, key, attributes, parent_ek, public (hex)\n";

}  // namespace

int RunAk(const std::vector<std::string>& args) {
  FlagSpec spec;
  spec.value_flags.insert("ak-alg");
  spec.bool_flags.insert("json");
  CommandStart start = StartCommand(args, spec, "ak", kUsage);
  if (!start.settings.has_value()) return start.exit_code;

  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  absl::StatusOr<AkState> ak = (*agent)->EnsureAk();
  if (!ak.ok()) return ReportError(ak.status());

  const nlohmann::json j = {
      {"state_dir", ak->state_dir},
      {"name", attest::HexEncode(ak->blob.name)},
      {"key", attest::DescribeKey(ak->public_area)},
      {"attributes", attest::DescribeObjectAttributes(ak->public_area.objectAttributes)},
      {"parent_ek", ak->blob.parent_slot},
      {"public", attest::HexEncode(ak->blob.public_blob)},
  };
  if (start.settings->flags().Has("json")) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "AK " << j["key"].get<std::string>() << " in " << ak->state_dir << " under EK "
              << ak->blob.parent_slot << "\n"
              << "  name:       " << j["name"].get<std::string>() << "\n"
              << "  attributes: " << j["attributes"].get<std::string>() << "\n";
  }
  return kExitOk;
}

}  // namespace bootgate::agent::cli
