#include "verifier/util/os_random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>

#include "attest/crypto/ossl.h"
#include "attest/util/status_macros.h"

namespace bootgate::verifier {

absl::Status OsRandom::Fill(absl::Span<uint8_t> out) {
  // RAND_priv_bytes: the private DRBG, for values that must stay secret (keys, secrets).
  size_t done = 0;
  while (done < out.size()) {
    const size_t n = std::min<size_t>(out.size() - done, INT_MAX);
    if (RAND_priv_bytes(out.data() + done, static_cast<int>(n)) != 1) {
      return attest::OpenSslError("RAND_priv_bytes", absl::StatusCode::kUnavailable);
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<attest::Bytes> RandomBytes(attest::RandomSource& rng, size_t n) {
  attest::Bytes out(n);
  RETURN_IF_ERROR(rng.Fill(absl::MakeSpan(out)));
  return out;
}

absl::StatusOr<std::string> RandomId(attest::RandomSource& rng, const std::string& prefix,
                                     size_t n_bytes) {
  ASSIGN_OR_RETURN(attest::Bytes raw, RandomBytes(rng, n_bytes));
  return prefix + attest::HexEncode(raw);
}

}  // namespace bootgate::verifier
