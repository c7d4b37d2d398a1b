// Fuzzes the PE/COFF parser, Authenticode hashing and UKI section extraction on untrusted image
// bytes. Invariants: nothing reads out of bounds (ASan), a parsed image's sections lie inside the
// file, and Authenticode succeeds on every image the parser accepts.
#include <cstdint>
#include <cstdlib>

#include "attest/crypto/hash.h"
#include "attest/image/authenticode.h"
#include "attest/image/grub_image.h"
#include "attest/image/pe_image.h"
#include "attest/image/uki.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::attest;  // NOLINT(build/namespaces): fuzz entry point
  const ByteSpan input(data, size);
  auto image = ParsePeImage(input);
  if (!image.ok()) return 0;
  for (const PeSection& s : image->sections) {
    if (s.size_of_raw_data > 0 && uint64_t{s.pointer_to_raw_data} + s.size_of_raw_data > size) {
      std::abort();
    }
  }
  if (image->size_of_headers > size) std::abort();
  const uint16_t algs[] = {static_cast<uint16_t>(HashAlg::kSha256),
                           static_cast<uint16_t>(HashAlg::kSha1)};
  auto digests = AuthenticodeDigests(*image, input, algs);
  if (!digests.ok() || digests->size() != 2) std::abort();
  if (auto grub = ParseGrubImage(*image, input); grub.ok()) {
    (void)DebianSignedGrubPrologue(*grub, "(hd0)", "/EFI/BOOT", GrubCfgLocation::kCmdpath);
  }
  auto uki = ParseUki(input, StubSectionTable::kSystemd253);
  if (uki.ok()) (void)PredictUkiPcr11(*uki, algs);
  return 0;
}
