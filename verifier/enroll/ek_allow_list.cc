#include "verifier/enroll/ek_allow_list.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "attest/util/status_macros.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {

absl::StatusOr<std::unique_ptr<EkAllowList>> EkAllowList::Parse(absl::string_view text,
                                                                absl::string_view what) {
  auto list = std::make_unique<EkAllowList>();
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    std::string fp = absl::AsciiStrToLower(line);
    // Accept "aa:bb:..." as openssl prints fingerprints.
    fp.erase(std::remove(fp.begin(), fp.end(), ':'), fp.end());
    bool hex = fp.size() == 64;
    for (char c : fp) hex = hex && absl::ascii_isxdigit(static_cast<unsigned char>(c));
    if (!hex) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ":", line_no, ": '", line, "' is not a SHA-256 fingerprint (64 hex digits)"));
    }
    list->entries_.insert(std::move(fp));
  }
  return list;
}

absl::StatusOr<std::unique_ptr<EkAllowList>> EkAllowList::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 16 << 20));
  return Parse(text, path);
}

}  // namespace bootgate::verifier
