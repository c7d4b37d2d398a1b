// bootgate-verifier's YAML configuration (docs/verifier.md documents every key and default).
// Strict: unknown keys, wrong types and invalid values are errors naming the key. Relative paths
// are resolved against the configuration file's directory.
#ifndef BOOTGATE_VERIFIER_CONFIG_CONFIG_H_
#define BOOTGATE_VERIFIER_CONFIG_CONFIG_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attest/tpm/pcr_selection.h"

namespace bootgate::verifier {

struct TlsConfig {
  std::string ca;    // CA certificate(s): admin client certificates must chain to it
  std::string cert;  // server certificate chain (PEM)
  std::string key;   // server private key (PEM)
};

// Exactly one of `file` and `exec` is set.
struct IssuerConfig {
  std::string file;  // append "token node expiry" lines (demos, tests)
  std::string exec;  // command template with {token} {ttl} {node}, run without a shell
  absl::Duration timeout = absl::Seconds(30);
};

struct LimitsConfig {
  size_t max_message_bytes = 8u << 20;
  size_t max_event_log_bytes = 2u << 20;
  size_t max_ima_log_bytes = 4u << 20;
};

// Node states (docs/verifier.md "Node states").
struct NodesConfig {
  // A node in state enrolled or trusted without an affirming attestation for this long is stale.
  absl::Duration attestation_deadline = absl::Hours(1);
  // How often the verifier looks for stale nodes (and re-checks its health).
  absl::Duration check_interval = absl::Seconds(30);
};

// State-change notifications (docs/verifier.md "Notifications").
struct NotificationsConfig {
  std::string webhook_url;          // http://HOST:PORT/PATH; "" = no webhook
  std::string webhook_secret_file;  // HMAC-SHA256 key (required with webhook_url)
  absl::Duration webhook_timeout = absl::Seconds(10);
  // argv template with {node} {old} {new} {reasons} {attestation}, run without a shell.
  std::string exec;
  absl::Duration exec_timeout = absl::Seconds(30);
  absl::Duration retry_initial = absl::Seconds(5);
  absl::Duration retry_max = absl::Minutes(10);
  absl::Duration poll_interval = absl::Seconds(1);
};

// Prometheus text endpoint (docs/verifier.md "Metrics").
struct MetricsConfig {
  std::string listen;  // loopback HOST:PORT; "" = off
};

// The admin client credentials the `bootgate` CLI uses with `--config` (not used by the server).
struct AdminClientConfig {
  std::string cert;
  std::string key;
};

struct VerifierConfig {
  std::string path;  // the configuration file ("" when parsed from text)
  std::string listen = "127.0.0.1:7443";
  std::string admin_listen = "127.0.0.1:7444";
  TlsConfig tls;
  std::string database = "bootgate.db";
  std::string ek_ca;
  std::string ek_allow_list;
  absl::Duration nonce_ttl = absl::Minutes(2);
  absl::Duration enrollment_ttl = absl::Minutes(5);
  std::string pcr_selection_spec = "sha256:0-9,11,14";
  attest::PcrSelection pcr_selection;
  std::string policy;      // a PCR-value policy file, or
  std::string policy_dir;  // a directory of golden-image policy documents (docs/policy.md)
  std::vector<std::string> policy_keys;  // PEM public keys whose policy signatures are trusted
  absl::Duration policy_reload_interval = absl::Seconds(5);  // 0 = no hot reload
  absl::Duration token_ttl = absl::Hours(1);
  IssuerConfig issuer;
  std::string ear_signing_key;
  std::string verifier_id = "bootgate-verifier";
  std::string log_format = "text";
  LimitsConfig limits;
  AdminClientConfig admin_client;
  NodesConfig nodes;
  NotificationsConfig notifications;
  MetricsConfig metrics;
};

// Parses configuration text; relative paths are resolved against `base_dir`.
absl::StatusOr<VerifierConfig> ParseConfig(absl::string_view yaml, const std::string& base_dir);
// Reads and parses a file; accepts a directory too (then DIR/verifier.yaml, as `init` writes).
absl::StatusOr<VerifierConfig> LoadConfigFile(const std::string& path);

// The configuration `bootgate-verifier init` writes (paths relative to its directory).
std::string DevConfigYaml(const std::string& ek_ca);

inline constexpr char kConfigFileName[] = "verifier.yaml";

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_CONFIG_CONFIG_H_
