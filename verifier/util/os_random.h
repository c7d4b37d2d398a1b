// The production RandomSource: OpenSSL's DRBG (seeded from the OS). Nonces, enrollment secrets,
// token keys, token strings and record ids all come from the RandomSource the services are given.
#ifndef BOOTGATE_VERIFIER_UTIL_OS_RANDOM_H_
#define BOOTGATE_VERIFIER_UTIL_OS_RANDOM_H_

#include <string>

#include "absl/status/statusor.h"
#include "attest/crypto/random.h"
#include "attest/util/bytes.h"

namespace bootgate::verifier {

class OsRandom final : public attest::RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override;
};

absl::StatusOr<attest::Bytes> RandomBytes(attest::RandomSource& rng, size_t n);
// `prefix` followed by 2*n_bytes lower-case hex digits, e.g. "att-1f0c...".
absl::StatusOr<std::string> RandomId(attest::RandomSource& rng, const std::string& prefix,
                                     size_t n_bytes = 8);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_OS_RANDOM_H_
