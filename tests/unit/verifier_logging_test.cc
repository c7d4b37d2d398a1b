// Structured log lines: text (key=value, quoted when needed) and JSON lines, timestamps from the
// injected clock, and no throw on invalid UTF-8 from agents.
#include "verifier/util/logging.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/verifier/verifier_env.h"

namespace bootgate::verifier {
namespace {

const absl::Time kT = absl::FromUnixMillis(1790000000123);

TEST(LoggingTest, TextLines) {
  testing::FakeClock clock(kT);
  Logger log(LogFormat::kText, stderr, &clock);
  EXPECT_EQ(log.Format(LogLevel::kInfo, "attestation",
                       {{"node", "node-1"}, {"findings", "A,B"}, {"detail", "two words"}}),
            "2026-09-21T14:13:20.123Z INFO attestation node=node-1 findings=A,B "
            "detail=\"two words\"");
  EXPECT_EQ(log.Format(LogLevel::kWarning, "x", {{"empty", ""}}),
            "2026-09-21T14:13:20.123Z WARN x empty=\"\"");
}

TEST(LoggingTest, JsonLines) {
  testing::FakeClock clock(kT);
  Logger log(LogFormat::kJson, stderr, &clock);
  const std::string line =
      log.Format(LogLevel::kError, "store_failed", {{"error", "disk \"full\""}, {"bad", "\xff"}});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["ts"], "2026-09-21T14:13:20.123Z");
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["event"], "store_failed");
  EXPECT_EQ(j["error"], "disk \"full\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace bootgate::verifier
