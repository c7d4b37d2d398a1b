// `bootgate report --format html` rendered by a real browser (Debian's chromium, headless): the
// DOM Chromium builds shows the node names, states, failure reasons and the SVG charts; the page
// loads nothing from outside (one file, no scripts); a hostname carrying markup is shown as text.
// The screenshot is kept as a CI artefact: BUILD_DIR/artifacts/report.png (+ report.html).
// A missing chromium fails this test (scripts/install-deps.sh installs it); it is never skipped.
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"

namespace bootgate::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kChromium[] = "/usr/bin/chromium";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs argv with stdout/stderr to files, HOME set to `home`; kills the process group after
// `timeout`. Returns the exit code (-1 on timeout).
int RunWithTimeout(const std::vector<std::string>& argv, const std::string& out_file,
                   const std::string& home, std::chrono::seconds timeout) {
  const pid_t pid = fork();
  if (pid < 0) return -2;
  if (pid == 0) {
    setpgid(0, 0);
    const int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null = open("/dev/null", O_WRONLY);
    if (fd >= 0) dup2(fd, STDOUT_FILENO);
    if (null >= 0) dup2(null, STDERR_FILENO);
    setenv("HOME", home.c_str(), 1);
    std::vector<char*> c;
    for (const std::string& a : argv) c.push_back(const_cast<char*>(a.c_str()));
    c.push_back(nullptr);
    execv(c[0], c.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(-pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

void Sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << message;
}

TEST(ReportBrowserTest, HtmlReportRendersInChromium) {
  ASSERT_EQ(access(kChromium, X_OK), 0)
      << kChromium << " is missing: install Debian's chromium (scripts/install-deps.sh); the "
      << "browser test never skips";

  // A small fleet: web-1 trusted, db-2 untrusted (a changed boot), build-3 revoked.
  auto env = VerifierEnv::Create({});
  ASSERT_TRUE(env.ok()) << env.status();
  VerifierEnv& v = **env;
  std::vector<TestTpm> tpms;
  for (int i = 0; i < 3; ++i) {
    auto t = v.MakeTpm();
    ASSERT_TRUE(t.ok());
    tpms.push_back(*std::move(t));
    ASSERT_TRUE(v.Enroll(&tpms.back()).ok());
  }
  VerifierEnv::Evidence e = v.DefaultEvidence();
  for (int round = 0; round < 3; ++round) {
    for (TestTpm& t : tpms) {
      v.clock().Advance(absl::Minutes(7));
      VerifierEnv::Evidence mine = e;
      mine.clock = 1000 + 10000 * static_cast<uint64_t>(round);
      if (&t == &tpms[1] && round == 2) {
        mine.event_log = ReadTestData("qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements");
      }
      auto r = v.Attest(t, mine);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }
  {
    grpc::ClientContext ctx;
    v1::RevokeNodeRequest req;
    req.set_node_id(tpms[2].node_id);
    req.set_reason("decommissioned");
    v1::Node resp;
    ASSERT_TRUE(v.admin().RevokeNode(&ctx, req, &resp).ok());
  }
  v.clock().Advance(absl::Minutes(7));
  VerifierEnv::Evidence late = e;
  late.clock = 90000;
  ASSERT_TRUE(v.Attest(tpms[2], late).ok());
  v.Stop();
  const std::string db = v.config().database;
  Sql(db, "UPDATE nodes SET hostname = 'web-1' WHERE node_id = '" + tpms[0].node_id + "'");
  Sql(db, "UPDATE nodes SET hostname = 'db-2<script>x()</script>' WHERE node_id = '" +
              tpms[1].node_id + "'");
  Sql(db, "UPDATE nodes SET hostname = 'build-3' WHERE node_id = '" + tpms[2].node_id + "'");

  const std::string artifacts = BOOTGATE_ARTIFACTS_DIR;
  std::filesystem::create_directories(artifacts);
  const std::string html = artifacts + "/report.html";
  CommandResult report =
      RunBinary("bootgate", {"report", "--store", db, "--format", "html", "--out", html});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const std::string page = ReadAll(html);
  // One self-contained file: no scripts, nothing loaded from elsewhere.
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("src=")));
  EXPECT_THAT(page, Not(HasSubstr("<link")));
  EXPECT_THAT(page, Not(HasSubstr("url(")));

  // The DOM as Chromium built it.
  const std::string home = v.dir() + "/chromium-home";
  std::filesystem::create_directories(home);
  const std::vector<std::string> common = {
      kChromium,           "--headless",
      "--disable-gpu",     "--no-sandbox",
      "--no-first-run",    "--disable-dev-shm-usage",
      "--hide-scrollbars", "--user-data-dir=" + home + "/profile"};
  std::vector<std::string> dump = common;
  dump.push_back("--dump-dom");
  dump.push_back("file://" + html);
  const std::string dom_file = v.dir() + "/dom.html";
  ASSERT_EQ(RunWithTimeout(dump, dom_file, home, std::chrono::seconds(120)), 0)
      << "chromium --dump-dom failed";
  const std::string dom = ReadAll(dom_file);
  for (const std::string& name :
       std::vector<std::string>{"web-1", "build-3", tpms[0].node_id, tpms[1].node_id}) {
    EXPECT_THAT(dom, HasSubstr(name));
  }
  // The hostname with markup is text, not an element.
  EXPECT_THAT(dom, HasSubstr("db-2&lt;script&gt;x()&lt;/script&gt;"));
  EXPECT_THAT(dom, Not(HasSubstr("<script>x()")));
  for (const char* state : {">trusted<", ">untrusted<", ">revoked<"}) {
    EXPECT_THAT(dom, HasSubstr(state));
  }
  EXPECT_THAT(dom, HasSubstr("EVENTLOG_REPLAY_MISMATCH"));
  EXPECT_THAT(dom, HasSubstr("NODE_REVOKED"));
  EXPECT_THAT(dom, HasSubstr("decommissioned"));
  EXPECT_THAT(dom, HasSubstr("test-golden@sha256:"));
  for (const char* chart :
       {"id=\"states-chart\"", "id=\"failures-chart\"", "id=\"timeline-chart\""}) {
    EXPECT_THAT(dom, HasSubstr(chart));
  }
  EXPECT_THAT(dom, HasSubstr("<rect"));

  // The screenshot, kept for CI.
  const std::string png = artifacts + "/report.png";
  std::filesystem::remove(png);
  std::vector<std::string> shot = common;
  shot.push_back("--window-size=1200,2400");
  shot.push_back("--screenshot=" + png);
  shot.push_back("file://" + html);
  ASSERT_EQ(RunWithTimeout(shot, v.dir() + "/shot.log", home, std::chrono::seconds(120)), 0)
      << "chromium --screenshot failed";
  const std::string image = ReadAll(png);
  ASSERT_GT(image.size(), 20000u) << "a near-empty screenshot";
  EXPECT_EQ(image.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR: width 1200 (big-endian at offset 16).
  ASSERT_GT(image.size(), 24u);
  const uint32_t width = (static_cast<uint8_t>(image[16]) << 24) |
                         (static_cast<uint8_t>(image[17]) << 16) |
                         (static_cast<uint8_t>(image[18]) << 8) | static_cast<uint8_t>(image[19]);
  EXPECT_EQ(width, 1200u);
}

}  // namespace
}  // namespace bootgate::testing
