// --since / --until for `bootgate audit` and `bootgate report`: an RFC 3339 time
// (2026-11-01T00:00:00Z) or an age before now (90m, 24h, 7d).
#ifndef BOOTGATE_VERIFIER_CLI_WINDOW_ARGS_H_
#define BOOTGATE_VERIFIER_CLI_WINDOW_ARGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "verifier/cli/args.h"
#include "verifier/store/audit_queries.h"

namespace bootgate::cli {

absl::StatusOr<absl::Time> ParseTimeArg(const std::string& flag, const std::string& value,
                                        absl::Time now);
// The window of --since/--until (either may be absent); since must be before until.
absl::StatusOr<verifier::TimeWindow> WindowFromArgs(const ParsedArgs& args, absl::Time now);

}  // namespace bootgate::cli

#endif  // BOOTGATE_VERIFIER_CLI_WINDOW_ARGS_H_
