// Publishing join tokens to the cluster (the RATS Relying Party). Two issuers:
//  - exec: a command template such as `kubeadm token create {token} --ttl {ttl}`, split into argv
//    once at configuration time (quotes group, no shell), placeholders substituted per argument
//    (so a value can never become a new argument or shell syntax), run with fork/execve (the
//    program looked up on PATH before the fork).
//  - file: appends "TOKEN NODE EXPIRY" lines to a file (mode 0600), for demos and tests.
#ifndef BOOTGATE_VERIFIER_TOKENS_ISSUER_H_
#define BOOTGATE_VERIFIER_TOKENS_ISSUER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "verifier/util/subprocess.h"

namespace bootgate::verifier {

struct IssueRequest {
  std::string token;  // "abcdef.0123456789abcdef"
  absl::Duration ttl;
  std::string node_id;
  absl::Time expires_at;
};

class TokenIssuer {
 public:
  virtual ~TokenIssuer() = default;
  // Makes the token valid in the cluster. An error means the token must not be handed out.
  virtual absl::Status Publish(const IssueRequest& request) = 0;
  // "file:PATH" / "exec:PROGRAM", stored with each token.
  virtual std::string Describe() const = 0;
};

// SplitCommandTemplate (util/subprocess.h) with the placeholders {token}, {ttl} and {node}.
absl::StatusOr<std::vector<std::string>> SplitCommandTemplate(absl::string_view command);

// Substitutes {token}, {ttl} (Go duration syntax, e.g. "1h30m") and {node} in every argument.
std::vector<std::string> ExpandCommand(const std::vector<std::string>& argv_template,
                                       const IssueRequest& request);

// The TTL as kubeadm (Go's time.ParseDuration) reads it: "1h", "1h30m", "90s".
std::string GoDuration(absl::Duration d);

class ExecIssuer final : public TokenIssuer {
 public:
  static absl::StatusOr<std::unique_ptr<ExecIssuer>> Create(absl::string_view command_template,
                                                            absl::Duration timeout);
  absl::Status Publish(const IssueRequest& request) override;
  std::string Describe() const override;

 private:
  ExecIssuer(std::vector<std::string> argv, absl::Duration timeout)
      : argv_(std::move(argv)), timeout_(timeout) {}
  std::vector<std::string> argv_;
  absl::Duration timeout_;
};

class FileIssuer final : public TokenIssuer {
 public:
  explicit FileIssuer(std::string path) : path_(std::move(path)) {}
  absl::Status Publish(const IssueRequest& request) override;
  std::string Describe() const override { return "file:" + path_; }

 private:
  const std::string path_;
  absl::Mutex mu_;  // one writer at a time: lines never interleave
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_TOKENS_ISSUER_H_
