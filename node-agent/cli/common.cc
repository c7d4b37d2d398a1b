#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "node-agent/cli/commands.h"
#include "node-agent/io/files.h"
#include "node-agent/tpm/tss_error.h"
#include "yaml-cpp/yaml.h"

namespace bootgate::agent::cli {
namespace {

constexpr size_t kMaxConfigBytes = 64 * 1024;
// Keys of the configuration file (docs/agent.md, "Configuration file"). The first six apply to
// every command; the others to enroll/attest/join (verifier, ca, timeout, hostname) and `run`.
const char* const kConfigKeys[] = {"tcti",
                                   "state_dir",
                                   "ek",
                                   "ak_alg",
                                   "eventlog",
                                   "ima_log",
                                   "verifier",
                                   "ca",
                                   "timeout",
                                   "hostname",
                                   "interval",
                                   "jitter",
                                   "boot_check_interval",
                                   "backoff_initial",
                                   "backoff_max",
                                   "status_file",
                                   "max_consecutive_failures"};

std::string KnownKeys() {
  std::string out;
  for (const char* k : kConfigKeys) absl::StrAppend(&out, out.empty() ? "" : ", ", k);
  return out;
}

// YAML (a mapping of scalars) as a JSON object of strings. yaml-cpp reports errors with
// exceptions; they stop here.
absl::StatusOr<nlohmann::json> YamlToJson(const std::string& path, const std::string& text) {
  try {
    const YAML::Node root = YAML::Load(text);
    if (root.IsNull()) return nlohmann::json::object();
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": not a mapping of keys to values"));
    }
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (!kv.second.IsScalar()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": \"", key, "\" must be a single value"));
      }
      out[key] = kv.second.as<std::string>();
    }
    return out;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not JSON or YAML: ", e.what()));
  }
}

absl::StatusOr<nlohmann::json> ReadConfig(const Flags& flags) {
  if (!flags.Has("config")) return nlohmann::json::object();
  const std::string path = flags.Get("config");
  ASSIGN_OR_RETURN(attest::Bytes data, ReadFileCapped(path, kMaxConfigBytes));
  nlohmann::json j = nlohmann::json::parse(data.begin(), data.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    ASSIGN_OR_RETURN(j, YamlToJson(path, std::string(data.begin(), data.end())));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a JSON object or YAML mapping"));
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& item : j.items()) {
    const bool known = std::find(std::begin(kConfigKeys), std::end(kConfigKeys), item.key()) !=
                       std::end(kConfigKeys);
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": unknown key \"", item.key(), "\" (known: ", KnownKeys(), ")"));
    }
    // Values are kept as text (the commands parse them); integers are converted, anything else
    // (lists, objects, booleans) is refused.
    if (item.value().is_string()) {
      out[item.key()] = item.value();
    } else if (item.value().is_number_integer()) {
      out[item.key()] = item.value().dump();
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": \"", item.key(), "\" must be a string or an integer"));
    }
  }
  return out;
}

}  // namespace

int ReportError(const absl::Status& status) {
  std::cerr << "bootgate-agent: " << status.message() << "\n";
  const std::optional<TpmErrorKind> kind = GetTpmErrorKind(status);
  if (!kind.has_value()) return kExitFailed;
  switch (*kind) {
    case TpmErrorKind::kNoTpm:
      return kExitNoTpm;
    case TpmErrorKind::kTctiUnreachable:
      return kExitTctiUnreachable;
    case TpmErrorKind::kLockout:
      return kExitLockout;
    case TpmErrorKind::kAuthFailure:
      return kExitAuthFailure;
    case TpmErrorKind::kOutOfObjectMemory:
    case TpmErrorKind::kTpmError:
      return kExitFailed;
  }
  return kExitFailed;
}

int UsageError(const std::string& message, const std::string& command) {
  std::cerr << "bootgate-agent: " << message << "\n"
            << "Run 'bootgate-agent " << command << " --help' for usage.\n";
  return kExitUsage;
}

void AddCommonFlags(FlagSpec* spec) {
  spec->value_flags.insert({"tcti", "state-dir", "ek", "config"});
}

absl::StatusOr<Settings> Settings::Load(Flags flags) {
  ASSIGN_OR_RETURN(nlohmann::json config, ReadConfig(flags));
  return Settings(std::move(flags), std::move(config));
}

std::string Settings::Get(const std::string& flag, const std::string& config_key,
                          const std::string& def) const {
  if (flags_.Has(flag)) return flags_.Get(flag);
  if (config_.contains(config_key)) return config_[config_key].get<std::string>();
  return def;
}

bool Settings::Has(const std::string& flag, const std::string& config_key) const {
  return flags_.Has(flag) || config_.contains(config_key);
}

absl::StatusOr<AgentOptions> AgentOptionsFrom(const Settings& settings) {
  AgentOptions options;
  options.tcti = settings.Get("tcti", "tcti", kDefaultTcti);
  options.state_dir = settings.Get("state-dir", "state_dir", kDefaultStateDir);
  options.ek = settings.Get("ek", "ek", "rsa");
  ASSIGN_OR_RETURN(options.ak_alg, ParseAkAlg(settings.Get("ak-alg", "ak_alg", "rsa")));
  options.require_ak_alg = settings.flags().Has("ak-alg");
  if (options.state_dir.empty()) return absl::InvalidArgumentError("empty --state-dir");
  return options;
}

CommandStart StartCommand(const std::vector<std::string>& args, FlagSpec spec,
                          const std::string& command, const char* usage) {
  CommandStart start;
  AddCommonFlags(&spec);
  absl::StatusOr<Flags> flags = ParseFlags(args, spec);
  if (!flags.ok()) {
    start.exit_code = UsageError(std::string(flags.status().message()), command);
    return start;
  }
  if (flags->help) {
    std::cout << usage << "\nCommon flags:\n" << kCommonFlagsHelp;
    start.exit_code = kExitOk;
    return start;
  }
  absl::StatusOr<Settings> settings = Settings::Load(*std::move(flags));
  if (!settings.ok()) {
    start.exit_code = UsageError(std::string(settings.status().message()), command);
    return start;
  }
  absl::StatusOr<AgentOptions> options = AgentOptionsFrom(*settings);
  if (!options.ok()) {
    start.exit_code = UsageError(std::string(options.status().message()), command);
    return start;
  }
  start.options = *std::move(options);
  start.settings = *std::move(settings);
  return start;
}

}  // namespace bootgate::agent::cli
