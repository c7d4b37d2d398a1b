#include "attest/image/boot_events.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/image/authenticode.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

absl::StatusOr<std::vector<EventDigest>> DigestsOf(ByteSpan data, absl::Span<const uint16_t> algs) {
  std::vector<EventDigest> out;
  for (size_t i = 0; i < algs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (algs[i] == algs[j]) {
        return absl::InvalidArgumentError(
            absl::StrCat("digest: bank ", HashAlgName(algs[i]), " requested twice"));
      }
    }
    ASSIGN_OR_RETURN(Bytes d, Hash(algs[i], data));
    out.push_back(EventDigest{algs[i], std::move(d)});
  }
  return out;
}

absl::StatusOr<PredictedEvent> EfiApplicationEvent(absl::string_view name, ByteSpan pe_file,
                                                   absl::Span<const uint16_t> algs) {
  PredictedEvent e{4, kEvEfiBootServicesApplication, std::string(name), {}};
  ASSIGN_OR_RETURN(e.digests, AuthenticodeDigests(pe_file, algs));
  return e;
}

absl::StatusOr<PredictedEvent> GrubCommandEvent(absl::string_view command,
                                                absl::Span<const uint16_t> algs) {
  PredictedEvent e{8, kEvIpl, absl::StrCat(kGrubCommandPrefix, command), {}};
  ASSIGN_OR_RETURN(e.digests, DigestsOf(AsSpan(command), algs));
  return e;
}

absl::StatusOr<PredictedEvent> GrubKernelCmdlineEvent(absl::string_view cmdline,
                                                      absl::Span<const uint16_t> algs) {
  PredictedEvent e{8, kEvIpl, absl::StrCat(kGrubKernelCmdlinePrefix, cmdline), {}};
  ASSIGN_OR_RETURN(e.digests, DigestsOf(AsSpan(cmdline), algs));
  return e;
}

absl::StatusOr<PredictedEvent> GrubFileEvent(absl::string_view path, ByteSpan contents,
                                             absl::Span<const uint16_t> algs) {
  PredictedEvent e{9, kEvIpl, std::string(path), {}};
  ASSIGN_OR_RETURN(e.digests, DigestsOf(contents, algs));
  return e;
}

absl::StatusOr<PredictedEvent> LinuxLoadOptionsEvent(absl::string_view cmdline,
                                                     absl::Span<const uint16_t> algs) {
  ASSIGN_OR_RETURN(Bytes utf16, Utf8ToUtf16Le(cmdline));
  utf16.push_back(0);
  utf16.push_back(0);
  PredictedEvent e{9, kEvEventTag, kLinuxLoadOptionsTag, {}};
  ASSIGN_OR_RETURN(e.digests, DigestsOf(utf16, algs));
  return e;
}

absl::StatusOr<PredictedEvent> LinuxInitrdEvent(ByteSpan initrd, absl::Span<const uint16_t> algs) {
  PredictedEvent e{9, kEvEventTag, kLinuxInitrdTag, {}};
  ASSIGN_OR_RETURN(e.digests, DigestsOf(initrd, algs));
  return e;
}

absl::StatusOr<Bytes> Utf8ToUtf16Le(absl::string_view utf8) {
  Bytes out;
  out.reserve(utf8.size() * 2);
  auto bad = [&](size_t at) {
    return absl::InvalidArgumentError(absl::StrCat("invalid UTF-8 at byte ", at));
  };
  auto put = [&](uint32_t unit) {
    out.push_back(static_cast<uint8_t>(unit));
    out.push_back(static_cast<uint8_t>(unit >> 8));
  };
  size_t i = 0;
  while (i < utf8.size()) {
    const size_t start = i;
    const uint8_t c = static_cast<uint8_t>(utf8[i++]);
    uint32_t cp = 0;
    int extra = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F, extra = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F, extra = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07, extra = 3, min = 0x10000;
    } else {
      return bad(start);
    }
    for (int k = 0; k < extra; ++k) {
      if (i >= utf8.size()) return bad(start);
      const uint8_t cc = static_cast<uint8_t>(utf8[i++]);
      if ((cc & 0xC0) != 0x80) return bad(start);
      cp = cp << 6 | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return bad(start);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

std::string GrubLoaderCmdline(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    const bool space = args[i].find(' ') != std::string::npos;
    if (space) out.push_back('"');
    const std::string& a = args[i];
    for (size_t k = 0; k < a.size(); ++k) {
      const char c = a[k];
      if (c == '\\' && k + 3 < a.size() && a[k + 1] == 'x' && absl::ascii_isxdigit(a[k + 2]) &&
          absl::ascii_isxdigit(a[k + 3])) {
        out.append(a, k, 4);  // a \xHH escape passes through unchanged
        k += 3;
        continue;
      }
      if (c == '\\' || c == '\'' || c == '"') out.push_back('\\');
      out.push_back(c);
    }
    if (space) out.push_back('"');
  }
  return out;
}

}  // namespace bootgate::attest
