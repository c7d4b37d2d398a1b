// Minimal, strict command-line parsing for the bootgate CLI: `--flag value`, `--flag=value` and
// boolean `--flag`; unknown flags are errors.
#ifndef BOOTGATE_VERIFIER_CLI_ARGS_H_
#define BOOTGATE_VERIFIER_CLI_ARGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace bootgate::cli {

// Exit codes, documented in `bootgate --help` and README.md.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRejected = 1;  // evidence checked and rejected (a verdict, not a fault)
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitBadInput = 3;  // input unreadable or malformed

struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // flags that take a value
  std::set<std::string> switches;             // boolean flags present
  bool help = false;

  bool Has(const std::string& flag) const { return values.count(flag) || switches.count(flag); }
  std::string Get(const std::string& flag, const std::string& def = "") const {
    auto it = values.find(flag);
    return it == values.end() ? def : it->second;
  }
};

// `value_flags` take an argument, `bool_flags` do not (names without the leading dashes).
// -h/--help is always accepted.
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::set<std::string>& value_flags,
                                     const std::set<std::string>& bool_flags);

// Reads a whole file; errors name the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace bootgate::cli

#endif  // BOOTGATE_VERIFIER_CLI_ARGS_H_
