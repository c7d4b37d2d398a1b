#include "tests/testing/test_util.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "attest/pcr/pcr_json.h"
#include "gtest/gtest.h"

namespace bootgate::testing {

std::string TestDataPath(const std::string& relative) {
  return std::string(BOOTGATE_TESTDATA_DIR) + "/" + relative;
}

attest::Bytes ReadTestData(const std::string& relative) {
  std::ifstream in(TestDataPath(relative), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "missing test data " << relative;
    return {};
  }
  return attest::Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string ReadTestDataString(const std::string& relative) {
  attest::Bytes b = ReadTestData(relative);
  return std::string(b.begin(), b.end());
}

attest::PcrValues ReadExpectedPcrs(const std::string& relative) {
  auto pcrs = attest::ParsePcrValuesJson(ReadTestDataString(relative));
  if (!pcrs.ok()) {
    ADD_FAILURE() << relative << ": " << pcrs.status();
    return {};
  }
  return *std::move(pcrs);
}

std::string WriteTempFile(const std::string& name, attest::ByteSpan data) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::filesystem::path dir = tmp != nullptr ? tmp : ::testing::TempDir();
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string prefix = info != nullptr ? std::string(info->test_suite_name()) + "." +
                                             info->name() + "." + std::to_string(getpid())
                                       : std::to_string(getpid());
  for (char& c : prefix) {
    if (c == '/') c = '_';
  }
  std::filesystem::path path = dir / ("bootgate-" + prefix + "-" + name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return path.string();
}

namespace {
std::string ReadAll(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}
}  // namespace

CommandResult RunBinary(const std::string& binary, const std::vector<std::string>& args) {
  CommandResult result;
  std::string path = std::string(BOOTGATE_BIN_DIR) + "/" + binary;
  std::string out_path = WriteTempFile(binary + ".stdout", {});
  std::string err_path = WriteTempFile(binary + ".stderr", {});
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_TRUNC);
    int err = open(err_path.c_str(), O_WRONLY | O_TRUNC);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  int out = open(out_path.c_str(), O_RDONLY);
  int err = open(err_path.c_str(), O_RDONLY);
  result.out = ReadAll(out);
  result.err = ReadAll(err);
  close(out);
  close(err);
  return result;
}

}  // namespace bootgate::testing
