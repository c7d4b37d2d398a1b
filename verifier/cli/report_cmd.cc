// bootgate report (README "Watching a fleet").
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"
#include "verifier/cli/window_args.h"
#include "verifier/config/config.h"
#include "verifier/report/report.h"
#include "verifier/store/audit_queries.h"
#include "verifier/util/files.h"

namespace bootgate::cli {

namespace {

constexpr char kUsage[] = R"(Usage:
  bootgate report (--store DB | --config FILE|DIR) [--format html|json|csv] [--since T]
                  [--until T] [--node NODE_ID] [--out FILE]

A fleet report from the verifier's SQLite store, read-only (one consistent snapshot, also while
the verifier runs): nodes by state, policies (OS image versions) in use and since when, failures
by reason, an attestation timeline, and each node's history with its findings.

  --format   html (default; one self-contained file with inline SVG charts, no scripts, no
             external assets), json (the same data), csv (one row per attestation)
  --since, --until   RFC 3339 time or an age (90m, 24h, 7d); default: the whole store
  --out FILE         write there (atomically) instead of stdout

Exit codes: 0 ok, 2 usage, 3 store unreadable.
)";

}  // namespace

int RunReportCommand(const std::vector<std::string>& argv) {
  auto args = ParseArgs(argv, {"store", "config", "format", "since", "until", "node", "out"}, {});
  auto usage = [](const std::string& m) {
    std::fprintf(stderr, "bootgate report: %s (see bootgate report --help)\n", m.c_str());
    return kExitUsage;
  };
  if (!args.ok()) return usage(std::string(args.status().message()));
  if (args->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!args->positional.empty()) return usage("unexpected argument " + args->positional[0]);
  const std::string format = args->Get("format", "html");
  if (format != "html" && format != "json" && format != "csv") {
    return usage("--format must be html, json or csv");
  }
  const absl::Time now = absl::Now();
  auto window = WindowFromArgs(*args, now);
  if (!window.ok()) return usage(std::string(window.status().message()));
  auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "bootgate report: %s\n", std::string(s.message()).c_str());
    return kExitBadInput;
  };
  std::string store = args->Get("store");
  if (store.empty()) {
    if (!args->Has("config")) return usage("--store DB or --config FILE|DIR is required");
    auto config = verifier::LoadConfigFile(args->Get("config"));
    if (!config.ok()) return fail(config.status());
    store = config->database;
  }
  auto reader = verifier::AuditReader::Open(store);
  if (!reader.ok()) return fail(reader.status());
  auto report = verifier::report::BuildReport(**reader, *window, args->Get("node"), now);
  if (!report.ok()) return fail(report.status());
  report->store_path = store;
  std::string text;
  if (format == "html") {
    text = verifier::report::ReportToHtml(*report);
  } else if (format == "json") {
    text = verifier::report::ReportToJson(*report).dump(2, ' ', false,
                                                        nlohmann::json::error_handler_t::replace) +
           "\n";
  } else {
    text = verifier::report::ReportToCsv(*report);
  }
  if (args->Has("out")) {
    if (absl::Status s = verifier::WriteFileAtomic(args->Get("out"), text, 0644); !s.ok()) {
      return fail(s);
    }
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return kExitOk;
}

}  // namespace bootgate::cli
