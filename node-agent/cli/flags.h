// Strict command-line parsing for bootgate-agent: `--flag value`, `--flag=value` and boolean
// `--flag`; unknown flags and stray positional arguments are usage errors.
#ifndef BOOTGATE_NODE_AGENT_CLI_FLAGS_H_
#define BOOTGATE_NODE_AGENT_CLI_FLAGS_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace bootgate::agent::cli {

struct FlagSpec {
  std::set<std::string> value_flags;  // names without the leading dashes
  std::set<std::string> bool_flags;
};

struct Flags {
  std::map<std::string, std::string> values;
  std::set<std::string> switches;
  bool help = false;

  bool Has(const std::string& name) const { return values.count(name) || switches.count(name); }
  std::string Get(const std::string& name, const std::string& def = "") const {
    auto it = values.find(name);
    return it == values.end() ? def : it->second;
  }
};

// -h / --help are always accepted. No positional arguments are accepted.
absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args, const FlagSpec& spec);

}  // namespace bootgate::agent::cli

#endif  // BOOTGATE_NODE_AGENT_CLI_FLAGS_H_
