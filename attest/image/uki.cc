#include "attest/image/uki.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {
namespace {

constexpr char kSdMagicPrefix[] = "#### LoaderInfo: systemd-stub ";

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("UKI: ", message));
}

// systemd-stub's match: the first strlen(name) bytes of the 8-byte Name field equal `name`.
// PeSection::raw_name is the 8-byte field up to its first NUL, so a prefix test is that
// comparison.
bool StubNameMatches(const PeSection& s, absl::string_view name) {
  return absl::StartsWith(s.raw_name, name);
}

// The in-memory contents of a section: VirtualSize bytes, raw data then zero fill.
absl::StatusOr<Bytes> SectionMemory(const PeSection& s, ByteSpan file) {
  if (s.virtual_size > kMaxUkiSectionBytes) {
    return Invalid(absl::StrCat("section ", s.raw_name, " VirtualSize ", s.virtual_size,
                                " exceeds cap ", kMaxUkiSectionBytes));
  }
  if (s.virtual_size > s.size_of_raw_data &&
      s.virtual_size - s.size_of_raw_data > kMaxUkiZeroFillBytes) {
    return Invalid(absl::StrCat("section ", s.raw_name, " VirtualSize ", s.virtual_size,
                                " exceeds its raw data (", s.size_of_raw_data,
                                " bytes) by more than ", kMaxUkiZeroFillBytes));
  }
  Bytes out(s.virtual_size, 0);
  const uint32_t n = std::min(s.virtual_size, s.size_of_raw_data);
  if (n > 0) {
    // ParsePeImage checked that the raw data lies inside the file.
    std::memcpy(out.data(), file.data() + s.pointer_to_raw_data, n);
  }
  return out;
}

absl::StatusOr<std::string> StubVersion(const PeImage& pe, ByteSpan file) {
  std::vector<const PeSection*> magic = FindPeSections(pe, ".sdmagic");
  if (magic.empty()) return std::string();
  if (magic.size() > 1) return Invalid("more than one .sdmagic section");
  ASSIGN_OR_RETURN(Bytes text, SectionMemory(*magic[0], file));
  absl::string_view v(reinterpret_cast<const char*>(text.data()), text.size());
  v = v.substr(0, v.find('\0'));
  if (!absl::ConsumePrefix(&v, kSdMagicPrefix) || !absl::ConsumeSuffix(&v, " ####")) {
    return Invalid(absl::StrCat(".sdmagic is not a systemd-stub LoaderInfo string"));
  }
  return std::string(v);
}

absl::StatusOr<int> MajorVersion(absl::string_view version) {
  size_t digits = 0;
  while (digits < version.size() && absl::ascii_isdigit(version[digits])) ++digits;
  int major = 0;
  if (digits == 0 || digits > 6 || !absl::SimpleAtoi(version.substr(0, digits), &major)) {
    return Invalid(absl::StrCat("cannot read the systemd-stub version from \"", version, "\""));
  }
  return major;
}

absl::Status CheckAlgs(absl::Span<const uint16_t> algs) {
  if (algs.empty()) return absl::InvalidArgumentError("PCR 11 prediction: no banks requested");
  for (size_t i = 0; i < algs.size(); ++i) {
    if (EvpMdForAlg(algs[i]) == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat("PCR 11 prediction: cannot compute ", HashAlgName(algs[i])));
    }
    for (size_t j = 0; j < i; ++j) {
      if (algs[i] == algs[j]) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR 11 prediction: bank ", HashAlgName(algs[i]), " requested twice"));
      }
    }
  }
  return absl::OkStatus();
}

// Measures (name, contents) pairs already in measurement order.
absl::StatusOr<Pcr11Prediction> Predict(
    const std::vector<std::pair<std::string, ByteSpan>>& ordered, absl::Span<const uint16_t> algs) {
  RETURN_IF_ERROR(CheckAlgs(algs));
  Pcr11Prediction p;
  for (uint16_t alg : algs) {
    p.pcr11.push_back(EventDigest{alg, Bytes(*KnownDigestSize(alg), 0)});
  }
  auto extend = [&](size_t bank, const Bytes& digest) -> absl::Status {
    Bytes buf = p.pcr11[bank].digest;
    buf.insert(buf.end(), digest.begin(), digest.end());
    ASSIGN_OR_RETURN(p.pcr11[bank].digest, Hash(algs[bank], buf));
    return absl::OkStatus();
  };
  for (const auto& [name, contents] : ordered) {
    UkiSectionMeasurement m;
    m.name = name;
    std::string name_z = name;
    name_z.push_back('\0');
    for (size_t b = 0; b < algs.size(); ++b) {
      ASSIGN_OR_RETURN(Bytes nd, Hash(algs[b], AsSpan(name_z)));
      ASSIGN_OR_RETURN(Bytes cd, Hash(algs[b], contents));
      RETURN_IF_ERROR(extend(b, nd));
      RETURN_IF_ERROR(extend(b, cd));
      m.name_digests.push_back(EventDigest{algs[b], std::move(nd)});
      m.content_digests.push_back(EventDigest{algs[b], std::move(cd)});
    }
    p.sections.push_back(std::move(m));
  }
  return p;
}

}  // namespace

std::vector<std::string> MeasuredUkiSections(StubSectionTable table) {
  switch (table) {
    case StubSectionTable::kSystemd252:
      return {".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrpkey"};
    case StubSectionTable::kSystemd253:
      return {".linux", ".osrel", ".cmdline", ".initrd", ".splash",
              ".dtb",   ".uname", ".sbat",    ".pcrpkey"};
  }
  return {};
}

absl::StatusOr<StubSectionTable> StubSectionTableForVersion(int systemd_version) {
  if (systemd_version == 252) return StubSectionTable::kSystemd252;
  if (systemd_version >= 253 && systemd_version <= 255) return StubSectionTable::kSystemd253;
  return absl::UnimplementedError(
      absl::StrCat("UKI: systemd-stub ", systemd_version,
                   ": PCR 11 section layout not supported (supported: systemd 252-255)"));
}

const Bytes* UkiContents::Section(absl::string_view name) const {
  for (const auto& [n, contents] : sections) {
    if (n == name) return &contents;
  }
  return nullptr;
}

absl::StatusOr<UkiContents> ParseUki(ByteSpan file, std::optional<StubSectionTable> table) {
  UkiContents uki;
  ASSIGN_OR_RETURN(uki.pe, ParsePeImage(file));
  ASSIGN_OR_RETURN(uki.stub_version, StubVersion(uki.pe, file));
  if (table.has_value()) {
    uki.table = *table;
  } else if (uki.stub_version.empty()) {
    return Invalid("no .sdmagic section: cannot tell the systemd-stub version (pass the table)");
  } else {
    ASSIGN_OR_RETURN(int major, MajorVersion(uki.stub_version));
    ASSIGN_OR_RETURN(uki.table, StubSectionTableForVersion(major));
  }
  // Every measured name, located the way systemd-stub does.
  std::vector<std::string> names = MeasuredUkiSections(uki.table);
  for (const std::string& name : names) {
    std::vector<const PeSection*> matches;
    for (const PeSection& s : uki.pe.sections) {
      if (StubNameMatches(s, name)) matches.push_back(&s);
    }
    if (matches.size() > 1) {
      std::string all;
      for (const PeSection* s : matches) {
        absl::StrAppend(&all, all.empty() ? "" : ", ", s->raw_name);
      }
      return Invalid(absl::StrCat("section ", name, " is ambiguous: ", matches.size(),
                                  " section headers match it (", all, ")"));
    }
    if (matches.empty() || matches[0]->virtual_size == 0) continue;
    ASSIGN_OR_RETURN(Bytes contents, SectionMemory(*matches[0], file));
    uki.sections.emplace_back(name, std::move(contents));
  }
  if (uki.Section(".linux") == nullptr) return Invalid("no .linux section");
  return uki;
}

absl::StatusOr<Pcr11Prediction> PredictUkiPcr11(const UkiContents& uki,
                                                absl::Span<const uint16_t> algs) {
  std::vector<std::pair<std::string, ByteSpan>> ordered;
  for (const auto& [name, contents] : uki.sections) ordered.emplace_back(name, contents);
  return Predict(ordered, algs);
}

absl::StatusOr<Pcr11Prediction> PredictPcr11FromParts(
    const std::vector<std::pair<std::string, ByteSpan>>& parts, StubSectionTable table,
    absl::Span<const uint16_t> algs) {
  std::vector<std::string> names = MeasuredUkiSections(table);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (std::find(names.begin(), names.end(), parts[i].first) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat("PCR 11 prediction: section ", parts[i].first,
                                                     " is not measured by this systemd-stub"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (parts[i].first == parts[j].first) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR 11 prediction: section ", parts[i].first, " given twice"));
      }
    }
  }
  std::vector<std::pair<std::string, ByteSpan>> ordered;
  for (const std::string& name : names) {
    for (const auto& part : parts) {
      if (part.first == name) ordered.push_back(part);
    }
  }
  return Predict(ordered, algs);
}

absl::StatusOr<std::vector<EventDigest>> ExtendPcr11Phases(const std::vector<EventDigest>& pcr11,
                                                           const std::vector<std::string>& phases) {
  std::vector<EventDigest> out = pcr11;
  for (EventDigest& bank : out) {
    for (const std::string& word : phases) {
      ASSIGN_OR_RETURN(Bytes d, Hash(bank.alg, AsSpan(word)));
      Bytes buf = bank.digest;
      buf.insert(buf.end(), d.begin(), d.end());
      ASSIGN_OR_RETURN(bank.digest, Hash(bank.alg, buf));
    }
  }
  return out;
}

}  // namespace bootgate::attest
