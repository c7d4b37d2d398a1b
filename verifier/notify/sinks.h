// Where state-change events go (docs/verifier.md "Notifications"): an HTTP webhook (POST of the
// event JSON, HMAC-SHA256 signed) and an exec hook (an argv template run without a shell). A
// sink's Deliver either succeeds (the event counts as delivered) or returns why not (the outbox
// retries it with backoff). Both are plain adapters: the retry policy lives in notifier.h.
#ifndef BOOTGATE_VERIFIER_NOTIFY_SINKS_H_
#define BOOTGATE_VERIFIER_NOTIFY_SINKS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace bootgate::verifier {

inline constexpr absl::string_view kNotifyPlaceholders[] = {"{node}", "{old}", "{new}", "{reasons}",
                                                            "{attestation}"};
inline constexpr char kSinkWebhook[] = "webhook";
inline constexpr char kSinkExec[] = "exec";
inline constexpr char kSignatureHeader[] = "X-Bootgate-Signature";
inline constexpr char kEventHeader[] = "X-Bootgate-Event";

// http://HOST[:PORT][/PATH]. https is refused (plain HTTP to a local receiver or sidecar only).
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path = "/";
};
absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url);

// "sha256=" + lower-case hex HMAC-SHA256(key, body): the X-Bootgate-Signature value.
absl::StatusOr<std::string> SignatureHeaderValue(absl::string_view key, absl::string_view body);

struct HttpResponse {
  int status = 0;
  std::string body;  // at most 4 KiB
};
// One HTTP/1.1 POST (Connection: close) with `headers` ("Name: value"), everything under
// `timeout`. Errors: resolution, connect, I/O, timeout and a malformed status line.
absl::StatusOr<HttpResponse> HttpPost(const HttpUrl& url, const std::vector<std::string>& headers,
                                      absl::string_view content_type, absl::string_view body,
                                      absl::Duration timeout);

class NotificationSink {
 public:
  virtual ~NotificationSink() = default;
  virtual std::string name() const = 0;
  // `event_json` is the outbox payload (notifier.h documents its fields).
  virtual absl::Status Deliver(const std::string& event_id, const std::string& event_json) = 0;
};

class WebhookSink final : public NotificationSink {
 public:
  // The secret is the file's content (trailing newline removed); at least 16 bytes.
  static absl::StatusOr<std::unique_ptr<WebhookSink>> Create(const std::string& url,
                                                             const std::string& secret_file,
                                                             absl::Duration timeout);
  std::string name() const override { return kSinkWebhook; }
  // Delivered on a 2xx answer.
  absl::Status Deliver(const std::string& event_id, const std::string& event_json) override;

 private:
  WebhookSink(HttpUrl url, std::string secret, absl::Duration timeout)
      : url_(std::move(url)), secret_(std::move(secret)), timeout_(timeout) {}
  HttpUrl url_;
  std::string secret_;
  absl::Duration timeout_;
};

class ExecHookSink final : public NotificationSink {
 public:
  static absl::StatusOr<std::unique_ptr<ExecHookSink>> Create(const std::string& command,
                                                              absl::Duration timeout);
  std::string name() const override { return kSinkExec; }
  // Delivered when the command exits 0. {reasons} is the distinct finding codes, comma-separated.
  absl::Status Deliver(const std::string& event_id, const std::string& event_json) override;

 private:
  ExecHookSink(std::vector<std::string> argv, absl::Duration timeout)
      : argv_(std::move(argv)), timeout_(timeout) {}
  std::vector<std::string> argv_;
  absl::Duration timeout_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_NOTIFY_SINKS_H_
