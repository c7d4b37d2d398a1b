// The HTML form of a fleet report: one file, inline CSS and SVG, no scripts, no external assets.
// Every value from the store (hostnames and finding details come from agents) is escaped.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "verifier/report/report.h"

namespace bootgate::verifier::report {

namespace {

std::string Esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string T(absl::Time t) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return "";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

const char* StateColor(const std::string& state) {
  if (state == "trusted") return "#2e7d32";
  if (state == "untrusted") return "#c62828";
  if (state == "stale") return "#ef6c00";
  if (state == "revoked") return "#424242";
  return "#1565c0";  // enrolled, unknown
}

constexpr char kStyle[] = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#212121;
max-width:1100px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;
padding-bottom:4px}h3{font-size:16px;margin:20px 0 6px}
.meta{color:#616161;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #eee;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#fafafa}
.state{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.affirming{color:#2e7d32;font-weight:600}.contraindicated{color:#c62828;font-weight:600}
.finding{font-family:ui-monospace,monospace;font-size:12px}
.node{border:1px solid #e0e0e0;border-radius:6px;padding:4px 14px 10px;margin:14px 0}
svg text{font-family:system-ui,sans-serif}
)css";

// Horizontal bars: label, value, color.
struct Bar {
  std::string label;
  size_t value;
  std::string color;
  std::string title;
};

std::string HBarChart(const std::string& id, const std::vector<Bar>& bars) {
  const int row = 26, label_w = 260, bar_w = 420;
  const int height = std::max<int>(1, static_cast<int>(bars.size())) * row + 8;
  size_t max = 1;
  for (const Bar& b : bars) max = std::max(max, b.value);
  std::string svg = absl::StrCat("<svg id=\"", id, "\" class=\"chart\" role=\"img\" width=\"",
                                 label_w + bar_w + 60, "\" height=\"", height,
                                 "\" xmlns=\"http://www.w3.org/2000/svg\">");
  int y = 4;
  for (const Bar& b : bars) {
    const int w = static_cast<int>(static_cast<double>(b.value) / max * bar_w);
    absl::StrAppend(&svg, "<g class=\"bar\"><title>", Esc(b.title.empty() ? b.label : b.title),
                    ": ", b.value, "</title><text x=\"", label_w - 6, "\" y=\"", y + 17,
                    "\" text-anchor=\"end\" font-size=\"13\">", Esc(b.label), "</text><rect x=\"",
                    label_w, "\" y=\"", y + 3, "\" width=\"", std::max(w, b.value ? 2 : 0),
                    "\" height=\"", row - 8, "\" fill=\"", b.color, "\"/><text x=\"",
                    label_w + std::max(w, 2) + 6, "\" y=\"", y + 17, "\" font-size=\"13\">",
                    b.value, "</text></g>");
    y += row;
  }
  svg += "</svg>";
  return svg;
}

std::string TimelineChart(const Report& r) {
  const int w = 900, h = 220, left = 40, bottom = 40, top = 10;
  const int plot_w = w - left - 10, plot_h = h - bottom - top;
  size_t max = 1;
  for (const TimelineBucket& b : r.timeline) max = std::max(max, b.affirming + b.contraindicated);
  std::string svg = absl::StrCat(
      "<svg id=\"timeline-chart\" class=\"chart\" role=\"img\" width=\"", w, "\" height=\"", h,
      "\" xmlns=\"http://www.w3.org/2000/svg\"><line x1=\"", left, "\" y1=\"", top + plot_h,
      "\" x2=\"", left + plot_w, "\" y2=\"", top + plot_h, "\" stroke=\"#9e9e9e\"/><text x=\"",
      left - 6, "\" y=\"", top + 10, "\" text-anchor=\"end\" font-size=\"11\">", max,
      "</text><text x=\"", left - 6, "\" y=\"", top + plot_h,
      "\" text-anchor=\"end\" "
      "font-size=\"11\">0</text>");
  const size_t n = std::max<size_t>(1, r.timeline.size());
  const double slot = static_cast<double>(plot_w) / n;
  const int bar_w = std::max(1, static_cast<int>(slot * 0.8));
  for (size_t i = 0; i < r.timeline.size(); ++i) {
    const TimelineBucket& b = r.timeline[i];
    const int x = left + static_cast<int>(slot * i + slot * 0.1);
    const int ha = static_cast<int>(static_cast<double>(b.affirming) / max * plot_h);
    const int hc = static_cast<int>(static_cast<double>(b.contraindicated) / max * plot_h);
    absl::StrAppend(&svg, "<g class=\"bucket\"><title>", T(b.start), ": ", b.affirming,
                    " affirming, ", b.contraindicated, " contraindicated</title>");
    if (ha > 0) {
      absl::StrAppend(&svg, "<rect x=\"", x, "\" y=\"", top + plot_h - ha, "\" width=\"", bar_w,
                      "\" height=\"", ha, "\" fill=\"#43a047\"/>");
    }
    if (hc > 0) {
      absl::StrAppend(&svg, "<rect x=\"", x, "\" y=\"", top + plot_h - ha - hc, "\" width=\"",
                      bar_w, "\" height=\"", hc, "\" fill=\"#e53935\"/>");
    }
    svg += "</g>";
  }
  if (!r.timeline.empty()) {
    absl::StrAppend(&svg, "<text x=\"", left, "\" y=\"", h - 18, "\" font-size=\"11\">",
                    T(r.timeline.front().start), "</text><text x=\"", left + plot_w, "\" y=\"",
                    h - 18, "\" font-size=\"11\" text-anchor=\"end\">",
                    T(r.timeline.back().start + r.bucket), "</text>");
  }
  absl::StrAppend(&svg, "<rect x=\"", left, "\" y=\"", h - 12,
                  "\" width=\"10\" height=\"10\" "
                  "fill=\"#43a047\"/><text x=\"",
                  left + 14, "\" y=\"", h - 3, "\" font-size=\"11\">affirming</text><rect x=\"",
                  left + 90, "\" y=\"", h - 12,
                  "\" width=\"10\" height=\"10\" fill=\"#e53935\"/><text x=\"", left + 104,
                  "\" y=\"", h - 3, "\" font-size=\"11\">contraindicated</text></svg>");
  return svg;
}

constexpr size_t kHistoryRows = 100;

}  // namespace

std::string ReportToHtml(const Report& r) {
  std::string h = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>bootgate fleet report</title><style>",
      kStyle, "</style></head><body>\n<h1>bootgate fleet report</h1><p class=\"meta\">Generated ",
      T(r.generated_at), ". Window: ",
      r.window.since == absl::InfinitePast() ? "beginning of the store" : T(r.window.since),
      " &ndash; ", r.window.until == absl::InfiniteFuture() ? "now" : T(r.window.until), ". ",
      r.attestations, " attestations, ", r.affirming, " affirming.</p>\n");

  // Summary cards.
  h += "<h2 id=\"states\">Nodes by state</h2><div class=\"cards\">";
  std::vector<Bar> state_bars;
  for (const std::string& s : NodeStateOrder()) {
    auto it = r.nodes_by_state.find(s);
    const size_t n = it == r.nodes_by_state.end() ? 0 : it->second;
    absl::StrAppend(&h, "<div class=\"card\" id=\"state-", s, "\"><b>", n, "</b>", s, "</div>");
    state_bars.push_back(Bar{s, n, StateColor(s), ""});
  }
  for (const auto& [s, n] : r.nodes_by_state) {
    if (std::find(NodeStateOrder().begin(), NodeStateOrder().end(), s) != NodeStateOrder().end()) {
      continue;
    }
    absl::StrAppend(&h, "<div class=\"card\"><b>", n, "</b>", Esc(s), "</div>");
    state_bars.push_back(Bar{s, n, StateColor(s), ""});
  }
  h += "</div>" + HBarChart("states-chart", state_bars);

  // Fleet table.
  h += "<h2 id=\"fleet\">Fleet</h2><table><tr><th>Node</th><th>Hostname</th><th>State</th>"
       "<th>Last attestation</th><th>Policy / OS image</th><th>Attestations</th></tr>";
  for (const NodeReport& n : r.nodes) {
    const NodeRecord& nr = n.node.node;
    std::string last = "none in the window";
    if (!n.history.empty()) {
      const HistoryEntry& e = n.history.back();
      last = absl::StrCat(T(e.at), " <span class=\"", Esc(e.verdict), "\">", Esc(e.verdict),
                          "</span>");
    }
    absl::StrAppend(&h, "<tr class=\"node-row\"><td><a href=\"#", Esc(nr.node_id), "\">",
                    Esc(nr.node_id), "</a></td><td>", Esc(nr.hostname),
                    "</td><td><span class=\"state\" style=\"background:", StateColor(n.node.state),
                    "\">", Esc(n.node.state), "</span></td><td>", last, "</td><td>",
                    Esc(n.current_policy), "</td><td>", n.affirming, " / ", n.attestations,
                    " affirming</td></tr>");
  }
  h += "</table>";

  // Policies.
  h += "<h2 id=\"policies\">Policies and OS images in use</h2><table><tr><th>Policy id</th>"
       "<th>In use since</th><th>Last seen</th><th>Attestations</th><th>Nodes on it now</th></tr>";
  for (const PolicyUsage& p : r.policies) {
    absl::StrAppend(&h, "<tr><td class=\"finding\">", Esc(p.policy_id), "</td><td>",
                    T(p.first_seen), "</td><td>", T(p.last_seen), "</td><td>", p.attestations,
                    "</td><td>", p.nodes_current, "</td></tr>");
  }
  if (r.policies.empty()) h += "<tr><td colspan=\"5\">no attestation in the window</td></tr>";
  h += "</table>";

  // Failures.
  h += "<h2 id=\"failures\">Failures by reason</h2>";
  std::vector<Bar> failure_bars;
  for (const FailureReason& f : r.failures) {
    failure_bars.push_back(Bar{f.code, f.count, "#e53935", f.example});
  }
  if (failure_bars.empty()) {
    h += "<p>No failed attestation in the window.</p>";
  } else {
    h += HBarChart("failures-chart", failure_bars);
    h += "<table><tr><th>Reason</th><th>Count</th><th>Nodes</th><th>Example</th></tr>";
    for (const FailureReason& f : r.failures) {
      std::vector<std::string> nodes;
      for (const std::string& n : f.nodes) nodes.push_back(Esc(n));
      absl::StrAppend(&h, "<tr class=\"failure\"><td class=\"finding\">", Esc(f.code), "</td><td>",
                      f.count, "</td><td>", absl::StrJoin(nodes, ", "), "</td><td>", Esc(f.example),
                      "</td></tr>");
    }
    h += "</table>";
  }

  // Timeline.
  absl::StrAppend(&h, "<h2 id=\"timeline\">Attestation timeline</h2><p class=\"meta\">One bar per ",
                  absl::FormatDuration(r.bucket), ".</p>", TimelineChart(r));

  // Per node.
  h += "<h2 id=\"nodes\">Nodes</h2>";
  for (const NodeReport& n : r.nodes) {
    const NodeRecord& nr = n.node.node;
    absl::StrAppend(
        &h, "<section class=\"node\" id=\"", Esc(nr.node_id), "\"><h3>", Esc(nr.hostname), " (",
        Esc(nr.node_id), ") <span class=\"state\" style=\"background:", StateColor(n.node.state),
        "\">", Esc(n.node.state), "</span></h3><p class=\"meta\">TPM ", Esc(nr.tpm_manufacturer),
        " ", Esc(nr.tpm_model), ", EK ", Esc(nr.ek_public_sha256.substr(0, 16)),
        "&hellip;, enrolled ", T(nr.enrolled_at));
    if (nr.revoked_at) {
      absl::StrAppend(&h, ", revoked ", T(*nr.revoked_at), ": ", Esc(nr.revoke_reason));
    }
    h += ".</p><table><tr><th>Time</th><th>Verdict</th><th>Policy</th><th>Findings</th></tr>";
    const size_t skip = n.history.size() > kHistoryRows ? n.history.size() - kHistoryRows : 0;
    if (skip > 0) {
      absl::StrAppend(&h, "<tr><td colspan=\"4\">", skip,
                      " earlier attestations not shown (see the JSON or CSV report)</td></tr>");
    }
    for (size_t i = n.history.size(); i-- > skip;) {
      const HistoryEntry& e = n.history[i];
      std::string findings;
      for (const Finding& f : e.findings) {
        absl::StrAppend(&findings, "<div class=\"finding\"><b>", Esc(f.code), "</b> ",
                        Esc(f.detail), "</div>");
      }
      absl::StrAppend(&h, "<tr><td>", T(e.at), e.new_boot ? " (new boot)" : "", "</td><td class=\"",
                      Esc(e.verdict), "\">", Esc(e.verdict), "</td><td>", Esc(e.policy_id),
                      "</td><td>", findings.empty() ? "&ndash;" : findings, "</td></tr>");
    }
    if (n.history.empty()) h += "<tr><td colspan=\"4\">no attestation in the window</td></tr>";
    h += "</table></section>\n";
  }
  h += "</body></html>\n";
  return h;
}

}  // namespace bootgate::verifier::report
