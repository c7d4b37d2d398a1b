// Byte containers and hex helpers shared by every layer.
#ifndef BOOTGATE_ATTEST_UTIL_BYTES_H_
#define BOOTGATE_ATTEST_UTIL_BYTES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace bootgate::attest {

using Bytes = std::vector<uint8_t>;
using ByteSpan = absl::Span<const uint8_t>;

// Lower-case hex, no separators.
std::string HexEncode(ByteSpan data);
// Accepts upper or lower case; whitespace around the string is ignored. Odd length or a non-hex
// character is an InvalidArgument error naming the position.
absl::StatusOr<Bytes> HexDecode(absl::string_view hex);

inline ByteSpan AsSpan(absl::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline Bytes ToBytes(absl::string_view s) { return Bytes(s.begin(), s.end()); }

// Constant-time equality for secrets and nonces: the time depends only on the lengths.
bool ConstantTimeEquals(ByteSpan a, ByteSpan b);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_UTIL_BYTES_H_
