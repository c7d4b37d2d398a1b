// Authenticode image digests (the PE hash that UEFI firmware measures into PCR 4 as
// EV_EFI_BOOT_SERVICES_APPLICATION and that `pesign -h` prints), computed the way EDK2's
// DxeTpm2MeasureBootLib and pesign do:
//   1. the headers from offset 0 up to the optional header's CheckSum field, skipping CheckSum
//      (4 bytes), then up to the Certificate Table data-directory entry, skipping it (8 bytes;
//      only when the image has at least 5 data directories), then up to SizeOfHeaders;
//   2. every section with SizeOfRawData > 0, sorted by PointerToRawData, SizeOfRawData bytes each;
//   3. with S = SizeOfHeaders + the sum of those SizeOfRawData and C = the Certificate Table size:
//      the bytes from offset S up to file size - C, when the file is larger than S + C.
// Signing pads unaligned images to 8 bytes, which changes the digest: hash the final signed file.
#ifndef BOOTGATE_ATTEST_IMAGE_AUTHENTICODE_H_
#define BOOTGATE_ATTEST_IMAGE_AUTHENTICODE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "attest/eventlog/event_log.h"
#include "attest/image/pe_image.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// The Authenticode digest of `file` (already parsed into `image`) for each algorithm in `algs`
// (TPM_ALG_IDs, e.g. sha1, sha256, sha384, sha512), in that order. Error for an algorithm OpenSSL
// cannot compute or a duplicate algorithm.
absl::StatusOr<std::vector<EventDigest>> AuthenticodeDigests(const PeImage& image, ByteSpan file,
                                                             absl::Span<const uint16_t> algs);

// Parses `file` and computes its digests; errors are ParsePeImage's.
absl::StatusOr<std::vector<EventDigest>> AuthenticodeDigests(ByteSpan file,
                                                             absl::Span<const uint16_t> algs);

// One algorithm.
absl::StatusOr<Bytes> AuthenticodeDigest(ByteSpan file, uint16_t alg);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_AUTHENTICODE_H_
