#include "attest/eventlog/efi_types.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

std::string EfiGuid::ToString() const {
  const auto& b = bytes;
  return absl::StrFormat("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11],
                         b[12], b[13], b[14], b[15]);
}

absl::StatusOr<EfiGuid> ReadGuid(ByteReader& r, absl::string_view field) {
  ASSIGN_OR_RETURN(ByteSpan span, r.Span(16, field));
  EfiGuid g;
  for (size_t i = 0; i < 16; ++i) g.bytes[i] = span[i];
  return g;
}

absl::StatusOr<EfiGuid> ParseGuid(absl::string_view text) {
  // 8-4-4-4-12 hex digits.
  if (text.size() != 36 || text[8] != '-' || text[13] != '-' || text[18] != '-' ||
      text[23] != '-') {
    return absl::InvalidArgumentError(absl::StrCat("GUID '", text, "': not 8-4-4-4-12 form"));
  }
  std::string hex;
  for (char c : text) {
    if (c != '-') hex.push_back(c);
  }
  ASSIGN_OR_RETURN(Bytes raw, HexDecode(hex));
  // Text order is big-endian per field; the wire stores Data1..3 little-endian.
  EfiGuid g;
  const size_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < 16; ++i) g.bytes[i] = raw[order[i]];
  return g;
}

namespace {

struct GuidNameEntry {
  EfiGuid guid;
  const char* name;
};

// GUIDs that appear in boot logs: variable vendors, signature types and owners, configuration
// tables, device-path vendors and GPT partition types.
constexpr GuidNameEntry kGuidNames[] = {
    {kEfiGlobalVariableGuid, "EFI_GLOBAL_VARIABLE"},
    {kEfiImageSecurityDatabaseGuid, "EFI_IMAGE_SECURITY_DATABASE"},
    {kShimLockGuid, "SHIM_LOCK"},
    {kEfiCertX509Guid, "EFI_CERT_X509"},
    {kEfiCertSha256Guid, "EFI_CERT_SHA256"},
    {MakeGuid(0x826ca512, 0xcf10, 0x4ac9, {0xb1, 0x87, 0xbe, 0x01, 0x49, 0x66, 0x31, 0xbd}),
     "EFI_CERT_SHA1"},
    {MakeGuid(0xff3e5307, 0x9fd0, 0x48c9, {0x85, 0xf1, 0x8a, 0xd5, 0x6c, 0x70, 0x1e, 0x01}),
     "EFI_CERT_SHA384"},
    {MakeGuid(0x093e0fae, 0xa6c4, 0x4f50, {0x9f, 0x1b, 0xd4, 0x1e, 0x2b, 0x89, 0xc1, 0x9a}),
     "EFI_CERT_SHA512"},
    {MakeGuid(0x57347f87, 0x7a9b, 0x403a, {0xb9, 0x3c, 0xdc, 0x4a, 0xfb, 0x7a, 0x0e, 0xbc}),
     "EFI_CERT_SM3"},
    {MakeGuid(0x3c5766e8, 0x269c, 0x4e34, {0xaa, 0x14, 0xed, 0x77, 0x6e, 0x85, 0xb3, 0xb6}),
     "EFI_CERT_RSA2048"},
    {MakeGuid(0xe2b36190, 0x879b, 0x4a3d, {0xad, 0x8d, 0xf2, 0xe7, 0xbb, 0xa3, 0x27, 0x84}),
     "EFI_CERT_RSA2048_SHA256"},
    {MakeGuid(0x67f8444f, 0x8743, 0x48f1, {0xa3, 0x28, 0x1e, 0xaa, 0xb8, 0x73, 0x60, 0x80}),
     "EFI_CERT_RSA2048_SHA1"},
    {MakeGuid(0x3bd2a492, 0x96c0, 0x4079, {0xb4, 0x20, 0xfc, 0xf9, 0x8e, 0xf1, 0x03, 0xed}),
     "EFI_CERT_X509_SHA256"},
    {MakeGuid(0x7076876e, 0x80c2, 0x4ee6, {0xaa, 0xd2, 0x28, 0xb3, 0x49, 0xa6, 0x86, 0x5b}),
     "EFI_CERT_X509_SHA384"},
    {MakeGuid(0x446dbf63, 0x2502, 0x4cda, {0xbc, 0xfa, 0x24, 0x65, 0xd2, 0xb0, 0xfe, 0x9d}),
     "EFI_CERT_X509_SHA512"},
    {MakeGuid(0x4aafd29d, 0x68df, 0x49ee, {0x8a, 0xa9, 0x34, 0x7d, 0x37, 0x56, 0x65, 0xa7}),
     "EFI_CERT_TYPE_PKCS7"},
    {MakeGuid(0x77fa9abd, 0x0359, 0x4d32, {0xbd, 0x60, 0x28, 0xf4, 0xe7, 0x8f, 0x78, 0x4b}),
     "Microsoft"},
    {MakeGuid(0x8868e871, 0xe4f1, 0x11d3, {0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81}),
     "ACPI_20_TABLE"},
    {MakeGuid(0xeb9d2d30, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}),
     "ACPI_TABLE"},
    {MakeGuid(0xeb9d2d31, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}),
     "SMBIOS_TABLE"},
    {MakeGuid(0xf2fd1544, 0x9794, 0x4a2c, {0x99, 0x2e, 0xe5, 0xbb, 0xcf, 0x20, 0xe3, 0x94}),
     "SMBIOS3_TABLE"},
    {MakeGuid(0x5568e427, 0x68fc, 0x4f3d, {0xac, 0x74, 0xca, 0x55, 0x52, 0x31, 0xcc, 0x68}),
     "LINUX_EFI_INITRD_MEDIA"},
    {MakeGuid(0xc12a7328, 0xf81f, 0x11d2, {0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}),
     "EFI System Partition"},
    {MakeGuid(0x21686148, 0x6449, 0x6e6f, {0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49}),
     "BIOS boot partition"},
    {MakeGuid(0x0fc63daf, 0x8483, 0x4772, {0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4}),
     "Linux filesystem"},
    {MakeGuid(0x4f68bce3, 0xe8cd, 0x4db1, {0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09}),
     "Linux root (x86-64)"},
    {MakeGuid(0xbc13c2ff, 0x59e6, 0x4262, {0xa3, 0x52, 0xb2, 0x75, 0xfd, 0x6f, 0x71, 0x72}),
     "Linux extended boot"},
    {MakeGuid(0xe6d6d379, 0xf507, 0x44c2, {0xa2, 0x3c, 0x23, 0x8f, 0x2a, 0x3d, 0xf9, 0x28}),
     "Linux LVM"},
    {MakeGuid(0x0657fd6d, 0xa4ab, 0x43c4, {0x84, 0xe5, 0x09, 0x33, 0xc8, 0x4b, 0x4f, 0x4f}),
     "Linux swap"},
    {MakeGuid(0xebd0a0a2, 0xb9e5, 0x4433, {0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7}),
     "Microsoft basic data"},
    {MakeGuid(0xe3c9e316, 0x0b5c, 0x4db8, {0x81, 0x7d, 0xf9, 0x2d, 0xf0, 0x02, 0x15, 0xae}),
     "Microsoft reserved"},
    {MakeGuid(0xde94bba4, 0x06d1, 0x4d40, {0xa1, 0x6a, 0xbf, 0xd5, 0x01, 0x79, 0xd6, 0xac}),
     "Windows recovery"},
    {MakeGuid(0xfe3a2a5d, 0x4f32, 0x41a7, {0xb7, 0x25, 0xac, 0xcc, 0x32, 0x85, 0xa3, 0x09}),
     "ChromeOS kernel"},
    {MakeGuid(0x3cb8e202, 0x3b7e, 0x47dd, {0x8a, 0x3c, 0x7f, 0xf2, 0xa1, 0x3f, 0xcf, 0xec}),
     "ChromeOS root"},
};

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlongs, surrogates and
// code points above U+10FFFF included).
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool IsPrintableCodePoint(uint32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return true;
  if (cp < 0x20 || cp == 0x7F) return false;
  if (cp >= 0x80 && cp < 0xA0) return false;
  return cp != 0xFFFD;
}

}  // namespace

std::string GuidName(const EfiGuid& guid) {
  for (const auto& e : kGuidNames) {
    if (e.guid == guid) return e.name;
  }
  return "";
}

absl::StatusOr<std::string> Utf16LeToUtf8(ByteSpan data, bool stop_at_nul) {
  if (data.size() % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("UTF-16 string has odd length ", data.size()));
  }
  std::string out;
  out.reserve(data.size() / 2);
  for (size_t i = 0; i < data.size(); i += 2) {
    uint32_t u = static_cast<uint32_t>(data[i] | data[i + 1] << 8);
    if (u == 0 && stop_at_nul) break;
    if (u >= 0xD800 && u <= 0xDBFF && i + 3 < data.size()) {
      uint32_t lo = static_cast<uint32_t>(data[i + 2] | data[i + 3] << 8);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        AppendUtf8(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00), &out);
        i += 2;
        continue;
      }
    }
    if (u >= 0xD800 && u <= 0xDFFF) u = 0xFFFD;
    AppendUtf8(u, &out);
  }
  return out;
}

absl::StatusOr<std::string> ReadUtf16Z(ByteReader& r, absl::string_view field) {
  ByteSpan rest = r.rest();
  for (size_t i = 0; i + 1 < rest.size(); i += 2) {
    if (rest[i] == 0 && rest[i + 1] == 0) {
      ASSIGN_OR_RETURN(std::string s, Utf16LeToUtf8(rest.subspan(0, i), false));
      RETURN_IF_ERROR(r.Skip(i + 2, field));
      return s;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": UTF-16 string at offset ", r.offset(), " is not NUL-terminated"));
}

std::string EscapeForDisplay(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const uint8_t c = static_cast<uint8_t>(text[i]);
    size_t n = Utf8SequenceLength(text, i);
    if (n == 1 && c >= 0x20 && c != 0x7F) {
      out.push_back(static_cast<char>(c));
    } else if (n > 1) {
      uint32_t cp = c & (0xFFu >> (n + 1));
      for (size_t k = 1; k < n; ++k) cp = cp << 6 | (static_cast<uint8_t>(text[i + k]) & 0x3Fu);
      // C1 controls can act as terminal escapes; bidi overrides can disguise text.
      const bool hidden = cp < 0xA0 || (cp >= 0x200B && cp <= 0x200F) ||
                          (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
                          cp == 0xFEFF;
      if (hidden) {
        absl::StrAppendFormat(&out, "\\u%04x", cp);
      } else {
        out.append(text.data() + i, n);
      }
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (c == '\r') {
      out.append("\\r");
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
      n = 1;
    }
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::optional<std::string> AsAsciiText(ByteSpan data) {
  size_t end = data.size();
  while (end > 0 && data[end - 1] == 0) --end;
  if (end == 0) return std::nullopt;
  std::string out;
  out.reserve(end);
  for (size_t i = 0; i < end; ++i) {
    const uint8_t c = data[i];
    if (!(c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7F))) return std::nullopt;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::optional<std::string> AsUtf8Text(ByteSpan data) {
  size_t end = data.size();
  while (end > 0 && data[end - 1] == 0) --end;
  if (end == 0) return std::nullopt;
  const absl::string_view s(reinterpret_cast<const char*>(data.data()), end);
  size_t i = 0;
  while (i < s.size()) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return std::nullopt;
    uint32_t cp = static_cast<uint8_t>(s[i]) & (n == 1 ? 0x7Fu : 0xFFu >> (n + 1));
    for (size_t k = 1; k < n; ++k) cp = cp << 6 | (static_cast<uint8_t>(s[i + k]) & 0x3Fu);
    if (!IsPrintableCodePoint(cp)) return std::nullopt;
    i += n;
  }
  return std::string(s);
}

std::optional<std::string> AsUtf16Text(ByteSpan data) {
  if (data.size() < 2 || data.size() % 2 != 0) return std::nullopt;
  size_t end = data.size();
  while (end >= 2 && data[end - 1] == 0 && data[end - 2] == 0) end -= 2;
  if (end == 0) return std::nullopt;
  std::string out;
  out.reserve(end / 2);
  for (size_t i = 0; i < end; i += 2) {
    // Firmware strings are Latin-1 in practice; allowing the whole BMP would let arbitrary
    // binary (a GUID, a hash) pass as CJK text.
    const uint32_t u = static_cast<uint32_t>(data[i] | data[i + 1] << 8);
    if (u > 0xFF || !IsPrintableCodePoint(u)) return std::nullopt;
    AppendUtf8(u, &out);
  }
  return out;
}

}  // namespace bootgate::attest
