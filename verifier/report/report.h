// Fleet reports (`bootgate report`): a summary of the store over a time window — nodes by state,
// policies (OS image versions) in use and since when, failures by reason, an attestation timeline
// — and each node's history with its findings. Rendered as JSON, CSV (one row per attestation)
// or one self-contained HTML file with inline SVG charts (no scripts, no external assets).
#ifndef BOOTGATE_VERIFIER_REPORT_REPORT_H_
#define BOOTGATE_VERIFIER_REPORT_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "verifier/store/audit_queries.h"

namespace bootgate::verifier::report {

struct HistoryEntry {
  std::string attestation_id;
  absl::Time at;
  std::string verdict;
  std::string policy_id;
  bool new_boot = false;
  std::string token_id;
  Findings findings;
};

struct NodeReport {
  ReportNode node;
  std::string current_policy;  // policy of the latest attestation in the window
  size_t attestations = 0;
  size_t affirming = 0;
  std::vector<HistoryEntry> history;  // oldest first
};

struct PolicyUsage {
  std::string policy_id;
  absl::Time first_seen = absl::InfiniteFuture();
  absl::Time last_seen = absl::InfinitePast();
  size_t attestations = 0;
  size_t nodes_current = 0;  // nodes whose latest attestation used it
};

struct FailureReason {
  std::string code;
  size_t count = 0;
  std::vector<std::string> nodes;  // affected node ids
  std::string example;             // one detail
};

struct TimelineBucket {
  absl::Time start;
  size_t affirming = 0;
  size_t contraindicated = 0;
};

struct Report {
  absl::Time generated_at;
  TimeWindow window;
  std::string store_path;
  std::map<std::string, size_t> nodes_by_state;
  std::vector<NodeReport> nodes;
  std::vector<PolicyUsage> policies;    // by first use
  std::vector<FailureReason> failures;  // most frequent first
  absl::Duration bucket;
  std::vector<TimelineBucket> timeline;
  size_t attestations = 0;
  size_t affirming = 0;
};

// Reads the store (read-only snapshot). `node_id` restricts the report to one node.
absl::StatusOr<Report> BuildReport(AuditReader& reader, const TimeWindow& window,
                                   const std::string& node_id, absl::Time now);

nlohmann::json ReportToJson(const Report& report);
std::string ReportToCsv(const Report& report);
std::string ReportToHtml(const Report& report);

// Node states in display order.
const std::vector<std::string>& NodeStateOrder();

}  // namespace bootgate::verifier::report

#endif  // BOOTGATE_VERIFIER_REPORT_REPORT_H_
