// Injected randomness. The attest layer never reads an RNG of its own: callers pass a
// RandomSource (an OS/OpenSSL-backed one in the services, a deterministic one in tests and
// fuzzers), which keeps every attest computation reproducible from its inputs.
#ifndef BOOTGATE_ATTEST_CRYPTO_RANDOM_H_
#define BOOTGATE_ATTEST_CRYPTO_RANDOM_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace bootgate::attest {

class RandomSource {
 public:
  virtual ~RandomSource() = default;

  // Fills `out` completely with random bytes, or returns an error and leaves the caller to give
  // up (never partially filled output that the caller could mistake for random).
  virtual absl::Status Fill(absl::Span<uint8_t> out) = 0;
};

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_CRYPTO_RANDOM_H_
