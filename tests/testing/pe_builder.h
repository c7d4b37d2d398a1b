// Builds small, well-formed PE32+/PE32 images for parser tests and fuzz seeds. Layout: DOS header
// with e_lfanew = 0x80, "PE\0\0" at 0x80, COFF header at 0x84, optional header at 0x98, the
// section table after it, headers padded to 0x200, each section's raw data padded to 0x200, then
// `trailing` bytes, then the certificate table (when `certificate` is not empty, 8-byte aligned).
#ifndef BOOTGATE_TESTS_TESTING_PE_BUILDER_H_
#define BOOTGATE_TESTS_TESTING_PE_BUILDER_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "attest/util/bytes.h"

namespace bootgate::testing {

struct PeSpecSection {
  std::string name;  // at most 8 characters
  attest::Bytes data;
  // VirtualSize; -1 = data.size().
  int64_t virtual_size = -1;
};

struct PeSpec {
  bool pe32_plus = true;
  uint32_t number_of_rva_and_sizes = 16;
  std::vector<PeSpecSection> sections;
  attest::Bytes trailing;
  attest::Bytes certificate;
};

// Offsets of the fields tests mutate.
inline constexpr size_t kPeOffset = 0x80;
inline constexpr size_t kCoffOffset = kPeOffset + 4;
inline constexpr size_t kOptOffset = kCoffOffset + 20;
inline constexpr size_t kOptCheckSumOffset = kOptOffset + 64;
inline constexpr size_t kOptSizeOfHeadersOffset = kOptOffset + 60;
inline constexpr size_t kPeFileAlignment = 0x200;

inline size_t PeOptionalHeaderSize(const PeSpec& spec) {
  return (spec.pe32_plus ? 112 : 96) + 8 * size_t{spec.number_of_rva_and_sizes};
}
inline size_t PeSectionTableOffset(const PeSpec& spec) {
  return kOptOffset + PeOptionalHeaderSize(spec);
}
// Offset of data directory `index` (valid when index < number_of_rva_and_sizes).
inline size_t PeDataDirectoryOffset(const PeSpec& spec, size_t index) {
  return kOptOffset + (spec.pe32_plus ? 112 : 96) + 8 * index;
}

// Little-endian stores; out-of-range offsets are ignored (tests build the buffers themselves).
inline void PutLe(attest::Bytes& b, size_t off, uint64_t v, size_t n) {
  uint8_t* p = b.data();
  if (p == nullptr || off > b.size() || n > b.size() - off) return;
  for (size_t i = 0; i < n; ++i) p[off + i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutU16(attest::Bytes& b, size_t off, uint16_t v) { PutLe(b, off, v, 2); }
inline void PutU32(attest::Bytes& b, size_t off, uint32_t v) { PutLe(b, off, v, 4); }

inline size_t AlignUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

inline attest::Bytes BuildPe(const PeSpec& spec) {
  const size_t table = PeSectionTableOffset(spec);
  const size_t headers = AlignUp(table + 40 * spec.sections.size(), kPeFileAlignment);
  attest::Bytes b(headers, 0);
  PutU16(b, 0, 0x5A4D);  // "MZ"
  PutU32(b, 0x3C, kPeOffset);
  PutU32(b, kPeOffset, 0x00004550);  // "PE\0\0"
  PutU16(b, kCoffOffset, 0x8664);    // x86-64
  PutU16(b, kCoffOffset + 2, static_cast<uint16_t>(spec.sections.size()));
  PutU16(b, kCoffOffset + 16, static_cast<uint16_t>(PeOptionalHeaderSize(spec)));
  PutU16(b, kCoffOffset + 18, 0x0206);
  PutU16(b, kOptOffset, spec.pe32_plus ? 0x20B : 0x10B);
  PutU32(b, kOptOffset + 32, 0x1000);  // SectionAlignment
  PutU32(b, kOptOffset + 36, kPeFileAlignment);
  PutU32(b, kOptOffset + 56, static_cast<uint32_t>(0x1000 * (spec.sections.size() + 1)));
  PutU32(b, kOptSizeOfHeadersOffset, static_cast<uint32_t>(headers));
  PutU32(b, kOptCheckSumOffset, 0x12345678);
  PutU16(b, kOptOffset + 68, 10);  // EFI application
  PutU32(b, kOptOffset + (spec.pe32_plus ? 108 : 92), spec.number_of_rva_and_sizes);
  for (size_t i = 0; i < spec.sections.size(); ++i) {
    const PeSpecSection& s = spec.sections[i];
    const size_t h = table + 40 * i;
    for (size_t k = 0; k < std::min<size_t>(8, s.name.size()); ++k) {
      PutLe(b, h + k, static_cast<uint8_t>(s.name[k]), 1);
    }
    const size_t raw = AlignUp(s.data.size(), kPeFileAlignment);
    PutU32(b, h + 8, static_cast<uint32_t>(s.virtual_size < 0 ? s.data.size() : s.virtual_size));
    PutU32(b, h + 12, static_cast<uint32_t>(0x1000 * (i + 1)));
    PutU32(b, h + 16, static_cast<uint32_t>(raw));
    PutU32(b, h + 20, static_cast<uint32_t>(raw == 0 ? 0 : b.size()));
    PutU32(b, h + 36, 0x40000040);
    b.insert(b.end(), s.data.begin(), s.data.end());
    b.resize(b.size() + (raw - s.data.size()), 0);
  }
  b.insert(b.end(), spec.trailing.begin(), spec.trailing.end());
  if (!spec.certificate.empty() && spec.number_of_rva_and_sizes > 4) {
    b.resize(AlignUp(b.size(), 8), 0);
    PutU32(b, PeDataDirectoryOffset(spec, 4), static_cast<uint32_t>(b.size()));
    PutU32(b, PeDataDirectoryOffset(spec, 4) + 4, static_cast<uint32_t>(spec.certificate.size()));
    b.insert(b.end(), spec.certificate.begin(), spec.certificate.end());
  }
  return b;
}

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_TESTING_PE_BUILDER_H_
