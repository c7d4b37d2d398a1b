// bootgate-agent activate: TPM2_ActivateCredential with the AK and the EK.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "attest/tpm/make_credential.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/commands.h"
#include "node-agent/io/files.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent activate --credential-blob FILE --secret FILE [--json] [common flags]\n"
    "       bootgate-agent activate --credential FILE [--json] [common flags]\n"
    "\n"
    "Recovers a credential made with TPM2_MakeCredential for this TPM's EK (--ek) and the AK's\n"
    "name, using PolicySecret(TPM_RH_ENDORSEMENT) for the EK, and prints it as hex.\n"
    "\n"
    "  --credential-blob FILE  TPM2B_ID_OBJECT (marshalled, with its size prefix)\n"
    "  --secret FILE           TPM2B_ENCRYPTED_SECRET (marshalled, with its size prefix)\n"
    "  --credential FILE       both, in tpm2-tools' tpm2_makecredential output format\n"
    "  --json                  print {\"secret\": \"<hex>\"}\n";

constexpr size_t kMaxCredentialFileBytes = 4096;

}  // namespace

int RunActivate(const std::vector<std::string>& args) {
  FlagSpec spec;
  spec.value_flags.insert({"credential-blob", "secret", "credential"});
  spec.bool_flags.insert("json");
  CommandStart start = StartCommand(args, spec, "activate", kUsage);
  if (!start.settings.has_value()) return start.exit_code;
  const Flags& flags = start.settings->flags();

  const bool split = flags.Has("credential-blob") && flags.Has("secret");
  const bool combined = flags.Has("credential");
  if (split == combined || (!split && (flags.Has("credential-blob") || flags.Has("secret")))) {
    return UsageError("give --credential-blob and --secret, or --credential", "activate");
  }
  attest::MadeCredential credential;
  if (combined) {
    absl::StatusOr<attest::Bytes> file =
        ReadFileCapped(flags.Get("credential"), kMaxCredentialFileBytes);
    if (!file.ok()) return ReportError(file.status());
    absl::StatusOr<attest::MadeCredential> parsed = attest::ParseTpm2ToolsCredential(*file);
    if (!parsed.ok()) return ReportError(parsed.status());
    credential = *std::move(parsed);
  } else {
    absl::StatusOr<attest::Bytes> blob =
        ReadFileCapped(flags.Get("credential-blob"), kMaxCredentialFileBytes);
    if (!blob.ok()) return ReportError(blob.status());
    absl::StatusOr<attest::Bytes> secret =
        ReadFileCapped(flags.Get("secret"), kMaxCredentialFileBytes);
    if (!secret.ok()) return ReportError(secret.status());
    credential.credential_blob = *std::move(blob);
    credential.secret = *std::move(secret);
  }

  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  absl::StatusOr<attest::Bytes> recovered =
      (*agent)->ActivateCredential(credential.credential_blob, credential.secret);
  if (!recovered.ok()) return ReportError(recovered.status());
  if (flags.Has("json")) {
    std::cout << nlohmann::json({{"secret", attest::HexEncode(*recovered)}}).dump() << "\n";
  } else {
    std::cout << attest::HexEncode(*recovered) << "\n";
  }
  return kExitOk;
}

}  // namespace bootgate::agent::cli
