#include "attest/image/pe_image.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {
namespace {

constexpr size_t kDosHeaderSize = 64;
constexpr size_t kElfanewOffset = 0x3C;
constexpr size_t kCoffHeaderSize = 20;
constexpr size_t kSectionHeaderSize = 40;
// Offsets inside the optional header.
constexpr size_t kOptSizeOfImage = 56;
constexpr size_t kOptSizeOfHeaders = 60;
constexpr size_t kOptCheckSum = 64;
constexpr size_t kPe32NumberOfRvaAndSizes = 92;
constexpr size_t kPe32PlusNumberOfRvaAndSizes = 108;

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("PE image: ", message));
}

// A reader positioned at `offset` of `file`; error naming `field` when the offset is beyond it.
absl::StatusOr<ByteReader> ReaderAt(ByteSpan file, uint64_t offset, absl::string_view field) {
  if (offset > file.size()) {
    return Invalid(
        absl::StrCat(field, ": offset ", offset, " beyond end of file (", file.size(), " bytes)"));
  }
  return ByteReader(file.subspan(static_cast<size_t>(offset)));
}

// Reader errors already name the field; prefix them so the caller knows which parser failed.
absl::Status Prefixed(const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat("PE image: ", s.message()));
}

// "/123" names refer to offset 123 of the COFF string table, which follows the symbol table
// (18-byte records) and starts with its own 4-byte size.
constexpr size_t kMaxLongSectionName = 256;
std::string ResolveLongName(const std::string& raw, ByteSpan file, uint32_t symbol_table,
                            uint32_t number_of_symbols) {
  if (raw.size() < 2 || raw[0] != '/' || symbol_table == 0) return raw;
  uint64_t offset = 0;
  for (size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] < '0' || raw[i] > '9') return raw;
    offset = offset * 10 + static_cast<uint64_t>(raw[i] - '0');
  }
  const uint64_t table = uint64_t{symbol_table} + uint64_t{number_of_symbols} * 18;
  if (table + 4 > file.size()) return raw;
  uint64_t table_size = 0;
  for (int i = 3; i >= 0; --i) table_size = table_size << 8 | file[table + i];
  const uint64_t table_end = std::min<uint64_t>(table + table_size, file.size());
  if (offset < 4 || table + offset >= table_end) return raw;
  std::string out;
  for (uint64_t p = table + offset; p < table_end && file[p] != 0; ++p) {
    if (out.size() == kMaxLongSectionName) return raw;
    out.push_back(static_cast<char>(file[p]));
  }
  return out.empty() ? raw : out;
}

}  // namespace

std::optional<PeDataDirectory> PeImage::CertificateTable() const {
  if (data_directories.size() <= kPeCertificateTableIndex) return std::nullopt;
  const PeDataDirectory& d = data_directories[kPeCertificateTableIndex];
  if (d.size == 0) return std::nullopt;
  return d;
}

absl::StatusOr<PeImage> ParsePeImage(ByteSpan file) {
  PeImage image;
  image.file_size = file.size();
  if (image.file_size >= kMaxPeFileBytes) {
    return Invalid(absl::StrCat("file of ", file.size(), " bytes exceeds the 4 GiB PE limit"));
  }
  if (file.size() < kDosHeaderSize) {
    return Invalid(absl::StrCat("DOS header: truncated (", file.size(), " bytes, need 64)"));
  }
  if (file[0] != 'M' || file[1] != 'Z') return Invalid("DOS header: bad e_magic (not \"MZ\")");
  ByteReader dos(file.subspan(kElfanewOffset));
  auto lfanew = dos.U32Le("DOS header e_lfanew");
  if (!lfanew.ok()) return Prefixed(lfanew.status());
  image.pe_header_offset = *lfanew;

  auto pe = ReaderAt(file, image.pe_header_offset, "e_lfanew");
  if (!pe.ok()) return pe.status();
  ByteReader& r = *pe;
  auto run = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ByteSpan sig, r.Span(4, "PE signature"));
    if (sig[0] != 'P' || sig[1] != 'E' || sig[2] != 0 || sig[3] != 0) {
      return Invalid(absl::StrCat("bad PE signature at offset ", image.pe_header_offset,
                                  " (not \"PE\\0\\0\")"));
    }
    ASSIGN_OR_RETURN(image.machine, r.U16Le("COFF header Machine"));
    ASSIGN_OR_RETURN(uint16_t number_of_sections, r.U16Le("COFF header NumberOfSections"));
    RETURN_IF_ERROR(r.Skip(4, "COFF header TimeDateStamp"));
    ASSIGN_OR_RETURN(uint32_t symbol_table, r.U32Le("COFF header PointerToSymbolTable"));
    ASSIGN_OR_RETURN(uint32_t number_of_symbols, r.U32Le("COFF header NumberOfSymbols"));
    ASSIGN_OR_RETURN(uint16_t size_of_optional_header, r.U16Le("COFF header SizeOfOptionalHeader"));
    RETURN_IF_ERROR(r.Skip(2, "COFF header Characteristics"));
    if (number_of_sections > kMaxPeSections) {
      return Invalid(
          absl::StrCat("NumberOfSections ", number_of_sections, " exceeds cap ", kMaxPeSections));
    }
    const size_t opt_offset = image.pe_header_offset + 4 + kCoffHeaderSize;
    ASSIGN_OR_RETURN(ByteSpan opt, r.Span(size_of_optional_header, "optional header"));
    ByteReader o(opt);
    ASSIGN_OR_RETURN(image.optional_header_magic, o.U16Le("optional header Magic"));
    size_t rva_count_offset = 0;
    if (image.optional_header_magic == kPe32Magic) {
      rva_count_offset = kPe32NumberOfRvaAndSizes;
    } else if (image.optional_header_magic == kPe32PlusMagic) {
      rva_count_offset = kPe32PlusNumberOfRvaAndSizes;
    } else {
      return Invalid(absl::StrCat("optional header Magic 0x",
                                  absl::Hex(image.optional_header_magic),
                                  " is neither PE32 (0x10b) nor PE32+ (0x20b)"));
    }
    if (opt.size() < rva_count_offset + 4) {
      return Invalid(absl::StrCat("SizeOfOptionalHeader ", opt.size(),
                                  " too small for NumberOfRvaAndSizes (need ", rva_count_offset + 4,
                                  ")"));
    }
    ByteReader fields(opt.subspan(kOptSizeOfImage));
    ASSIGN_OR_RETURN(image.size_of_image, fields.U32Le("optional header SizeOfImage"));
    ASSIGN_OR_RETURN(image.size_of_headers, fields.U32Le("optional header SizeOfHeaders"));
    image.checksum_offset = opt_offset + kOptCheckSum;
    ByteReader count(opt.subspan(rva_count_offset));
    ASSIGN_OR_RETURN(image.number_of_rva_and_sizes, count.U32Le("NumberOfRvaAndSizes"));
    if (image.number_of_rva_and_sizes > kMaxPeDataDirectories) {
      return Invalid(absl::StrCat("NumberOfRvaAndSizes ", image.number_of_rva_and_sizes,
                                  " exceeds cap ", kMaxPeDataDirectories));
    }
    const size_t dirs_offset = rva_count_offset + 4;
    if (opt.size() < dirs_offset + 8 * size_t{image.number_of_rva_and_sizes}) {
      return Invalid(absl::StrCat("SizeOfOptionalHeader ", opt.size(), " too small for ",
                                  image.number_of_rva_and_sizes, " data directories"));
    }
    ByteReader dirs(opt.subspan(dirs_offset));
    for (uint32_t i = 0; i < image.number_of_rva_and_sizes; ++i) {
      PeDataDirectory d;
      ASSIGN_OR_RETURN(d.virtual_address, dirs.U32Le("data directory VirtualAddress"));
      ASSIGN_OR_RETURN(d.size, dirs.U32Le("data directory Size"));
      image.data_directories.push_back(d);
    }
    if (image.number_of_rva_and_sizes > kPeCertificateTableIndex) {
      image.certificate_entry_offset = opt_offset + dirs_offset + 8 * kPeCertificateTableIndex;
    }

    // Section table, right after the optional header.
    const uint64_t table_end = uint64_t{opt_offset} + size_of_optional_header +
                               uint64_t{kSectionHeaderSize} * number_of_sections;
    if (table_end > file.size()) {
      return Invalid(absl::StrCat("section table (", number_of_sections,
                                  " sections) ends at offset ", table_end, " beyond end of file (",
                                  file.size(), " bytes)"));
    }
    if (image.size_of_headers > file.size()) {
      return Invalid(absl::StrCat("SizeOfHeaders ", image.size_of_headers, " beyond end of file (",
                                  file.size(), " bytes)"));
    }
    if (table_end > image.size_of_headers) {
      return Invalid(absl::StrCat("section table ends at offset ", table_end,
                                  " beyond SizeOfHeaders ", image.size_of_headers));
    }
    for (uint16_t i = 0; i < number_of_sections; ++i) {
      PeSection s;
      ASSIGN_OR_RETURN(ByteSpan name, r.Span(8, "section header Name"));
      size_t len = 0;
      while (len < name.size() && name[len] != 0) ++len;
      s.raw_name.assign(reinterpret_cast<const char*>(name.data()), len);
      s.name = ResolveLongName(s.raw_name, file, symbol_table, number_of_symbols);
      ASSIGN_OR_RETURN(s.virtual_size, r.U32Le("section header VirtualSize"));
      ASSIGN_OR_RETURN(s.virtual_address, r.U32Le("section header VirtualAddress"));
      ASSIGN_OR_RETURN(s.size_of_raw_data, r.U32Le("section header SizeOfRawData"));
      ASSIGN_OR_RETURN(s.pointer_to_raw_data, r.U32Le("section header PointerToRawData"));
      RETURN_IF_ERROR(r.Skip(12, "section header relocation/line-number fields"));
      ASSIGN_OR_RETURN(s.characteristics, r.U32Le("section header Characteristics"));
      if (s.size_of_raw_data > 0 &&
          uint64_t{s.pointer_to_raw_data} + s.size_of_raw_data > file.size()) {
        return Invalid(absl::StrCat("section ", i, " (\"", s.name, "\") raw data at offset ",
                                    s.pointer_to_raw_data, " size ", s.size_of_raw_data,
                                    " beyond end of file (", file.size(), " bytes)"));
      }
      image.sections.push_back(std::move(s));
    }

    if (auto cert = image.CertificateTable(); cert.has_value()) {
      if (uint64_t{cert->virtual_address} + cert->size > file.size()) {
        return Invalid(absl::StrCat("Certificate Table at offset ", cert->virtual_address, " size ",
                                    cert->size, " beyond end of file (", file.size(), " bytes)"));
      }
      if (cert->virtual_address < image.size_of_headers) {
        return Invalid(absl::StrCat("Certificate Table at offset ", cert->virtual_address,
                                    " overlaps the headers (SizeOfHeaders ", image.size_of_headers,
                                    ")"));
      }
    }
    return absl::OkStatus();
  };
  absl::Status s = run();
  if (!s.ok()) {
    if (absl::StartsWith(s.message(), "PE image: ")) return s;
    return Prefixed(s);
  }
  return image;
}

std::vector<const PeSection*> FindPeSections(const PeImage& image, absl::string_view name) {
  std::vector<const PeSection*> out;
  for (const PeSection& s : image.sections) {
    if (s.name == name) out.push_back(&s);
  }
  return out;
}

}  // namespace bootgate::attest
