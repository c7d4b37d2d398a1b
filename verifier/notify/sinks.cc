#include "verifier/notify/sinks.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "attest/util/bytes.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "verifier/util/files.h"
#include "verifier/util/subprocess.h"

namespace bootgate::verifier {

namespace {

constexpr size_t kMaxResponseBytes = 4096;
constexpr size_t kMinSecretBytes = 16;

struct Socket {
  int fd = -1;
  ~Socket() {
    if (fd >= 0) close(fd);
  }
};

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

int LeftMs(absl::Time deadline) {
  const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return ms <= 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 60000));
}

// Waits for `events` on fd until the deadline.
absl::Status WaitFor(int fd, short events, absl::Time deadline, absl::string_view what) {
  while (true) {
    const int ms = LeftMs(deadline);
    if (ms == 0) return absl::DeadlineExceededError(absl::StrCat(what, ": timed out"));
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
    if (r > 0) return absl::OkStatus();
  }
}

absl::Status Connect(const HttpUrl& url, absl::Time deadline, Socket* sock) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), absl::StrCat(url.port).c_str(), &hints, &raw);
  std::unique_ptr<addrinfo, AddrInfoFree> addrs(raw);
  if (rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", url.host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    Socket s;
    s.fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (s.fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (connect(s.fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    absl::Status w = WaitFor(s.fd, POLLOUT, deadline, "connect");
    if (!w.ok()) return w;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      last_error = std::strerror(err);
      continue;
    }
    sock->fd = s.fd;
    s.fd = -1;
    return absl::OkStatus();
  }
  return absl::UnavailableError(
      absl::StrCat("connect ", url.host, ":", url.port, ": ", last_error));
}

}  // namespace

absl::StatusOr<HttpUrl> ParseHttpUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "http://";
  if (absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        "https is not supported: point the webhook at a local receiver or TLS-terminating "
        "sidecar over http://");
  }
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(absl::StrCat("'", url, "' is not an http:// URL"));
  }
  absl::string_view rest = url.substr(kScheme.size());
  HttpUrl out;
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  if (slash != absl::string_view::npos) out.path = std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", url, "': expected http://HOST[:PORT]/PATH"));
  }
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("'", url, "': unterminated [IPv6]"));
    }
    out.host = std::string(authority.substr(1, close - 1));
    colon = close + 1 < authority.size() ? close + 1 : absl::string_view::npos;
    if (colon != absl::string_view::npos && authority[colon] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("'", url, "': junk after ]"));
    }
  } else {
    out.host = std::string(authority.substr(0, colon));
  }
  if (colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(authority.substr(colon + 1), &out.port) || out.port <= 0 ||
        out.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat("'", url, "': bad port"));
    }
  }
  if (out.host.empty()) return absl::InvalidArgumentError(absl::StrCat("'", url, "': no host"));
  for (char c : out.path) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat("'", url, "': control or space in path"));
    }
  }
  return out;
}

absl::StatusOr<std::string> SignatureHeaderValue(absl::string_view key, absl::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
           &mac_len) == nullptr) {
    return absl::InternalError("HMAC-SHA256 failed");
  }
  return absl::StrCat("sha256=", attest::HexEncode(attest::ByteSpan(mac, mac_len)));
}

absl::StatusOr<HttpResponse> HttpPost(const HttpUrl& url, const std::vector<std::string>& headers,
                                      absl::string_view content_type, absl::string_view body,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  Socket sock;
  RETURN_IF_ERROR(Connect(url, deadline, &sock));
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string request = absl::StrCat(
      "POST ", url.path, " HTTP/1.1\r\nHost: ", v6 ? "[" : "", url.host, v6 ? "]" : "", ":",
      url.port, "\r\nUser-Agent: bootgate-verifier\r\nContent-Type: ", content_type,
      "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n");
  for (const std::string& h : headers) absl::StrAppend(&request, h, "\r\n");
  absl::StrAppend(&request, "\r\n", body);
  size_t sent = 0;
  while (sent < request.size()) {
    RETURN_IF_ERROR(WaitFor(sock.fd, POLLOUT, deadline, "send"));
    const ssize_t n = send(sock.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno)));
    sent += static_cast<size_t>(n);
  }
  // Read until the headers (and what fits of the body) arrived or the peer closed.
  std::string response;
  while (response.size() < kMaxResponseBytes + 8192) {
    RETURN_IF_ERROR(WaitFor(sock.fd, POLLIN, deadline, "receive"));
    char buf[2048];
    const ssize_t n = recv(sock.fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("receive: ", std::strerror(errno)));
    if (n == 0) break;
    response.append(buf, static_cast<size_t>(n));
    const size_t end = response.find("\r\n\r\n");
    if (end != std::string::npos) {
      // Content-Length bodies end there; without one the peer closes.
      const std::string lower = absl::AsciiStrToLower(response.substr(0, end));
      const size_t cl = lower.find("\r\ncontent-length:");
      if (cl != std::string::npos) {
        size_t len = 0;
        const size_t eol = lower.find("\r\n", cl + 2);
        if (absl::SimpleAtoi(
                absl::StripAsciiWhitespace(lower.substr(
                    cl + 17, eol == std::string::npos ? std::string::npos : eol - cl - 17)),
                &len) &&
            response.size() >= end + 4 + std::min(len, kMaxResponseBytes)) {
          break;
        }
      }
    }
  }
  // "HTTP/1.x DDD ..."
  int status = 0;
  if (response.size() < 12 || !absl::StartsWith(response, "HTTP/1.") || response[8] != ' ' ||
      !absl::SimpleAtoi(response.substr(9, 3), &status) || status < 100 || status > 599) {
    return absl::UnavailableError(
        absl::StrCat("malformed HTTP response from ", url.host, ":", url.port));
  }
  HttpResponse out;
  out.status = status;
  const size_t end = response.find("\r\n\r\n");
  if (end != std::string::npos) out.body = response.substr(end + 4, kMaxResponseBytes);
  return out;
}

absl::StatusOr<std::unique_ptr<WebhookSink>> WebhookSink::Create(const std::string& url,
                                                                 const std::string& secret_file,
                                                                 absl::Duration timeout) {
  ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  ASSIGN_OR_RETURN(std::string secret, ReadFile(secret_file, 4096));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        secret_file, ": the webhook secret must be at least ", kMinSecretBytes, " bytes"));
  }
  return std::unique_ptr<WebhookSink>(
      new WebhookSink(std::move(parsed), std::move(secret), timeout));
}

absl::Status WebhookSink::Deliver(const std::string& event_id, const std::string& event_json) {
  ASSIGN_OR_RETURN(std::string signature, SignatureHeaderValue(secret_, event_json));
  ASSIGN_OR_RETURN(HttpResponse resp, HttpPost(url_,
                                               {absl::StrCat(kEventHeader, ": ", event_id),
                                                absl::StrCat(kSignatureHeader, ": ", signature)},
                                               "application/json", event_json, timeout_));
  if (resp.status >= 200 && resp.status < 300) return absl::OkStatus();
  std::string body = resp.body.substr(0, 200);
  for (char& c : body) {
    if (static_cast<unsigned char>(c) < ' ') c = ' ';
  }
  return absl::UnavailableError(
      absl::StrCat("webhook answered HTTP ", resp.status, body.empty() ? "" : ": ", body));
}

absl::StatusOr<std::unique_ptr<ExecHookSink>> ExecHookSink::Create(const std::string& command,
                                                                   absl::Duration timeout) {
  ASSIGN_OR_RETURN(std::vector<std::string> argv,
                   SplitCommandTemplate(command, kNotifyPlaceholders));
  return std::unique_ptr<ExecHookSink>(new ExecHookSink(std::move(argv), timeout));
}

absl::Status ExecHookSink::Deliver(const std::string& event_id, const std::string& event_json) {
  const nlohmann::json e = nlohmann::json::parse(event_json, nullptr, /*allow_exceptions=*/false);
  if (!e.is_object()) {
    return absl::DataLossError(absl::StrCat("event ", event_id, ": payload does not parse"));
  }
  std::vector<std::string> reasons;
  if (e.contains("reasons") && e["reasons"].is_array()) {
    for (const auto& r : e["reasons"]) {
      if (r.is_object() && r.contains("code") && r["code"].is_string()) {
        // Each code once, in order (a policy mismatch names every PCR as its own finding).
        const std::string code = r["code"].get<std::string>();
        if (std::find(reasons.begin(), reasons.end(), code) == reasons.end()) {
          reasons.push_back(code);
        }
      }
    }
  }
  auto field = [&e](const char* name) {
    return e.contains(name) && e[name].is_string() ? e[name].get<std::string>() : std::string();
  };
  const std::vector<std::pair<std::string, std::string>> values = {
      {"{node}", field("node")},
      {"{old}", field("old_state")},
      {"{new}", field("new_state")},
      {"{reasons}", absl::StrJoin(reasons, ",")},
      {"{attestation}", field("attestation_id")}};
  std::vector<std::string> args;
  for (const std::string& a : argv_) args.push_back(absl::StrReplaceAll(a, values));
  ASSIGN_OR_RETURN(CommandResult run, RunCommand(args, timeout_));
  if (run.timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(args[0], " did not finish within ", absl::FormatDuration(timeout_)));
  }
  if (run.exit_code == 0) return absl::OkStatus();
  const std::string how = run.term_signal != 0 ? absl::StrCat("killed by signal ", run.term_signal)
                                               : absl::StrCat("exited with ", run.exit_code);
  return absl::UnavailableError(
      absl::StrCat(args[0], " ", how, run.output.empty() ? "" : ": ", run.output.substr(0, 512)));
}

}  // namespace bootgate::verifier
