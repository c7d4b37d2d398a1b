// PE/COFF images as UEFI firmware loads them (Microsoft PE Format specification): the headers that
// Authenticode hashing and UKI section lookup need. Input is an untrusted file image; every field
// is bounds-checked and the counts are capped before anything is allocated.
#ifndef BOOTGATE_ATTEST_IMAGE_PE_IMAGE_H_
#define BOOTGATE_ATTEST_IMAGE_PE_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// Caps. The PE specification allows at most 96 sections for the Windows loader; EDK2 rejects more
// than 16 data directories.
inline constexpr uint16_t kMaxPeSections = 96;
inline constexpr uint32_t kMaxPeDataDirectories = 16;
// Files larger than this are refused (PE offsets and sizes are 32-bit).
inline constexpr uint64_t kMaxPeFileBytes = uint64_t{1} << 32;

inline constexpr uint16_t kPe32Magic = 0x10B;
inline constexpr uint16_t kPe32PlusMagic = 0x20B;
inline constexpr uint32_t kPeCertificateTableIndex = 4;  // IMAGE_DIRECTORY_ENTRY_SECURITY

struct PeDataDirectory {
  uint32_t virtual_address = 0;  // for the Certificate Table: a file offset
  uint32_t size = 0;
};

struct PeSection {
  // The 8-byte Name field up to its first NUL. This is what UEFI loaders such as systemd-stub
  // compare.
  std::string raw_name;
  // `raw_name`, or for a long name ("/4": an offset into the COFF string table, as GNU ld writes
  // ".vendor_cert") the string it refers to. A reference that does not resolve inside the file
  // leaves the raw name.
  std::string name;
  uint32_t virtual_size = 0;
  uint32_t virtual_address = 0;
  uint32_t size_of_raw_data = 0;
  uint32_t pointer_to_raw_data = 0;
  uint32_t characteristics = 0;
};

struct PeImage {
  uint64_t file_size = 0;
  uint32_t pe_header_offset = 0;  // e_lfanew: offset of "PE\0\0"
  uint16_t machine = 0;
  uint16_t optional_header_magic = 0;  // kPe32Magic or kPe32PlusMagic
  uint32_t size_of_headers = 0;
  uint32_t size_of_image = 0;
  uint32_t number_of_rva_and_sizes = 0;
  // File offsets of the fields that Authenticode leaves out of the hash.
  size_t checksum_offset = 0;
  // Offset of the Certificate Table data-directory entry (8 bytes); absent when the image has
  // fewer than 5 data directories.
  std::optional<size_t> certificate_entry_offset;
  std::vector<PeDataDirectory> data_directories;  // number_of_rva_and_sizes entries
  std::vector<PeSection> sections;                // in section-table order

  // The Certificate Table (file offset and size); nullopt when absent or empty.
  std::optional<PeDataDirectory> CertificateTable() const;
};

// Parses and checks the DOS header, "PE\0\0" signature, COFF file header, PE32/PE32+ optional
// header, data directories and section table. Rejected with InvalidArgument naming the field:
// truncated headers, a bad MZ/PE signature or optional-header magic, more than kMaxPeSections
// sections or kMaxPeDataDirectories data directories, a SizeOfOptionalHeader too small for its data
// directories, a section table that does not fit in SizeOfHeaders or the file, SizeOfHeaders beyond
// the file, a section whose raw data lies beyond the file, a Certificate Table beyond the file.
absl::StatusOr<PeImage> ParsePeImage(ByteSpan file);

// The sections whose (resolved) name matches `name` exactly.
std::vector<const PeSection*> FindPeSections(const PeImage& image, absl::string_view name);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_PE_IMAGE_H_
