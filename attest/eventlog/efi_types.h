// Small UEFI building blocks shared by the event-data decoders: GUIDs (with names for the ones
// that matter in boot logs) and text helpers. Strings from a log are attacker-controlled, so
// everything that turns bytes into text here yields valid UTF-8 and escapes control characters.
#ifndef BOOTGATE_ATTEST_EVENTLOG_EFI_TYPES_H_
#define BOOTGATE_ATTEST_EVENTLOG_EFI_TYPES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/byte_reader.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// EFI_GUID as stored on the wire (Data1..3 little-endian, Data4 as bytes).
struct EfiGuid {
  std::array<uint8_t, 16> bytes{};

  // Canonical lower-case text, e.g. "8be4df61-93ca-11d2-aa0d-00e098032b8c".
  std::string ToString() const;
  bool operator==(const EfiGuid& o) const { return bytes == o.bytes; }
  bool operator!=(const EfiGuid& o) const { return bytes != o.bytes; }
  bool operator<(const EfiGuid& o) const { return bytes < o.bytes; }
};

absl::StatusOr<EfiGuid> ReadGuid(ByteReader& r, absl::string_view field);
// Parses the canonical text form; for constants and tests.
absl::StatusOr<EfiGuid> ParseGuid(absl::string_view text);

// Builds a GUID from its text-form fields, e.g. MakeGuid(0x8be4df61, 0x93ca, 0x11d2,
// {0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}).
constexpr EfiGuid MakeGuid(uint32_t d1, uint16_t d2, uint16_t d3, std::array<uint8_t, 8> d4) {
  return EfiGuid{{static_cast<uint8_t>(d1), static_cast<uint8_t>(d1 >> 8),
                  static_cast<uint8_t>(d1 >> 16), static_cast<uint8_t>(d1 >> 24),
                  static_cast<uint8_t>(d2), static_cast<uint8_t>(d2 >> 8), static_cast<uint8_t>(d3),
                  static_cast<uint8_t>(d3 >> 8), d4[0], d4[1], d4[2], d4[3], d4[4], d4[5], d4[6],
                  d4[7]}};
}

// Well-known GUIDs.
inline constexpr EfiGuid kEfiGlobalVariableGuid =
    MakeGuid(0x8be4df61, 0x93ca, 0x11d2, {0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c});
inline constexpr EfiGuid kEfiImageSecurityDatabaseGuid =
    MakeGuid(0xd719b2cb, 0x3d3a, 0x4596, {0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f});
inline constexpr EfiGuid kShimLockGuid =
    MakeGuid(0x605dab50, 0xe046, 0x4300, {0xab, 0xb6, 0x3d, 0xd8, 0x10, 0xdd, 0x8b, 0x23});
inline constexpr EfiGuid kEfiCertX509Guid =
    MakeGuid(0xa5c059a1, 0x94e4, 0x4aa7, {0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72});
inline constexpr EfiGuid kEfiCertSha256Guid =
    MakeGuid(0xc1c41626, 0x504c, 0x4092, {0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28});

// A short symbolic name ("EFI_GLOBAL_VARIABLE", "EFI_CERT_X509", "SMBIOS3_TABLE", "EFI System
// Partition", ...) or "" for GUIDs we do not know.
std::string GuidName(const EfiGuid& guid);

// UTF-16LE code units to UTF-8. Unpaired surrogates become U+FFFD. Stops at the first NUL code
// unit when `stop_at_nul`; an odd trailing byte is an error.
absl::StatusOr<std::string> Utf16LeToUtf8(ByteSpan data, bool stop_at_nul = true);

// Reads a NUL-terminated UTF-16LE string (consuming the terminator); error when unterminated.
absl::StatusOr<std::string> ReadUtf16Z(ByteReader& r, absl::string_view field);

// Text for display: valid UTF-8 is kept, control characters and invalid bytes become \n, \t or
// \xNN. Safe to print on a terminal and to put into JSON.
std::string EscapeForDisplay(absl::string_view text);

// `data` as 8-bit text when it is printable ASCII (tab/CR/LF allowed), ignoring NUL terminators
// at the end; nullopt otherwise. Empty data is not text.
std::optional<std::string> AsAsciiText(ByteSpan data);
// `data` as UTF-8 text when it is valid UTF-8 without control characters (tab/CR/LF allowed),
// ignoring NUL terminators at the end; nullopt otherwise. Empty data is not text.
std::optional<std::string> AsUtf8Text(ByteSpan data);
// `data` as UTF-16LE text when it has even length and every code unit is printable Latin-1
// (trailing NULs ignored); nullopt otherwise. A heuristic for fields that may be either.
std::optional<std::string> AsUtf16Text(ByteSpan data);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_EFI_TYPES_H_
