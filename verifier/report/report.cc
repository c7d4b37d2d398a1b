#include "verifier/report/report.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "attest/util/status_macros.h"

namespace bootgate::verifier::report {

namespace {

std::string TimeJson(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return "";
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// A bucket width giving at most ~48 bars over the span.
absl::Duration BucketFor(absl::Duration span) {
  for (absl::Duration d :
       {absl::Seconds(1), absl::Seconds(10), absl::Minutes(1), absl::Minutes(5), absl::Minutes(15),
        absl::Hours(1), absl::Hours(6), absl::Hours(24), absl::Hours(24 * 7)}) {
    if (span <= d * 48) return d;
  }
  return absl::Hours(24 * 30);
}

// RFC 4180 quoting; a cell a spreadsheet would read as a formula (hostnames come from agents)
// gets a leading apostrophe.
std::string CsvField(const std::string& in) {
  std::string s = in;
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) s = "'" + s;
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\"", "\"\""}}), "\"");
}

}  // namespace

const std::vector<std::string>& NodeStateOrder() {
  static const auto* order =
      new std::vector<std::string>{"trusted", "untrusted", "stale", "enrolled", "revoked"};
  return *order;
}

absl::StatusOr<Report> BuildReport(AuditReader& reader, const TimeWindow& window,
                                   const std::string& node_id, absl::Time now) {
  Report r;
  r.generated_at = now;
  r.window = window;
  for (const std::string& s : NodeStateOrder()) r.nodes_by_state[s] = 0;

  ASSIGN_OR_RETURN(std::vector<ReportNode> nodes, reader.Nodes());
  std::map<std::string, size_t> index;
  for (ReportNode& n : nodes) {
    if (!node_id.empty() && n.node.node_id != node_id) continue;
    ++r.nodes_by_state[n.state];
    index[n.node.node_id] = r.nodes.size();
    r.nodes.push_back(NodeReport{std::move(n), "", 0, 0, {}});
  }
  if (!node_id.empty() && r.nodes.empty()) {
    return absl::NotFoundError(absl::StrCat("node ", node_id, " is not in the store"));
  }

  std::map<std::string, PolicyUsage> policies;
  std::map<std::string, FailureReason> failures;
  std::vector<HistoryEntry> all;
  RETURN_IF_ERROR(reader.ForEachAttestation(
      window, node_id, /*evidence=*/false, [&](AttestationRecord a) -> absl::Status {
        // With a golden-image policy the OS image version is what matched; the policy id names
        // the documents it was matched against.
        const std::string in_use = absl::StartsWith(a.policy_matched, "golden image ")
                                       ? absl::StrCat(a.policy_matched, " | ", a.policy_id)
                                       : a.policy_id;
        HistoryEntry e{a.attestation_id, a.created_at, a.verdict, in_use,
                       a.new_boot,       a.token_id,   a.findings};
        ++r.attestations;
        if (a.verdict == kVerdictAffirming) ++r.affirming;
        PolicyUsage& p = policies[in_use];
        p.policy_id = in_use;
        p.first_seen = std::min(p.first_seen, a.created_at);
        p.last_seen = std::max(p.last_seen, a.created_at);
        ++p.attestations;
        for (const Finding& f : a.findings) {
          FailureReason& fr = failures[f.code];
          fr.code = f.code;
          ++fr.count;
          if (std::find(fr.nodes.begin(), fr.nodes.end(), a.node_id) == fr.nodes.end()) {
            fr.nodes.push_back(a.node_id);
          }
          if (fr.example.empty()) fr.example = f.detail;
        }
        auto it = index.find(a.node_id);
        if (it != index.end()) {
          NodeReport& n = r.nodes[it->second];
          ++n.attestations;
          if (a.verdict == kVerdictAffirming) ++n.affirming;
          n.current_policy = in_use;
          n.history.push_back(e);
        }
        all.push_back(std::move(e));
        return absl::OkStatus();
      }));

  for (const NodeReport& n : r.nodes) {
    if (!n.current_policy.empty()) ++policies[n.current_policy].nodes_current;
  }
  for (auto& [id, p] : policies) r.policies.push_back(p);
  std::sort(r.policies.begin(), r.policies.end(),
            [](const PolicyUsage& a, const PolicyUsage& b) { return a.first_seen < b.first_seen; });
  for (auto& [code, f] : failures) r.failures.push_back(f);
  std::stable_sort(
      r.failures.begin(), r.failures.end(),
      [](const FailureReason& a, const FailureReason& b) { return a.count > b.count; });

  if (!all.empty()) {
    const absl::Time first = window.since == absl::InfinitePast() ? all.front().at : window.since;
    const absl::Time last = window.until == absl::InfiniteFuture() ? all.back().at : window.until;
    r.bucket = BucketFor(std::max(last - first, absl::Seconds(1)));
    const absl::Time start = absl::FromUnixSeconds(
        absl::ToUnixSeconds(first) - absl::ToUnixSeconds(first) % absl::ToInt64Seconds(r.bucket));
    const int64_t buckets = (last - start) / r.bucket + 1;
    for (int64_t i = 0; i < std::min<int64_t>(buckets, 1000); ++i) {
      r.timeline.push_back(TimelineBucket{start + r.bucket * i, 0, 0});
    }
    for (const HistoryEntry& e : all) {
      int64_t i = (e.at - start) / r.bucket;
      if (i < 0 || i >= static_cast<int64_t>(r.timeline.size())) continue;
      if (e.verdict == kVerdictAffirming) {
        ++r.timeline[static_cast<size_t>(i)].affirming;
      } else {
        ++r.timeline[static_cast<size_t>(i)].contraindicated;
      }
    }
  }
  return r;
}

nlohmann::json ReportToJson(const Report& r) {
  using nlohmann::json;
  json states = json::object();
  for (const auto& [s, n] : r.nodes_by_state) states[s] = n;
  json policies = json::array();
  for (const PolicyUsage& p : r.policies) {
    policies.push_back({{"policy_id", p.policy_id},
                        {"first_seen", TimeJson(p.first_seen)},
                        {"last_seen", TimeJson(p.last_seen)},
                        {"attestations", p.attestations},
                        {"nodes_current", p.nodes_current}});
  }
  json failures = json::array();
  for (const FailureReason& f : r.failures) {
    failures.push_back(
        {{"code", f.code}, {"count", f.count}, {"nodes", f.nodes}, {"example", f.example}});
  }
  json timeline = json::array();
  for (const TimelineBucket& b : r.timeline) {
    timeline.push_back({{"start", TimeJson(b.start)},
                        {"affirming", b.affirming},
                        {"contraindicated", b.contraindicated}});
  }
  json nodes = json::array();
  for (const NodeReport& n : r.nodes) {
    json history = json::array();
    for (const HistoryEntry& e : n.history) {
      json findings = json::array();
      for (const Finding& f : e.findings) {
        findings.push_back({{"code", f.code}, {"detail", f.detail}});
      }
      history.push_back({{"attestation_id", e.attestation_id},
                         {"at", TimeJson(e.at)},
                         {"verdict", e.verdict},
                         {"policy_id", e.policy_id},
                         {"new_boot", e.new_boot},
                         {"token_id", e.token_id},
                         {"findings", findings}});
    }
    const NodeRecord& nr = n.node.node;
    nodes.push_back(
        {{"node_id", nr.node_id},
         {"hostname", nr.hostname},
         {"state", n.node.state},
         {"tpm_manufacturer", nr.tpm_manufacturer},
         {"enrolled_at", TimeJson(nr.enrolled_at)},
         {"last_attested_at", nr.last_attested_at ? TimeJson(*nr.last_attested_at) : std::string()},
         {"last_verdict", nr.last_verdict},
         {"revoked_at", nr.revoked_at ? TimeJson(*nr.revoked_at) : std::string()},
         {"revoke_reason", nr.revoke_reason},
         {"current_policy", n.current_policy},
         {"attestations", n.attestations},
         {"affirming", n.affirming},
         {"history", history}});
  }
  return {{"generated_at", TimeJson(r.generated_at)},
          {"window", {{"since", TimeJson(r.window.since)}, {"until", TimeJson(r.window.until)}}},
          {"attestations", r.attestations},
          {"affirming", r.affirming},
          {"nodes_by_state", states},
          {"policies", policies},
          {"failures", failures},
          {"timeline_bucket_seconds", absl::ToInt64Seconds(r.bucket)},
          {"timeline", timeline},
          {"nodes", nodes}};
}

std::string ReportToCsv(const Report& r) {
  std::string out =
      "time,node_id,hostname,state,attestation_id,verdict,policy_id,new_boot,token_id,findings\n";
  for (const NodeReport& n : r.nodes) {
    for (const HistoryEntry& e : n.history) {
      std::vector<std::string> findings;
      for (const Finding& f : e.findings) findings.push_back(absl::StrCat(f.code, ": ", f.detail));
      absl::StrAppend(&out, CsvField(TimeJson(e.at)), ",", CsvField(n.node.node.node_id), ",",
                      CsvField(n.node.node.hostname), ",", CsvField(n.node.state), ",",
                      CsvField(e.attestation_id), ",", CsvField(e.verdict), ",",
                      CsvField(e.policy_id), ",", e.new_boot ? "true" : "false", ",",
                      CsvField(e.token_id), ",", CsvField(absl::StrJoin(findings, "; ")), "\n");
    }
  }
  return out;
}

}  // namespace bootgate::verifier::report
