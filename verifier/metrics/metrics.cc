#include "verifier/metrics/metrics.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace bootgate::verifier {

namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Num(double v) { return absl::StrFormat("%.17g", v); }

void Header(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// Resident and virtual memory from /proc/self/statm (pages).
std::pair<int64_t, int64_t> Memory() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return {0, 0};
  long long size = 0, resident = 0;
  if (std::fscanf(f, "%lld %lld", &size, &resident) != 2) size = resident = 0;
  std::fclose(f);
  const int64_t page = sysconf(_SC_PAGESIZE);
  return {resident * page, size * page};
}

int64_t OpenFds() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  int64_t n = 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

Metrics::Metrics(const Clock* clock) : started_(clock->Now()) {}

void Metrics::RecordAttestation(const std::string& verdict, const std::string& reason,
                                double seconds) {
  absl::MutexLock lock(&mu_);
  ++attestations_[{verdict, reason}];
  for (size_t i = 0; i < kAppraisalBuckets.size(); ++i) {
    if (seconds <= kAppraisalBuckets[i]) ++buckets_[i];
  }
  ++appraisal_count_;
  appraisal_sum_ += seconds;
}

void Metrics::RecordToken(const std::string& status) {
  absl::MutexLock lock(&mu_);
  ++tokens_[status];
}

void Metrics::RecordNotification(const std::string& sink, bool delivered) {
  absl::MutexLock lock(&mu_);
  ++notifications_[{sink, delivered ? "delivered" : "failed"}];
}

void Metrics::SetHealth(bool store_ok, bool policy_file_current) {
  absl::MutexLock lock(&mu_);
  store_ok_ = store_ok;
  policy_current_ = policy_file_current;
}

void Metrics::SetPolicy(const std::string& policy_id) {
  absl::MutexLock lock(&mu_);
  policy_id_ = policy_id;
}

std::string Metrics::Render(Store* store) {
  std::string out;
  {
    absl::MutexLock lock(&mu_);
    Header(&out, "bootgate_attestations_total", "counter",
           "Recorded attestations by verdict and reason (the first finding code; none when "
           "there is none).");
    for (const auto& [key, n] : attestations_) {
      absl::StrAppend(&out, "bootgate_attestations_total{verdict=\"", Escape(key.first),
                      "\",reason=\"", Escape(key.second), "\"} ", n, "\n");
    }
    Header(&out, "bootgate_appraisal_seconds", "histogram",
           "Time from receiving evidence to the recorded result (appraisal, EAR, token).");
    for (size_t i = 0; i < kAppraisalBuckets.size(); ++i) {
      absl::StrAppend(&out, "bootgate_appraisal_seconds_bucket{le=\"", Num(kAppraisalBuckets[i]),
                      "\"} ", buckets_[i], "\n");
    }
    absl::StrAppend(&out, "bootgate_appraisal_seconds_bucket{le=\"+Inf\"} ", appraisal_count_, "\n",
                    "bootgate_appraisal_seconds_sum ", Num(appraisal_sum_), "\n",
                    "bootgate_appraisal_seconds_count ", appraisal_count_, "\n");
    Header(&out, "bootgate_tokens_issued_total", "counter",
           "Join tokens by outcome (issued: published and handed out; failed: the issuer "
           "failed).");
    for (const char* status : {"issued", "failed"}) {
      absl::StrAppend(&out, "bootgate_tokens_issued_total{status=\"", status, "\"} ",
                      tokens_.count(status) ? tokens_.at(status) : 0, "\n");
    }
    Header(&out, "bootgate_notifications_total", "counter",
           "Notification delivery attempts by sink and result.");
    for (const auto& [key, n] : notifications_) {
      absl::StrAppend(&out, "bootgate_notifications_total{sink=\"", Escape(key.first),
                      "\",result=\"", key.second, "\"} ", n, "\n");
    }
    Header(&out, "bootgate_policy_info", "gauge", "The loaded policy (always 1).");
    absl::StrAppend(&out, "bootgate_policy_info{policy_id=\"", Escape(policy_id_), "\"} 1\n");
    Header(&out, "bootgate_policy_file_current", "gauge",
           "1 when the policy file on disk still holds the loaded policy.");
    absl::StrAppend(&out, "bootgate_policy_file_current ", policy_current_ ? 1 : 0, "\n");
  }
  bool store_ok = store != nullptr;
  if (store != nullptr) {
    auto states = store->CountNodesByState();
    auto backlog = store->NotificationBacklog();
    auto size = store->SizeBytes();
    store_ok = states.ok() && backlog.ok() && size.ok();
    if (states.ok()) {
      Header(&out, "bootgate_nodes", "gauge", "Enrolled nodes by state.");
      int64_t stale = 0;
      for (const auto& [state, n] : *states) {
        absl::StrAppend(&out, "bootgate_nodes{state=\"", Escape(state), "\"} ", n, "\n");
        if (state == kNodeStateStale) stale = n;
      }
      Header(&out, "bootgate_stale_nodes", "gauge",
             "Nodes without an affirming attestation within nodes.attestation_deadline.");
      absl::StrAppend(&out, "bootgate_stale_nodes ", stale, "\n");
    }
    if (backlog.ok()) {
      Header(&out, "bootgate_webhook_backlog", "gauge",
             "State-change notifications (webhook and exec hook) not yet delivered.");
      absl::StrAppend(&out, "bootgate_webhook_backlog ", *backlog, "\n");
    }
    if (size.ok()) {
      Header(&out, "bootgate_store_bytes", "gauge", "Evidence store size on disk (with its WAL).");
      absl::StrAppend(&out, "bootgate_store_bytes ", *size, "\n");
    }
  }
  {
    absl::MutexLock lock(&mu_);
    store_ok = store_ok && store_ok_;
  }
  Header(&out, "bootgate_store_up", "gauge", "1 when the evidence store answers.");
  absl::StrAppend(&out, "bootgate_store_up ", store_ok ? 1 : 0, "\n");

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
                     (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  const auto [resident, virt] = Memory();
  Header(&out, "process_cpu_seconds_total", "counter", "User and system CPU time.");
  absl::StrAppend(&out, "process_cpu_seconds_total ", Num(cpu), "\n");
  Header(&out, "process_resident_memory_bytes", "gauge", "Resident memory size.");
  absl::StrAppend(&out, "process_resident_memory_bytes ", resident, "\n");
  Header(&out, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
  absl::StrAppend(&out, "process_virtual_memory_bytes ", virt, "\n");
  Header(&out, "process_open_fds", "gauge", "Open file descriptors.");
  absl::StrAppend(&out, "process_open_fds ", OpenFds(), "\n");
  Header(&out, "process_start_time_seconds", "gauge", "Start time since the Unix epoch.");
  absl::StrAppend(&out, "process_start_time_seconds ", absl::ToUnixSeconds(started_), "\n");
  return out;
}

// --- MetricsServer

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                    Metrics* metrics,
                                                                    Store* store) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("metrics.listen: '", listen, "'"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = listen.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* addrs = nullptr;
  const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &addrs);
  if (rc != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics.listen: cannot resolve '", host, "': ", gai_strerror(rc)));
  }
  int fd = -1;
  std::string error = "no address";
  for (addrinfo* a = addrs; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 16) != 0) {
      error = std::strerror(errno);
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(addrs);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("metrics.listen: cannot listen on ", listen, ": ", error));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  const int bound_port = bound.ss_family == AF_INET6
                             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  std::unique_ptr<MetricsServer> server(new MetricsServer(fd, bound_port, metrics, store));
  if (pipe2(server->wake_pipe_, O_CLOEXEC) != 0) {
    return absl::UnavailableError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

MetricsServer::MetricsServer(int fd, int port, Metrics* metrics, Store* store)
    : fd_(fd), port_(port), metrics_(metrics), store_(store) {}

MetricsServer::~MetricsServer() {
  Shutdown();
  if (fd_ >= 0) close(fd_);
  for (int& p : wake_pipe_) {
    if (p >= 0) close(p);
    p = -1;
  }
}

void MetricsServer::Shutdown() {
  if (!thread_.joinable()) return;
  const char c = 'x';
  (void)!write(wake_pipe_[1], &c, 1);
  thread_.join();
}

void MetricsServer::Run() {
  while (true) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    const int r = poll(p, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (p[1].revents & POLLIN)) return;
    if (!(p[0].revents & POLLIN)) continue;
    const int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Serve(client);
    close(client);
  }
}

void MetricsServer::Serve(int client) {
  // A scrape is a few hundred bytes; anything slow or large is dropped.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::string request;
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return;
    pollfd p{client, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(ms));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    char buf[1024];
    const ssize_t n = recv(client, buf, sizeof(buf), 0);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const std::string line = request.substr(0, request.find("\r\n"));
  std::vector<std::string> parts = absl::StrSplit(line, ' ');
  int status = 200;
  std::string body;
  std::string type = "text/plain; version=0.0.4; charset=utf-8";
  if (parts.size() != 3 || !absl::StartsWith(parts[2], "HTTP/1.")) {
    status = 400;
    body = "bad request\n";
  } else if (parts[0] != "GET" && parts[0] != "HEAD") {
    status = 405;
    body = "only GET\n";
  } else if (parts[1] != "/metrics" && !absl::StartsWith(parts[1], "/metrics?")) {
    status = 404;
    body = "metrics are at /metrics\n";
  } else {
    body = metrics_->Render(store_);
  }
  if (status != 200) type = "text/plain; charset=utf-8";
  const char* reason = status == 200   ? "OK"
                       : status == 404 ? "Not Found"
                       : status == 405 ? "Method Not Allowed"
                                       : "Bad Request";
  std::string response =
      absl::StrCat("HTTP/1.1 ", status, " ", reason, "\r\nContent-Type: ", type,
                   "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n");
  if (parts.empty() || parts[0] != "HEAD") response += body;
  size_t sent = 0;
  while (sent < response.size()) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) break;
    pollfd p{client, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(ms)) <= 0) break;
    const ssize_t n = send(client, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace bootgate::verifier
