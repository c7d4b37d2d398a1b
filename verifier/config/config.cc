#include "verifier/config/config.h"

#include <functional>
#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "attest/util/status_macros.h"
#include "verifier/notify/sinks.h"
#include "verifier/tokens/issuer.h"
#include "verifier/util/files.h"
#include "verifier/util/subprocess.h"
#include "verifier/util/yaml_boundary.h"

namespace bootgate::verifier {

namespace {

// Reads one mapping strictly: every key must be handled by one of `handlers`.
using Handler = std::function<absl::Status(const YAML::Node&, const std::string& key_path)>;

absl::Status WalkMap(const YAML::Node& node, const std::string& prefix,
                     const std::map<std::string, Handler>& handlers) {
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix.empty() ? "configuration" : prefix, ": expected a mapping"));
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const std::string path = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    auto it = handlers.find(key);
    if (it == handlers.end()) {
      std::vector<std::string> known;
      for (const auto& h : handlers) known.push_back(h.first);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown configuration key '", path, "' (known here: ", absl::StrJoin(known, ", "), ")"));
    }
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat("configuration key '", path, "' given twice"));
    }
    RETURN_IF_ERROR(it->second(kv.second, path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Scalar(const YAML::Node& n, const std::string& path) {
  if (n.IsNull()) return std::string();
  if (!n.IsScalar()) return absl::InvalidArgumentError(absl::StrCat(path, ": expected a string"));
  return n.as<std::string>();
}

Handler String(std::string* out) {
  return [out](const YAML::Node& n, const std::string& path) -> absl::Status {
    ASSIGN_OR_RETURN(*out, Scalar(n, path));
    return absl::OkStatus();
  };
}

Handler Duration(absl::Duration* out) {
  return [out](const YAML::Node& n, const std::string& path) -> absl::Status {
    ASSIGN_OR_RETURN(std::string text, Scalar(n, path));
    absl::Duration d;
    if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": '", text, "' is not a positive duration (examples: 90s, 5m, 1h30m)"));
    }
    *out = d;
    return absl::OkStatus();
  };
}

// A duration where 0 turns the feature off.
Handler DurationOrZero(absl::Duration* out) {
  return [out](const YAML::Node& n, const std::string& path) -> absl::Status {
    ASSIGN_OR_RETURN(std::string text, Scalar(n, path));
    absl::Duration d;
    if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": '", text, "' is not a duration (examples: 0 = off, 5s, 1m)"));
    }
    *out = d;
    return absl::OkStatus();
  };
}

// A sequence of strings, or one string.
Handler StringList(std::vector<std::string>* out) {
  return [out](const YAML::Node& n, const std::string& path) -> absl::Status {
    out->clear();
    if (n.IsScalar()) {
      out->push_back(n.as<std::string>());
      return absl::OkStatus();
    }
    if (!n.IsSequence()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": expected a list of strings"));
    }
    for (size_t i = 0; i < n.size(); ++i) {
      ASSIGN_OR_RETURN(std::string item, Scalar(n[i], absl::StrCat(path, "[", i, "]")));
      if (item.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(path, "[", i, "]: empty"));
      }
      out->push_back(std::move(item));
    }
    return absl::OkStatus();
  };
}

Handler Size(size_t* out) {
  return [out](const YAML::Node& n, const std::string& path) -> absl::Status {
    ASSIGN_OR_RETURN(std::string text, Scalar(n, path));
    uint64_t v = 0;
    if (!absl::SimpleAtoi(text, &v) || v == 0 || v > (uint64_t{1} << 31)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": '", text, "' is not a byte count between 1 and 2147483648"));
    }
    *out = static_cast<size_t>(v);
    return absl::OkStatus();
  };
}

absl::Status CheckListen(const std::string& value, const std::string& key) {
  const size_t colon = value.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(value.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": '", value, "' is not HOST:PORT (e.g. 127.0.0.1:7443; port 0 = any)"));
  }
  return absl::OkStatus();
}

absl::Status Require(const std::string& value, const std::string& key) {
  if (value.empty())
    return absl::InvalidArgumentError(absl::StrCat("missing configuration key '", key, "'"));
  return absl::OkStatus();
}

absl::Status ParseInto(const YAML::Node& root, VerifierConfig* c) {
  std::map<std::string, Handler> tls = {
      {"ca", String(&c->tls.ca)}, {"cert", String(&c->tls.cert)}, {"key", String(&c->tls.key)}};
  std::map<std::string, Handler> issuer = {{"file", String(&c->issuer.file)},
                                           {"exec", String(&c->issuer.exec)},
                                           {"timeout", Duration(&c->issuer.timeout)}};
  std::map<std::string, Handler> limits = {
      {"max_message_bytes", Size(&c->limits.max_message_bytes)},
      {"max_event_log_bytes", Size(&c->limits.max_event_log_bytes)},
      {"max_ima_log_bytes", Size(&c->limits.max_ima_log_bytes)}};
  std::map<std::string, Handler> admin_client = {{"cert", String(&c->admin_client.cert)},
                                                 {"key", String(&c->admin_client.key)}};
  std::map<std::string, Handler> nodes = {
      {"attestation_deadline", Duration(&c->nodes.attestation_deadline)},
      {"check_interval", Duration(&c->nodes.check_interval)}};
  std::map<std::string, Handler> webhook = {
      {"url", String(&c->notifications.webhook_url)},
      {"secret_file", String(&c->notifications.webhook_secret_file)},
      {"timeout", Duration(&c->notifications.webhook_timeout)}};
  std::map<std::string, Handler> exec_hook = {
      {"command", String(&c->notifications.exec)},
      {"timeout", Duration(&c->notifications.exec_timeout)}};
  std::map<std::string, Handler> metrics = {{"listen", String(&c->metrics.listen)}};
  auto section = [](std::map<std::string, Handler>* handlers) -> Handler {
    return [handlers](const YAML::Node& n, const std::string& path) {
      return WalkMap(n, path, *handlers);
    };
  };
  std::map<std::string, Handler> notifications = {
      {"webhook", section(&webhook)},
      {"exec", section(&exec_hook)},
      {"retry_initial", Duration(&c->notifications.retry_initial)},
      {"retry_max", Duration(&c->notifications.retry_max)},
      {"poll_interval", Duration(&c->notifications.poll_interval)}};
  std::map<std::string, Handler> top = {
      {"listen", String(&c->listen)},
      {"admin_listen", String(&c->admin_listen)},
      {"tls", section(&tls)},
      {"database", String(&c->database)},
      {"ek_ca", String(&c->ek_ca)},
      {"ek_allow_list", String(&c->ek_allow_list)},
      {"nonce_ttl", Duration(&c->nonce_ttl)},
      {"enrollment_ttl", Duration(&c->enrollment_ttl)},
      {"pcr_selection", String(&c->pcr_selection_spec)},
      {"policy", String(&c->policy)},
      {"policy_dir", String(&c->policy_dir)},
      {"policy_keys", StringList(&c->policy_keys)},
      {"policy_reload_interval", DurationOrZero(&c->policy_reload_interval)},
      {"token_ttl", Duration(&c->token_ttl)},
      {"issuer", section(&issuer)},
      {"ear_signing_key", String(&c->ear_signing_key)},
      {"verifier_id", String(&c->verifier_id)},
      {"log_format", String(&c->log_format)},
      {"limits", section(&limits)},
      {"admin_client", section(&admin_client)},
      {"nodes", section(&nodes)},
      {"notifications", section(&notifications)},
      {"metrics", section(&metrics)},
  };
  return WalkMap(root, "", top);
}

// nodes, notifications and metrics (verifier/state, verifier/notify, verifier/metrics).
absl::Status ValidateWatching(const VerifierConfig* c) {
  const NotificationsConfig& n = c->notifications;
  if (!n.webhook_url.empty()) {
    auto url = ParseHttpUrl(n.webhook_url);
    if (!url.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("notifications.webhook.url: ", url.status().message()));
    }
    if (n.webhook_secret_file.empty()) {
      return absl::InvalidArgumentError(
          "notifications.webhook.secret_file: required with notifications.webhook.url (every "
          "event is HMAC-SHA256 signed)");
    }
  } else if (!n.webhook_secret_file.empty()) {
    return absl::InvalidArgumentError(
        "notifications.webhook.secret_file: set without notifications.webhook.url");
  }
  if (!n.exec.empty()) {
    auto argv = SplitCommandTemplate(n.exec, kNotifyPlaceholders);
    if (!argv.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("notifications.exec.command: ", argv.status().message()));
    }
  }
  if (n.retry_max < n.retry_initial) {
    return absl::InvalidArgumentError(
        "notifications.retry_max: must not be shorter than notifications.retry_initial");
  }
  if (!c->metrics.listen.empty()) {
    RETURN_IF_ERROR(CheckListen(c->metrics.listen, "metrics.listen"));
    const std::string host = c->metrics.listen.substr(0, c->metrics.listen.rfind(':'));
    if (host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1") {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics.listen: '", c->metrics.listen,
          "' is not a loopback address (the endpoint is unauthenticated: use 127.0.0.1:PORT "
          "and a local scraper or proxy)"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(VerifierConfig* c, const std::string& base_dir) {
  RETURN_IF_ERROR(CheckListen(c->listen, "listen"));
  RETURN_IF_ERROR(CheckListen(c->admin_listen, "admin_listen"));
  if (c->listen == c->admin_listen && c->listen.substr(c->listen.rfind(':')) != ":0") {
    return absl::InvalidArgumentError(
        "listen and admin_listen must differ: the admin API requires client certificates and "
        "gets its own port");
  }
  RETURN_IF_ERROR(Require(c->tls.ca, "tls.ca"));
  RETURN_IF_ERROR(Require(c->tls.cert, "tls.cert"));
  RETURN_IF_ERROR(Require(c->tls.key, "tls.key"));
  RETURN_IF_ERROR(Require(c->database, "database"));
  RETURN_IF_ERROR(Require(c->ek_ca, "ek_ca"));
  if (c->policy.empty() == c->policy_dir.empty()) {
    return absl::InvalidArgumentError(
        "set exactly one of 'policy: FILE' (PCR values) and 'policy_dir: DIR' (golden images)");
  }
  if (!c->policy.empty() && !c->policy_keys.empty()) {
    return absl::InvalidArgumentError(
        "policy_keys: only golden-image policies (policy_dir) are signed");
  }
  RETURN_IF_ERROR(Require(c->ear_signing_key, "ear_signing_key"));
  RETURN_IF_ERROR(Require(c->verifier_id, "verifier_id"));
  if (c->log_format != "text" && c->log_format != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("log_format: '", c->log_format, "' is neither 'text' nor 'json'"));
  }
  if (c->nonce_ttl > absl::Hours(1)) {
    return absl::InvalidArgumentError("nonce_ttl: at most 1h (a nonce must be short-lived)");
  }
  auto selection = attest::ParsePcrSelectionSpec(c->pcr_selection_spec);
  if (!selection.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("pcr_selection: ", selection.status().message()));
  }
  if (attest::SelectedPcrCount(*selection) == 0) {
    return absl::InvalidArgumentError("pcr_selection: selects no PCR");
  }
  c->pcr_selection = *std::move(selection);
  if (c->issuer.file.empty() == c->issuer.exec.empty()) {
    return absl::InvalidArgumentError(
        "issuer: set exactly one of 'file: PATH' and 'exec: \"COMMAND {token} {ttl} {node}\"'");
  }
  if (!c->issuer.exec.empty()) {
    auto argv = SplitCommandTemplate(c->issuer.exec);
    if (!argv.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("issuer.exec: ", argv.status().message()));
    }
  }
  RETURN_IF_ERROR(ValidateWatching(c));
  if (c->limits.max_event_log_bytes + c->limits.max_ima_log_bytes >= c->limits.max_message_bytes) {
    return absl::InvalidArgumentError(
        "limits: max_message_bytes must exceed max_event_log_bytes + max_ima_log_bytes");
  }
  for (std::string* p :
       {&c->tls.ca, &c->tls.cert, &c->tls.key, &c->database, &c->ek_ca, &c->ek_allow_list,
        &c->policy, &c->policy_dir, &c->ear_signing_key, &c->issuer.file, &c->admin_client.cert,
        &c->admin_client.key, &c->notifications.webhook_secret_file}) {
    *p = ResolvePath(base_dir, *p);
  }
  for (std::string& key : c->policy_keys) key = ResolvePath(base_dir, key);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<VerifierConfig> ParseConfig(absl::string_view yaml, const std::string& base_dir) {
  VerifierConfig config;
  RETURN_IF_ERROR(CatchYaml("configuration", [&]() -> absl::Status {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsDefined() || root.IsNull()) {
      return absl::InvalidArgumentError("configuration is empty");
    }
    return ParseInto(root, &config);
  }));
  RETURN_IF_ERROR(Validate(&config, base_dir));
  return config;
}

absl::StatusOr<VerifierConfig> LoadConfigFile(const std::string& path) {
  const std::string file = IsDirectory(path) ? absl::StrCat(path, "/", kConfigFileName) : path;
  ASSIGN_OR_RETURN(std::string text, ReadFile(file, 1 << 20));
  auto config = ParseConfig(text, DirName(file));
  if (!config.ok()) {
    return absl::Status(config.status().code(),
                        absl::StrCat(file, ": ", config.status().message()));
  }
  config->path = file;
  return config;
}

std::string DevConfigYaml(const std::string& ek_ca) {
  return absl::StrCat(
      R"(# bootgate-verifier configuration (docs/verifier.md lists every key and its default).
# Written by `bootgate-verifier init` with a development PKI: do not use these keys in production.
# Relative paths are resolved against this file's directory.

# Agent API (enrollment, attestation): server-authenticated TLS.
listen: 127.0.0.1:7443
# Admin API: mutual TLS, client certificates signed by tls.ca.
admin_listen: 127.0.0.1:7444
tls:
  ca: ca.pem
  cert: server.pem
  key: server.key

database: bootgate.db

# Pinned EK CA bundle: a PEM/DER file or a directory of them (TPM vendors' EK roots and
# intermediates). Enrollment fails until it holds the CA of your TPMs' EK certificates.
ek_ca: )",
      ek_ca, R"(
# Optional inventory pinning: one SHA-256 fingerprint (EK certificate DER or EK TPMT_PUBLIC) per line.
# ek_allow_list: ek-allow-list.txt

nonce_ttl: 2m
enrollment_ttl: 5m
pcr_selection: sha256:0-9,11,14
# PCR-value policy (expected values per bank and PCR). `bootgate-verifier policy from-pcrs`
# writes one from a known-good replay.
policy: policy.yaml

token_ttl: 1h
issuer:
  file: tokens.txt
  # exec: "kubeadm token create {token} --ttl {ttl}"

ear_signing_key: ear-signing.key
verifier_id: bootgate-verifier
log_format: text

# Watching the fleet (docs/verifier.md "Node states", "Notifications", "Metrics").
# nodes:
#   attestation_deadline: 1h
#   check_interval: 30s
# notifications:
#   webhook:
#     url: http://127.0.0.1:9000/bootgate
#     secret_file: webhook.secret
#   exec:
#     command: "kubectl cordon {node}"
# metrics:
#   listen: 127.0.0.1:9464

# Used by the `bootgate` admin CLI with --config (not by the server).
admin_client:
  cert: admin.pem
  key: admin.key
)");
}

}  // namespace bootgate::verifier
