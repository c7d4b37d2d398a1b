#include "policy/events.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/efi_types.h"
#include "attest/eventlog/event_render.h"
#include "attest/eventlog/event_types.h"

namespace bootgate::policy {

using attest::Bytes;
using attest::ByteSpan;
using attest::Event;

namespace {

constexpr char kGrubCmdPrefix[] = "grub_cmd: ";
constexpr char kKernelCmdlinePrefix[] = "kernel_cmdline: ";

// True when the event's digest in every bank of `banks` equals H(data) (and at least one bank was
// compared).
bool DigestsCover(const Event& e, ByteSpan data, const std::vector<uint16_t>& banks) {
  size_t compared = 0;
  for (uint16_t alg : banks) {
    const Bytes* d = EventDigest(e, alg);
    if (d == nullptr) return false;
    absl::StatusOr<Bytes> h = attest::Hash(alg, data);
    if (!h.ok()) continue;  // a bank OpenSSL cannot hash: cannot vouch either way
    if (*h != *d) return false;
    ++compared;
  }
  return compared > 0;
}

std::string StripTrailingNuls(ByteSpan data) {
  size_t n = data.size();
  while (n > 0 && data[n - 1] == 0) --n;
  return std::string(reinterpret_cast<const char*>(data.data()), n);
}

}  // namespace

const Bytes* EventDigest(const Event& event, uint16_t bank) {
  for (const attest::EventDigest& d : event.digests) {
    if (d.alg == bank) return &d.digest;
  }
  return nullptr;
}

BankDigests EventDigests(const Event& event, const std::vector<uint16_t>& banks) {
  BankDigests out;
  for (uint16_t alg : banks) {
    if (const Bytes* d = EventDigest(event, alg)) out[alg] = *d;
  }
  return out;
}

std::optional<uint16_t> FirstDifferingBank(const BankDigests& expected, const Event& event,
                                           const std::vector<uint16_t>& banks) {
  for (uint16_t alg : banks) {
    auto it = expected.find(alg);
    const Bytes* d = EventDigest(event, alg);
    if (it == expected.end() || d == nullptr || it->second != *d) return alg;
  }
  return std::nullopt;
}

BankDigests HashPerBank(ByteSpan data, const std::vector<uint16_t>& banks) {
  BankDigests out;
  for (uint16_t alg : banks) {
    absl::StatusOr<Bytes> h = attest::Hash(alg, data);
    if (h.ok()) out[alg] = *std::move(h);
  }
  return out;
}

Bytes Utf16LeWithNul(const std::string& text) {
  // UTF-8 -> UTF-16LE (BMP and surrogate pairs), then a NUL code unit.
  Bytes out;
  auto put = [&out](uint32_t u) {
    out.push_back(static_cast<uint8_t>(u & 0xFF));
    out.push_back(static_cast<uint8_t>(u >> 8));
  };
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    uint32_t cp = c;
    size_t n = 1;
    if (c >= 0xF0 && i + 3 < text.size()) {
      cp = ((c & 0x07u) << 18) | ((text[i + 1] & 0x3Fu) << 12) | ((text[i + 2] & 0x3Fu) << 6) |
           (text[i + 3] & 0x3Fu);
      n = 4;
    } else if (c >= 0xE0 && i + 2 < text.size()) {
      cp = ((c & 0x0Fu) << 12) | ((text[i + 1] & 0x3Fu) << 6) | (text[i + 2] & 0x3Fu);
      n = 3;
    } else if (c >= 0xC0 && i + 1 < text.size()) {
      cp = ((c & 0x1Fu) << 6) | (text[i + 1] & 0x3Fu);
      n = 2;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
    i += n;
  }
  put(0);
  return out;
}

namespace {

// A DER SEQUENCE with a two-byte length spanning exactly `data`: how every X.509 certificate in a
// signature database is encoded. Cheap, unlike parsing the certificate.
bool LooksLikeDerCertificate(const Bytes& data) {
  return data.size() >= 4 && data[0] == 0x30 && data[1] == 0x82 &&
         ((static_cast<size_t>(data[2]) << 8) | data[3]) + 4 == data.size();
}

}  // namespace

std::vector<SignatureEntry> SignatureEntriesOf(const attest::UefiVariableEvent& v, bool describe) {
  std::vector<SignatureEntry> out;
  const uint16_t sha256 = static_cast<uint16_t>(attest::HashAlg::kSha256);
  auto add_data = [&](const std::string& type, const Bytes& data, const std::string& owner) {
    SignatureEntry e;
    e.type = type;
    if (type == "sha256" && data.size() == 32) {
      e.sha256 = data;
    } else {
      e.sha256 = attest::Hash(sha256, data).value_or(Bytes(32, 0));
    }
    if (describe && type == "x509") {
      absl::StatusOr<attest::X509Summary> s = attest::SummarizeX509(data);
      if (s.ok()) e.description = s->subject;
    }
    if (!owner.empty()) {
      e.description = e.description.empty() ? absl::StrCat("owner ", owner)
                                            : absl::StrCat(e.description, " (owner ", owner, ")");
    }
    out.push_back(std::move(e));
  };
  auto owner_name = [](const attest::EfiGuid& g) {
    const std::string n = attest::GuidName(g);
    return n.empty() ? g.ToString() : n;
  };
  if (v.signature_lists) {
    for (const attest::EfiSignatureList& list : *v.signature_lists) {
      std::string type = list.type.ToString();
      if (list.type == attest::kEfiCertX509Guid) type = "x509";
      if (list.type == attest::kEfiCertSha256Guid) type = "sha256";
      for (const attest::EfiSignatureData& s : list.signatures) {
        add_data(type, s.data, owner_name(s.owner));
      }
    }
  }
  if (v.signature_data) {
    const Bytes& data = v.signature_data->data;
    const std::string type = LooksLikeDerCertificate(data) ? "x509"
                             : data.size() == 32           ? "sha256"
                                                           : "data";
    add_data(type, data, owner_name(v.signature_data->owner));
  }
  if (v.certificate) add_data("x509", *v.certificate, "");
  return out;
}

bool IsDescribedByImageFields(const ClassifiedEvent& c) {
  switch (c.kind) {
    case EventKind::kOther:
      return false;
    case EventKind::kSeparator:
      return c.event->pcr <= 7;
    case EventKind::kAction:
      return (c.event->pcr == 4 && c.text == kActionCallingBootOption) ||
             (c.event->pcr == 5 && (c.text == kActionExitBootServicesInvocation ||
                                    c.text == kActionExitBootServicesReturned));
    case EventKind::kVariable: {
      const std::string& n = c.text;
      const bool global = c.variable->variable.vendor == attest::kEfiGlobalVariableGuid;
      const bool secdb = c.variable->variable.vendor == attest::kEfiImageSecurityDatabaseGuid;
      return (global && (n == "SecureBoot" || n == "PK" || n == "KEK")) ||
             (secdb && (n == "db" || n == "dbx"));
    }
    case EventKind::kAuthority:
      return c.variable->variable.name == "SbatLevel" ||
             !SignatureEntriesOf(*c.variable, /*describe=*/false).empty();
    default:
      return true;
  }
}

std::string ClassifiedEvent::description() const {
  return event == nullptr ? std::string() : attest::DescribeEvent(*event);
}

std::vector<ClassifiedEvent> ClassifyEvents(const std::vector<Event>& events,
                                            const std::vector<uint16_t>& banks) {
  std::vector<ClassifiedEvent> out;
  out.reserve(events.size());
  // PCR 11: the section whose name was measured last, waiting for its contents.
  std::optional<std::string> pending_section;
  for (const Event& e : events) {
    ClassifiedEvent c;
    c.event = &e;
    const ByteSpan data(e.data);
    const bool covers = DigestsCover(e, data, banks);
    switch (e.type) {
      case attest::kEvSeparator: {
        if (!covers || e.data.size() != 4) {
          c.kind = EventKind::kDataMismatch;
          break;
        }
        c.kind = EventKind::kSeparator;
        c.separator_value = static_cast<uint32_t>(data[0]) | (static_cast<uint32_t>(data[1]) << 8) |
                            (static_cast<uint32_t>(data[2]) << 16) |
                            (static_cast<uint32_t>(data[3]) << 24);
        break;
      }
      case attest::kEvEfiAction:
      case attest::kEvAction: {
        if (!covers) {
          c.kind = e.pcr == 4 ? EventKind::kOther : EventKind::kDataMismatch;
          break;
        }
        c.kind = EventKind::kAction;
        c.text = StripTrailingNuls(data);
        break;
      }
      case attest::kEvEfiBootServicesApplication:
        c.kind = e.pcr == 4 ? EventKind::kEfiApplication : EventKind::kOther;
        break;
      case attest::kEvEfiVariableDriverConfig:
      case attest::kEvEfiVariableAuthority: {
        if (e.pcr != 7) break;
        bool ok = covers;
        absl::StatusOr<attest::UefiVariableEvent> v = attest::DecodeUefiVariableEvent(e.type, data);
        if (!ok && v.ok() && v->variable.padding_bytes > 0 &&
            v->variable.padding_bytes < e.data.size()) {
          // shim's variable-authority padding (attest/eventlog/quirks.h) is not (or only partly:
          // shim hashes sizeof() of its struct) measured; the variable itself always is.
          for (size_t cut = 1; !ok && cut <= v->variable.padding_bytes; ++cut) {
            ok = DigestsCover(e, data.subspan(0, data.size() - cut), banks);
          }
        }
        if (!ok) {
          c.kind = EventKind::kDataMismatch;
          break;
        }
        if (!v.ok()) break;  // measured as logged but not a UEFI_VARIABLE_DATA: kOther
        c.kind = e.type == attest::kEvEfiVariableAuthority ? EventKind::kAuthority
                                                           : EventKind::kVariable;
        c.text = v->variable.name;
        c.variable = *std::move(v);
        break;
      }
      case attest::kEvIpl: {
        if (e.pcr == 8) {
          const std::string s = StripTrailingNuls(data);
          for (const auto& [prefix, kind] :
               {std::pair<const char*, EventKind>{kGrubCmdPrefix, EventKind::kGrubCommand},
                std::pair<const char*, EventKind>{kKernelCmdlinePrefix,
                                                  EventKind::kKernelCmdline}}) {
            if (!absl::StartsWith(s, prefix)) continue;
            const std::string rest = s.substr(std::char_traits<char>::length(prefix));
            c.kind = DigestsCover(e, attest::AsSpan(rest), banks) ? kind : EventKind::kDataMismatch;
            c.text = rest;
          }
        } else if (e.pcr == 9) {
          if (std::optional<std::string> t = attest::AsUtf8Text(data)) {
            c.kind = EventKind::kGrubFile;
            c.text = *t;
          }
        } else if (e.pcr == 11) {
          std::optional<std::string> name = attest::AsUtf16Text(data);
          if (!name) name = attest::AsUtf8Text(data);
          if (!name) break;
          std::string with_nul = *name;
          with_nul.push_back('\0');
          if (DigestsCover(e, attest::AsSpan(with_nul), banks)) {
            c.kind = EventKind::kUkiSectionName;
            c.text = *name;
            pending_section = *name;
            out.push_back(std::move(c));
            continue;
          }
          if (pending_section && *pending_section == *name) {
            c.kind = EventKind::kUkiSectionData;
            c.text = *name;
          }
        } else if (e.pcr == 14) {
          if (std::optional<std::string> t = attest::AsUtf8Text(data)) {
            c.kind = EventKind::kMok;
            c.text = *t;
          }
        }
        break;
      }
      case attest::kEvEventTag: {
        if (e.pcr != 9) break;
        absl::StatusOr<attest::TaggedEvent> t = attest::DecodeTaggedEvent(data);
        if (!t.ok()) break;
        if (t->id == attest::kLinuxLoadOptionsTagId) c.kind = EventKind::kLinuxLoadOptions;
        if (t->id == attest::kLinuxInitrdTagId) c.kind = EventKind::kLinuxInitrd;
        break;
      }
      case attest::kEvEfiGptEvent:
      case attest::kEvEfiGptEvent2:
        c.kind = covers ? EventKind::kGpt : EventKind::kDataMismatch;
        break;
      default:
        break;
    }
    if (e.pcr == 11) pending_section.reset();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace bootgate::policy
