// The TPM 2.0 key derivation functions (TPM 2.0 Library Part 1, section 11.4.10).
#ifndef BOOTGATE_ATTEST_CRYPTO_KDF_H_
#define BOOTGATE_ATTEST_CRYPTO_KDF_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Largest output either KDF produces here (bits); far above any TPM use (a 512-bit HMAC key).
inline constexpr uint32_t kMaxKdfBits = 8 * 1024 * 8;

// KDFa: SP 800-108 counter-mode KDF with HMAC_hashAlg (Part 1, 11.4.10.2):
//   K(i) = HMAC(key, [i]_32 || label || 0x00 || contextU || contextV || [bits]_32), i = 1, 2, ...
// `label` is the string without its terminating NUL (e.g. "STORAGE"); the NUL is appended here
// unless `label` already ends in one, as the TPM reference implementation does. The result is
// ceil(bits / 8) bytes; when bits is not a multiple of 8 the unused high-order bits of the first
// byte are cleared. `hash_alg` is a TPM_ALG_ID (SHA-1, SHA-256, SHA-384, SHA-512, ...).
absl::StatusOr<Bytes> KdfA(uint16_t hash_alg, ByteSpan key, absl::string_view label,
                           ByteSpan context_u, ByteSpan context_v, uint32_t bits);

// KDFe: SP 800-56A concatenation KDF with hashAlg (Part 1, 11.4.10.3), used for ECDH secrets:
//   K(i) = H([i]_32 || Z || label || 0x00 || partyUInfo || partyVInfo), i = 1, 2, ...
// Same label and output-size conventions as KdfA. Z is the x-coordinate of the shared point.
absl::StatusOr<Bytes> KdfE(uint16_t hash_alg, ByteSpan z, absl::string_view label,
                           ByteSpan party_u_info, ByteSpan party_v_info, uint32_t bits);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_CRYPTO_KDF_H_
