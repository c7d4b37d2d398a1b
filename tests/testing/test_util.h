// Helpers shared by tests: fixture files, expected PCR values, running built binaries.
#ifndef BOOTGATE_TESTS_TESTING_TEST_UTIL_H_
#define BOOTGATE_TESTS_TESTING_TEST_UTIL_H_

#include <string>
#include <vector>

#include "attest/pcr/pcr_values.h"
#include "attest/util/bytes.h"

namespace bootgate::testing {

// Path of a file under tests/data/.
std::string TestDataPath(const std::string& relative);
// Contents of tests/data/<relative>; fails the test (ADD_FAILURE) and returns empty when missing.
attest::Bytes ReadTestData(const std::string& relative);
std::string ReadTestDataString(const std::string& relative);
// Parses tests/data/<relative> in the expected-pcrs JSON shape.
attest::PcrValues ReadExpectedPcrs(const std::string& relative);
// Writes bytes to a fresh file in the test's temporary directory and returns its path.
std::string WriteTempFile(const std::string& name, attest::ByteSpan data);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// Runs argv[0] from build/bin with the given arguments (no shell) and captures its output.
CommandResult RunBinary(const std::string& binary, const std::vector<std::string>& args);

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_TESTING_TEST_UTIL_H_
