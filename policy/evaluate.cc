#include "policy/evaluate.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/efi_types.h"
#include "attest/eventlog/event_types.h"
#include "attest/util/status_macros.h"
#include "policy/events.h"
#include "policy/findings.h"
#include "policy/loader.h"

namespace bootgate::policy {

using attest::Bytes;
using attest::Event;

namespace {

constexpr size_t kNoIndex = std::numeric_limits<size_t>::max();

std::string Hex(const Bytes& b) { return attest::HexEncode(b); }

std::string Quote(const std::string& s) {
  return absl::StrCat("\"", attest::EscapeForDisplay(s), "\"");
}

using EventsByPcr = std::map<uint32_t, std::vector<const ClassifiedEvent*>>;

struct Context {
  const Policy* policy = nullptr;
  std::vector<uint16_t> banks;
  std::set<uint32_t> enforced;
  std::set<std::string> warn_only;
  EventsByPcr by_pcr;  // enforced PCRs only
  absl::Time now;

  const std::vector<const ClassifiedEvent*>& On(uint32_t pcr) const {
    static const std::vector<const ClassifiedEvent*> kEmpty;
    auto it = by_pcr.find(pcr);
    return it == by_pcr.end() ? kEmpty : it->second;
  }
  bool Enforced(uint32_t pcr) const { return enforced.count(pcr) > 0; }
};

// Findings of one candidate (or of the global checks), with the earliest difference.
class Recorder {
 public:
  explicit Recorder(const Context& ctx) : ctx_(ctx) {}

  void Add(const char* code, std::string detail, EventDifference diff = {}) {
    if (ctx_.warn_only.count(code)) {
      warnings_.push_back({code, std::move(detail)});
      return;
    }
    findings_.push_back({code, std::move(detail)});
    if (diff.pcr == 0 && !diff.event_index && diff.expected.empty() && diff.actual.empty() &&
        diff.expected_description.empty()) {
      return;  // not an event-level difference
    }
    diff.code = code;
    const size_t key = diff.event_index.value_or(kNoIndex);
    if (!first_ || key < first_key_) {
      first_ = std::move(diff);
      first_key_ = key;
    }
  }

  bool ok() const { return findings_.empty(); }
  std::vector<Finding>& findings() { return findings_; }
  std::vector<Finding>& warnings() { return warnings_; }
  std::optional<EventDifference>& first() { return first_; }

 private:
  const Context& ctx_;
  std::vector<Finding> findings_;
  std::vector<Finding> warnings_;
  std::optional<EventDifference> first_;
  size_t first_key_ = kNoIndex;
};

// Fills `diff` and returns true when the event's digests differ from `expected` in a bank.
bool Differs(const BankDigests& expected, const Event& e, const Context& ctx,
             EventDifference* diff) {
  const std::optional<uint16_t> bank = FirstDifferingBank(expected, e, ctx.banks);
  if (!bank) return false;
  diff->pcr = e.pcr;
  diff->event_index = e.index;
  diff->bank = attest::HashAlgName(*bank);
  auto it = expected.find(*bank);
  diff->expected = it == expected.end() ? "" : Hex(it->second);
  const Bytes* d = EventDigest(e, *bank);
  diff->actual = d == nullptr ? "" : Hex(*d);
  return true;
}

std::string FirstBankHex(const BankDigests& d, const Context& ctx, std::string* bank) {
  for (uint16_t alg : ctx.banks) {
    auto it = d.find(alg);
    if (it != d.end()) {
      *bank = attest::HashAlgName(alg);
      return Hex(it->second);
    }
  }
  return "";
}

std::string ActualHex(const Event& e, const Context& ctx, std::string* bank) {
  for (uint16_t alg : ctx.banks) {
    if (const Bytes* d = EventDigest(e, alg)) {
      *bank = attest::HashAlgName(alg);
      return Hex(*d);
    }
  }
  return "";
}

struct ExpectedItem {
  BankDigests digests;
  std::string description;
};

// Compares `actual` with `expected` in order; records the first difference under `code`.
void CompareSequence(uint32_t pcr, const std::vector<const ClassifiedEvent*>& actual,
                     const std::vector<ExpectedItem>& expected, const char* code,
                     const std::string& what, const Context& ctx, Recorder* r) {
  const size_t n = std::max(actual.size(), expected.size());
  for (size_t i = 0; i < n; ++i) {
    EventDifference diff;
    diff.pcr = pcr;
    if (i >= actual.size()) {
      diff.expected = FirstBankHex(expected[i].digests, ctx, &diff.bank);
      diff.expected_description = expected[i].description;
      r->Add(code,
             absl::StrCat("PCR ", pcr, ": ", what, " ", i + 1, " of ", expected.size(), " (",
                          expected[i].description, ") was not measured"),
             diff);
      return;
    }
    const ClassifiedEvent& a = *actual[i];
    if (i >= expected.size()) {
      diff.event_index = a.event->index;
      diff.actual = ActualHex(*a.event, ctx, &diff.bank);
      diff.actual_description = a.description();
      const char* c = a.kind == EventKind::kAction ? codes::kBootActionUnexpected : code;
      r->Add(c,
             absl::StrCat("PCR ", pcr, " event ", a.event->index, ": unexpected ", what, " (",
                          expected.size(), " expected): ", a.description(), " ", diff.bank, " ",
                          diff.actual),
             diff);
      return;
    }
    if (Differs(expected[i].digests, *a.event, ctx, &diff)) {
      diff.expected_description = expected[i].description;
      diff.actual_description = a.description();
      r->Add(code,
             absl::StrCat("PCR ", pcr, " event ", a.event->index, ": ", what, " ", i + 1, " (",
                          expected[i].description, ") ", diff.bank, " expected ", diff.expected,
                          ", got ", diff.actual, " (", a.description(), ")"),
             diff);
      return;
    }
  }
}

// ---- golden image ----------------------------------------------------------------------------

void CheckBootChain(const GoldenImage& img, const Context& ctx, Recorder* r) {
  std::vector<const ClassifiedEvent*> apps;
  for (const ClassifiedEvent* c : ctx.On(4)) {
    if (c->kind == EventKind::kEfiApplication) apps.push_back(c);
  }
  const auto& chain = img.boot_chain;
  auto app_name = [&](size_t i) {
    return absl::StrCat("boot chain [", i, "]", chain[i].name.empty() ? "" : " ", chain[i].name);
  };
  size_t i = 0;
  EventDifference diff;
  for (; i < std::min(apps.size(), chain.size()); ++i) {
    if (Differs(chain[i].digests, *apps[i]->event, ctx, &diff)) break;
  }
  if (i == apps.size() && i == chain.size()) return;
  if (i < apps.size()) {
    // An inserted application: the rest matches the chain shifted by one.
    bool inserted = apps.size() == chain.size() + 1;
    for (size_t k = i; inserted && k < chain.size(); ++k) {
      EventDifference unused;
      if (Differs(chain[k].digests, *apps[k + 1]->event, ctx, &unused)) inserted = false;
    }
    if (inserted || i == chain.size()) {
      const ClassifiedEvent& a = *apps[i];
      EventDifference d;
      d.pcr = 4;
      d.event_index = a.event->index;
      d.actual = ActualHex(*a.event, ctx, &d.bank);
      d.actual_description = a.description();
      r->Add(codes::kExtraEfiApplication,
             absl::StrCat("PCR 4 event ", a.event->index, ": EFI application ", i + 1,
                          " is not in the boot chain of ", chain.size(), " (", d.bank, " ",
                          d.actual, ", ", a.description(), ")"),
             d);
      return;
    }
    if (i < chain.size()) {
      Differs(chain[i].digests, *apps[i]->event, ctx, &diff);
      diff.expected_description = app_name(i);
      diff.actual_description = apps[i]->description();
      r->Add(codes::kBootChainMismatch,
             absl::StrCat("PCR 4 event ", apps[i]->event->index, ": ", app_name(i), " ", diff.bank,
                          " expected ", diff.expected, ", got ", diff.actual, " (",
                          apps[i]->description(), ")"),
             diff);
      return;
    }
  }
  // Fewer applications than the chain.
  EventDifference d;
  d.pcr = 4;
  d.expected = FirstBankHex(chain[i].digests, ctx, &d.bank);
  d.expected_description = app_name(i);
  r->Add(codes::kBootChainMismatch,
         absl::StrCat("PCR 4: ", app_name(i), " was not measured (", apps.size(), " of ",
                      chain.size(), " boot chain applications measured)"),
         d);
}

// EFI-stub measurements count as described only when the image says something about them: an
// image without initrd / load-options values expects no such event (learn records them when the
// reference boot had them).
bool DescribedBy(const GoldenImage& img, const ClassifiedEvent& c) {
  if (c.kind == EventKind::kLinuxInitrd) return img.linux_initrd.has_value();
  if (c.kind == EventKind::kLinuxLoadOptions) {
    return img.linux_load_options.has_value() || img.kernel_cmdline.has_value();
  }
  return IsDescribedByImageFields(c);
}

void CheckOtherEvents(const GoldenImage& img, uint32_t pcr, const Context& ctx, Recorder* r) {
  std::vector<const ClassifiedEvent*> actual;
  for (const ClassifiedEvent* c : ctx.On(pcr)) {
    if (!DescribedBy(img, *c)) actual.push_back(c);
  }
  std::vector<ExpectedItem> expected;
  for (const ExpectedEvent& e : img.other_events) {
    if (e.pcr != pcr) continue;
    expected.push_back({e.digests, e.description.empty() ? e.type : e.description});
  }
  CompareSequence(pcr, actual, expected, codes::kUnexpectedEvent, "other event", ctx, r);
}

std::string EntryText(const SignatureEntry& e) {
  return absl::StrCat(e.type, " ", Hex(e.sha256),
                      e.description.empty() ? "" : absl::StrCat(" (", e.description, ")"));
}

bool Contains(const std::vector<SignatureEntry>& list, const SignatureEntry& e) {
  return std::any_of(list.begin(), list.end(), [&](const SignatureEntry& x) {
    return x.sha256 == e.sha256 && x.type == e.type;
  });
}

void CheckSecureBoot(const GoldenImage& img, const Context& ctx, Recorder* r) {
  const SecureBootPolicy& sb = img.secure_boot;
  const ClassifiedEvent* secure_boot = nullptr;
  std::map<std::string, const ClassifiedEvent*> dbs;  // PK, KEK, db, dbx (last one measured)
  std::vector<const ClassifiedEvent*> authorities;
  const ClassifiedEvent* sbat = nullptr;
  for (const ClassifiedEvent* c : ctx.On(7)) {
    if (!IsDescribedByImageFields(*c)) continue;
    if (c->kind == EventKind::kVariable) {
      if (c->text == "SecureBoot") {
        secure_boot = c;
      } else {
        dbs[c->text] = c;
      }
    } else if (c->kind == EventKind::kAuthority) {
      if (c->variable->variable.name == "SbatLevel") {
        sbat = c;
      } else {
        authorities.push_back(c);
      }
    }
  }
  auto event_diff = [](const ClassifiedEvent* c, std::string expected, std::string actual) {
    EventDifference d;
    d.pcr = 7;
    if (c != nullptr) {
      d.event_index = c->event->index;
      d.actual_description = c->description();
    }
    d.expected = std::move(expected);
    d.actual = std::move(actual);
    return d;
  };

  const bool on = secure_boot != nullptr && secure_boot->variable->flag.value_or(0) == 1;
  if (sb.enabled && !on) {
    r->Add(codes::kSecureBootDisabled,
           secure_boot == nullptr
               ? std::string("PCR 7: the SecureBoot variable was not measured; the image "
                             "requires Secure Boot enabled")
               : absl::StrCat("PCR 7 event ", secure_boot->event->index, ": SecureBoot is ",
                              secure_boot->variable->flag.value_or(0),
                              "; the image requires Secure Boot enabled"),
           event_diff(secure_boot, "SecureBoot=1",
                      secure_boot == nullptr
                          ? ""
                          : absl::StrCat("SecureBoot=", secure_boot->variable->flag.value_or(0))));
  } else if (!sb.enabled && on) {
    r->Add(codes::kSecureBootUnexpected,
           absl::StrCat("PCR 7 event ", secure_boot->event->index,
                        ": SecureBoot is 1 but the image was recorded with Secure Boot disabled"),
           event_diff(secure_boot, "SecureBoot=0", "SecureBoot=1"));
  }

  const std::pair<const char*, const std::optional<std::vector<SignatureEntry>>*> allowed[] = {
      {"PK", &sb.pk}, {"KEK", &sb.kek}, {"db", &sb.db}};
  for (const auto& [name, list] : allowed) {
    if (!list->has_value()) continue;
    auto it = dbs.find(name);
    if (it == dbs.end()) {
      if ((*list)->empty()) continue;
      r->Add(codes::kSecureBootKeyNotAllowed,
             absl::StrCat("PCR 7: ", name, " was not measured; the image lists ", (*list)->size(),
                          " allowed entries"),
             event_diff(nullptr, name, ""));
      continue;
    }
    const std::vector<SignatureEntry> measured =
        SignatureEntriesOf(*it->second->variable, /*describe=*/false);
    if (measured.empty() && !(*list)->empty()) {
      r->Add(codes::kSecureBootKeyNotAllowed,
             absl::StrCat("PCR 7 event ", it->second->event->index, ": ", name,
                          " is empty; the image expects one of its ", (*list)->size(),
                          " allowed entries"),
             event_diff(it->second, name, "empty"));
      continue;
    }
    for (const SignatureEntry& e : measured) {
      if (Contains(**list, e)) continue;
      r->Add(codes::kSecureBootKeyNotAllowed,
             absl::StrCat("PCR 7 event ", it->second->event->index, ": ", name, " entry ",
                          EntryText(e), " is not allowed by the image"),
             event_diff(it->second, "", Hex(e.sha256)));
      break;
    }
  }

  if (!sb.dbx_required.empty()) {
    auto it = dbs.find("dbx");
    const std::vector<SignatureEntry> measured =
        it == dbs.end() ? std::vector<SignatureEntry>()
                        : SignatureEntriesOf(*it->second->variable, /*describe=*/false);
    std::vector<const SignatureEntry*> missing;
    for (const SignatureEntry& e : sb.dbx_required) {
      if (!Contains(measured, e)) missing.push_back(&e);
    }
    if (!missing.empty()) {
      r->Add(codes::kDbxEntryMissing,
             absl::StrCat(it == dbs.end()
                              ? std::string("PCR 7: dbx was not measured")
                              : absl::StrCat("PCR 7 event ", it->second->event->index, ": dbx"),
                          " lacks ", missing.size(), " of the ", sb.dbx_required.size(),
                          " required entries, first ", EntryText(*missing[0])),
             event_diff(it == dbs.end() ? nullptr : it->second, Hex(missing[0]->sha256), ""));
    }
  }

  if (sb.authorities.has_value()) {
    for (const ClassifiedEvent* c : authorities) {
      for (const SignatureEntry& e : SignatureEntriesOf(*c->variable, /*describe=*/false)) {
        if (Contains(*sb.authorities, e)) continue;
        r->Add(codes::kAuthorityNotAllowed,
               absl::StrCat("PCR 7 event ", c->event->index, ": ", c->variable->variable.name,
                            " authority ", EntryText(e),
                            " verified a boot image but is not allowed by the image"),
               event_diff(c, "", Hex(e.sha256)));
      }
    }
  }

  if (sb.sbat_level.has_value()) {
    if (sbat == nullptr) {
      r->Add(codes::kSbatLevelMismatch,
             absl::StrCat("PCR 7: SbatLevel was not measured; expected ", Quote(*sb.sbat_level)),
             event_diff(nullptr, *sb.sbat_level, ""));
    } else {
      const Bytes& raw = sbat->variable->variable.data;
      std::string text(raw.begin(), raw.end());
      while (!text.empty() && text.back() == '\0') text.pop_back();
      if (text != *sb.sbat_level) {
        r->Add(codes::kSbatLevelMismatch,
               absl::StrCat("PCR 7 event ", sbat->event->index, ": SbatLevel ", Quote(text),
                            ", expected ", Quote(*sb.sbat_level)),
               event_diff(sbat, *sb.sbat_level, text));
      }
    }
  }
}

void CheckGrub(const GoldenImage& img, const Context& ctx, Recorder* r) {
  if (ctx.Enforced(8)) {
    std::vector<const ClassifiedEvent*> commands;
    for (const ClassifiedEvent* c : ctx.On(8)) {
      if (c->kind == EventKind::kKernelCmdline && img.kernel_cmdline &&
          c->text != *img.kernel_cmdline) {
        EventDifference d;
        d.pcr = 8;
        d.event_index = c->event->index;
        d.expected = *img.kernel_cmdline;
        d.actual = c->text;
        d.expected_description = "kernelCmdline";
        d.actual_description = c->description();
        r->Add(codes::kCmdlineMismatch,
               absl::StrCat("PCR 8 event ", c->event->index, ": kernel command line ",
                            Quote(c->text), ", expected ", Quote(*img.kernel_cmdline)),
               d);
      }
      if (c->kind == EventKind::kGrubCommand) commands.push_back(c);
    }
    if (img.grub.commands) {
      const auto& expected = *img.grub.commands;
      const size_t n = std::max(expected.size(), commands.size());
      for (size_t i = 0; i < n; ++i) {
        const bool have_a = i < commands.size(), have_e = i < expected.size();
        if (have_a && have_e && commands[i]->text == expected[i]) continue;
        EventDifference d;
        d.pcr = 8;
        if (have_a) {
          d.event_index = commands[i]->event->index;
          d.actual = commands[i]->text;
          d.actual_description = commands[i]->description();
        }
        if (have_e) {
          d.expected = expected[i];
          d.expected_description = absl::StrCat("grub command ", i + 1);
        }
        std::string detail =
            !have_a ? absl::StrCat("PCR 8: grub command ", i + 1, " ", Quote(expected[i]),
                                   " was not executed")
            : !have_e
                ? absl::StrCat("PCR 8 event ", commands[i]->event->index,
                               ": unexpected grub command ", Quote(commands[i]->text))
                : absl::StrCat("PCR 8 event ", commands[i]->event->index, ": grub command ", i + 1,
                               " ", Quote(commands[i]->text), ", expected ", Quote(expected[i]));
        r->Add(codes::kGrubCommandMismatch, std::move(detail), d);
        break;
      }
    }
    CheckOtherEvents(img, 8, ctx, r);
  }
  if (ctx.Enforced(9)) {
    std::vector<bool> seen(img.grub.files.size(), false);
    for (const ClassifiedEvent* c : ctx.On(9)) {
      if (c->kind == EventKind::kGrubFile) {
        bool found = false;
        for (size_t i = 0; i < img.grub.files.size(); ++i) {
          EventDifference unused;
          if (!Differs(img.grub.files[i].digests, *c->event, ctx, &unused)) {
            seen[i] = true;  // every golden entry with this content (a file read twice)
            found = true;
          }
        }
        if (found) continue;
        EventDifference d;
        d.pcr = 9;
        d.event_index = c->event->index;
        d.actual = ActualHex(*c->event, ctx, &d.bank);
        d.actual_description = c->description();
        std::string expected_note = " (no golden file has this digest)";
        for (const MeasuredFile& f : img.grub.files) {
          if (f.path == c->text) {
            std::string bank;
            d.expected = FirstBankHex(f.digests, ctx, &bank);
            d.expected_description = f.path;
            expected_note = absl::StrCat(", expected ", d.expected);
          }
        }
        r->Add(codes::kFileMismatch,
               absl::StrCat("PCR 9 event ", c->event->index, ": file ", Quote(c->text), " ", d.bank,
                            " ", d.actual, expected_note),
               d);
      } else if (c->kind == EventKind::kLinuxLoadOptions) {
        std::optional<BankDigests> expected = img.linux_load_options;
        if (!expected && img.kernel_cmdline) {
          expected = HashPerBank(Utf16LeWithNul(*img.kernel_cmdline), ctx.banks);
        }
        EventDifference d;
        if (expected && Differs(*expected, *c->event, ctx, &d)) {
          d.expected_description = img.kernel_cmdline
                                       ? absl::StrCat("load options ", Quote(*img.kernel_cmdline))
                                       : "linuxLoadOptions";
          d.actual_description = c->description();
          r->Add(codes::kCmdlineMismatch,
                 absl::StrCat("PCR 9 event ", c->event->index,
                              ": Linux EFI stub load options (kernel command line) ", d.bank,
                              " expected ", d.expected, ", got ", d.actual),
                 d);
        }
      } else if (c->kind == EventKind::kLinuxInitrd) {
        EventDifference d;
        if (img.linux_initrd && Differs(*img.linux_initrd, *c->event, ctx, &d)) {
          d.expected_description = "linuxInitrd";
          d.actual_description = c->description();
          r->Add(codes::kInitrdMismatch,
                 absl::StrCat("PCR 9 event ", c->event->index, ": Linux EFI stub initrd ", d.bank,
                              " expected ", d.expected, ", got ", d.actual),
                 d);
        }
      }
    }
    for (size_t i = 0; i < seen.size(); ++i) {
      if (seen[i]) continue;
      EventDifference d;
      d.pcr = 9;
      d.expected = FirstBankHex(img.grub.files[i].digests, ctx, &d.bank);
      d.expected_description = img.grub.files[i].path;
      r->Add(codes::kFileMismatch,
             absl::StrCat("PCR 9: file ", Quote(img.grub.files[i].path), " (", d.bank, " ",
                          d.expected, ") was not measured"),
             d);
      break;
    }
    CheckOtherEvents(img, 9, ctx, r);
  }
}

void CheckUki(const GoldenImage& img, const Context& ctx, Recorder* r) {
  std::vector<const ClassifiedEvent*> actual;
  for (const ClassifiedEvent* c : ctx.On(11)) {
    if (IsDescribedByImageFields(*c)) actual.push_back(c);
  }
  std::vector<ExpectedItem> expected;
  for (const UkiSection& s : img.uki_sections) {
    std::string name = s.name;
    name.push_back('\0');
    expected.push_back(
        {HashPerBank(attest::AsSpan(name), ctx.banks), absl::StrCat("section ", s.name, " name")});
    expected.push_back({s.digests, absl::StrCat("section ", s.name, " contents")});
  }
  CompareSequence(11, actual, expected, codes::kUkiSectionMismatch, "UKI measurement", ctx, r);
  CheckOtherEvents(img, 11, ctx, r);
}

void CheckMok(const GoldenImage& img, const Context& ctx, Recorder* r) {
  std::vector<const ClassifiedEvent*> actual;
  for (const ClassifiedEvent* c : ctx.On(14)) {
    if (IsDescribedByImageFields(*c)) actual.push_back(c);
  }
  if (img.mok) {
    std::vector<ExpectedItem> expected;
    for (const NamedMeasurement& m : *img.mok) expected.push_back({m.digests, m.name});
    CompareSequence(14, actual, expected, codes::kMokMismatch, "MOK measurement", ctx, r);
  }
  CheckOtherEvents(img, 14, ctx, r);
}

void CheckImage(const GoldenImage& img, const Context& ctx, Recorder* r) {
  if (ctx.Enforced(4)) {
    CheckBootChain(img, ctx, r);
    CheckOtherEvents(img, 4, ctx, r);
  }
  if (ctx.Enforced(5)) CheckOtherEvents(img, 5, ctx, r);
  if (ctx.Enforced(7)) {
    CheckSecureBoot(img, ctx, r);
    CheckOtherEvents(img, 7, ctx, r);
  }
  CheckGrub(img, ctx, r);
  if (ctx.Enforced(11)) CheckUki(img, ctx, r);
  if (ctx.Enforced(14)) CheckMok(img, ctx, r);
}

// ---- platform --------------------------------------------------------------------------------

void CheckPlatform(const PlatformReference& p, const Context& ctx, Recorder* r) {
  for (uint32_t pcr : p.pcrs) {
    if (!ctx.Enforced(pcr)) continue;
    std::vector<ExpectedItem> expected;
    for (const ExpectedEvent& e : p.events) {
      if (e.pcr != pcr) continue;
      expected.push_back({e.digests, e.description.empty() ? e.type : e.description});
    }
    CompareSequence(pcr, ctx.On(pcr), expected, codes::kPlatformMismatch, "firmware event", ctx, r);
  }
  if (p.scrtm_version && ctx.Enforced(0)) {
    for (const ClassifiedEvent* c : ctx.On(0)) {
      if (c->event->type != attest::kEvSCrtmVersion) continue;
      absl::StatusOr<attest::TextEvent> t = attest::DecodeCrtmVersion(c->event->data);
      const std::string text = t.ok() && t->text   ? *t->text
                               : t.ok() && t->guid ? t->guid->ToString()
                                                   : std::string();
      if (text != *p.scrtm_version) {
        EventDifference d;
        d.pcr = 0;
        d.event_index = c->event->index;
        d.expected = *p.scrtm_version;
        d.actual = text;
        d.actual_description = c->description();
        r->Add(codes::kScrtmVersionMismatch,
               absl::StrCat("PCR 0 event ", c->event->index, ": S-CRTM version ", Quote(text),
                            ", expected ", Quote(*p.scrtm_version)),
               d);
      }
    }
  }
}

// ---- event-order rules -----------------------------------------------------------------------

void CheckOrder(const Context& ctx, const std::set<std::string>& quirks,
                const std::vector<ClassifiedEvent>& all, Recorder* r) {
  for (uint32_t pcr = 0; pcr <= 7; ++pcr) {
    if (!ctx.Enforced(pcr)) continue;
    size_t count = 0;
    for (const ClassifiedEvent* c : ctx.On(pcr)) {
      if (c->kind != EventKind::kSeparator) continue;
      ++count;
      if (c->separator_value != 0) {
        EventDifference d;
        d.pcr = pcr;
        d.event_index = c->event->index;
        d.expected = "00000000";
        d.actual = absl::StrCat(absl::Hex(c->separator_value, absl::kZeroPad8));
        r->Add(codes::kSeparatorError,
               absl::StrCat("PCR ", pcr, " event ", c->event->index, ": separator value 0x",
                            d.actual, " (firmware reported an error before handing over)"),
               d);
      }
    }
    if (count == 0) {
      EventDifference d;
      d.pcr = pcr;
      d.expected_description = "EV_SEPARATOR";
      r->Add(codes::kSeparatorMissing,
             absl::StrCat("PCR ", pcr, ": no EV_SEPARATOR between firmware and boot loader"), d);
    } else if (count > 1) {
      r->Add(codes::kSeparatorDuplicate,
             absl::StrCat("PCR ", pcr, ": ", count, " separators (exactly one expected)"));
    }
  }

  size_t ebs_invocation = kNoIndex;
  if (ctx.Enforced(5) && !quirks.count(kQuirkExitBootServicesMissing)) {
    size_t returned = kNoIndex;
    for (const ClassifiedEvent* c : ctx.On(5)) {
      if (c->kind != EventKind::kAction) continue;
      if (c->text == kActionExitBootServicesInvocation && ebs_invocation == kNoIndex) {
        ebs_invocation = c->event->index;
      }
      if (c->text == kActionExitBootServicesReturned && returned == kNoIndex) {
        returned = c->event->index;
      }
    }
    if (ebs_invocation == kNoIndex || returned == kNoIndex || returned < ebs_invocation) {
      EventDifference d;
      d.pcr = 5;
      d.expected_description = absl::StrCat("\"", kActionExitBootServicesInvocation, "\", \"",
                                            kActionExitBootServicesReturned, "\"");
      r->Add(codes::kExitBootServicesMissing,
             "PCR 5: the Exit Boot Services Invocation / Returned with Success pair is missing "
             "or out of order",
             d);
    }
  } else if (ctx.Enforced(5)) {
    for (const ClassifiedEvent* c : ctx.On(5)) {
      if (c->kind == EventKind::kAction && c->text == kActionExitBootServicesInvocation) {
        ebs_invocation = c->event->index;
        break;
      }
    }
  }

  if (ctx.Enforced(4)) {
    size_t calling = kNoIndex;
    for (const ClassifiedEvent* c : ctx.On(4)) {
      if (c->kind == EventKind::kAction && c->text == kActionCallingBootOption) {
        calling = c->event->index;
        break;
      }
    }
    for (const ClassifiedEvent* c : ctx.On(4)) {
      if (c->kind != EventKind::kEfiApplication) continue;
      const size_t idx = c->event->index;
      EventDifference d;
      d.pcr = 4;
      d.event_index = idx;
      d.actual_description = c->description();
      if ((calling == kNoIndex || idx < calling) &&
          !quirks.count(kQuirkApplicationBeforeBootOption)) {
        r->Add(codes::kApplicationBeforeBootOption,
               absl::StrCat("PCR 4 event ", idx, ": EFI application measured before \"",
                            kActionCallingBootOption, "\" (", c->description(),
                            "); allowed only with the platform quirk ",
                            kQuirkApplicationBeforeBootOption),
               d);
        break;
      }
      if (ebs_invocation != kNoIndex && idx > ebs_invocation) {
        r->Add(codes::kApplicationAfterExitBootServices,
               absl::StrCat("PCR 4 event ", idx,
                            ": EFI application measured after Exit Boot "
                            "Services (",
                            c->description(), ")"),
               d);
        break;
      }
    }
  }

  for (const ClassifiedEvent& c : all) {
    if (c.kind != EventKind::kDataMismatch || !ctx.Enforced(c.event->pcr)) continue;
    EventDifference d;
    d.pcr = c.event->pcr;
    d.event_index = c.event->index;
    d.actual_description = c.description();
    r->Add(codes::kEventDataMismatch,
           absl::StrCat("PCR ", c.event->pcr, " event ", c.event->index, " (",
                        attest::EventTypeName(c.event->type),
                        "): its digest does not match its data, so its contents cannot be "
                        "trusted"),
           d);
  }
}

std::string RefName(const std::string& name, const std::string& version) {
  return absl::StrCat(name, "@", version);
}

std::string FirstFindingText(const CandidateResult& c) {
  if (c.findings.empty()) return "";
  return absl::StrCat(c.findings[0].code, ": ", c.findings[0].detail);
}

}  // namespace

const char* VerdictName(Verdict v) { return v == Verdict::kAccepted ? "accepted" : "rejected"; }

absl::StatusOr<Evaluation> EvaluatePolicy(const PolicySet& set, const attest::PcrValues& quoted,
                                          const attest::VerifiedEventLog& log,
                                          const std::map<std::string, std::string>& labels,
                                          absl::Time now) {
  RETURN_IF_ERROR(ValidatePolicySet(set));
  const Policy& policy = set.policies[0];
  Evaluation out;
  out.policy_version = PolicyVersionId(set);

  Context ctx;
  ctx.policy = &policy;
  ctx.banks = policy.banks;
  ctx.enforced.insert(policy.pcrs.begin(), policy.pcrs.end());
  ctx.warn_only.insert(policy.warn_only.begin(), policy.warn_only.end());
  ctx.now = now;
  Recorder global(ctx);

  // Which group.
  const NodeGroup* group = nullptr;
  for (const NodeGroup& g : policy.groups) {
    bool match = true;
    for (const auto& [k, v] : g.selector) {
      auto it = labels.find(k);
      if (it == labels.end() || it->second != v) match = false;
    }
    if (match) {
      group = &g;
      break;
    }
  }
  if (group == nullptr) {
    std::vector<std::string> ls;
    for (const auto& [k, v] : labels) ls.push_back(absl::StrCat(k, "=", v));
    out.findings.push_back(
        {codes::kNoGroupForNode,
         absl::StrCat("no group of policy ", policy.metadata.name, " selects a node with labels {",
                      absl::StrJoin(ls, ","), "}")});
    return out;
  }
  out.group = group->name;

  // Evidence coverage: every enforced bank and PCR quoted and replayed.
  for (uint16_t bank : ctx.banks) {
    auto it = quoted.find(bank);
    if (it == quoted.end()) {
      global.Add(codes::kBankNotQuoted,
                 absl::StrCat("the policy enforces the ", attest::HashAlgName(bank),
                              " bank, which the quote does not cover"));
      continue;
    }
    for (uint32_t pcr : policy.pcrs) {
      if (!it->second.count(pcr)) {
        global.Add(codes::kPcrNotQuoted, absl::StrCat("enforced PCR ", attest::HashAlgName(bank),
                                                      ":", pcr, " was not quoted"));
      }
    }
  }
  for (const attest::PcrMismatch& m : log.mismatches) {
    if (!ctx.enforced.count(m.pcr)) continue;
    global.Add(codes::kPcrNotVerified,
               absl::StrCat("enforced PCR ", attest::HashAlgName(m.alg), ":", m.pcr,
                            " does not replay from the event log (quoted ", Hex(m.quoted),
                            ", replayed ", Hex(m.replayed), ")"));
  }
  for (uint32_t pcr : log.unquoted_pcrs) {
    if (!ctx.enforced.count(pcr)) continue;
    global.Add(codes::kPcrNotVerified,
               absl::StrCat("enforced PCR ", pcr,
                            " has events whose digests are missing from a quoted bank"));
  }

  const std::vector<ClassifiedEvent> classified = ClassifyEvents(log.events, ctx.banks);
  for (const ClassifiedEvent& c : classified) {
    if (ctx.enforced.count(c.event->pcr)) ctx.by_pcr[c.event->pcr].push_back(&c);
  }

  // Platforms.
  const bool platform_enforced = std::any_of(policy.pcrs.begin(), policy.pcrs.end(),
                                             [](uint32_t p) { return p <= 3 || p == 6; });
  std::set<std::string> quirks;
  std::set<std::string> all_quirks;
  for (const PlatformRef& ref : group->platforms) {
    const PlatformReference* p = FindPlatform(set, ref.name, ref.version);
    Recorder rec(ctx);
    CheckPlatform(*p, ctx, &rec);
    CandidateResult c;
    c.name = ref.name;
    c.version = ref.version;
    c.matched = rec.ok();
    c.findings = std::move(rec.findings());
    c.warnings = std::move(rec.warnings());
    c.first_difference = std::move(rec.first());
    all_quirks.insert(ref.quirks.begin(), ref.quirks.end());
    if (c.matched && !out.matched_platform) {
      out.matched_platform = c;
      quirks.insert(ref.quirks.begin(), ref.quirks.end());
    }
    out.platforms.push_back(std::move(c));
  }
  if (!out.matched_platform) quirks = all_quirks;

  CheckOrder(ctx, quirks, classified, &global);

  // Images.
  std::vector<Finding> window_findings;
  for (const ImageRef& ref : group->images) {
    const GoldenImage* img = FindImage(set, ref.name, ref.version);
    Recorder rec(ctx);
    CheckImage(*img, ctx, &rec);
    if (rec.ok()) {
      const std::string id = RefName(ref.name, ref.version);
      if (ref.not_before && now < *ref.not_before) {
        rec.Add(
            codes::kImageNotYetValid,
            absl::StrCat("golden image ", id, " matches but is not valid before ",
                         absl::FormatTime(absl::RFC3339_sec, *ref.not_before, absl::UTCTimeZone()),
                         " (notBefore); evaluated at ",
                         absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone())));
      } else if (ref.not_after && now >= *ref.not_after) {
        rec.Add(
            codes::kImageExpired,
            absl::StrCat("golden image ", id, " matches but expired at ",
                         absl::FormatTime(absl::RFC3339_sec, *ref.not_after, absl::UTCTimeZone()),
                         " (notAfter); evaluated at ",
                         absl::FormatTime(absl::RFC3339_sec, now, absl::UTCTimeZone())));
      }
      for (const Finding& f : rec.findings()) window_findings.push_back(f);
    }
    CandidateResult c;
    c.name = ref.name;
    c.version = ref.version;
    c.matched = rec.ok();
    c.findings = std::move(rec.findings());
    c.warnings = std::move(rec.warnings());
    c.first_difference = std::move(rec.first());
    if (c.matched && !out.matched_image) out.matched_image = c;
    out.images.push_back(std::move(c));
  }

  out.findings = std::move(global.findings());
  out.warnings = std::move(global.warnings());
  if (!out.matched_image) {
    std::vector<std::string> why;
    for (const CandidateResult& c : out.images) {
      why.push_back(absl::StrCat(RefName(c.name, c.version), " (", FirstFindingText(c), ")"));
    }
    out.findings.push_back(
        {codes::kNoMatchingImage, absl::StrCat("no golden image of group ", group->name,
                                               " matches: ", absl::StrJoin(why, "; "))});
    for (const CandidateResult& c : out.images) {
      for (const Finding& f : c.findings) {
        out.findings.push_back({f.code, absl::StrCat(RefName(c.name, c.version), ": ", f.detail)});
      }
    }
  } else {
    for (const Finding& w : out.matched_image->warnings) out.warnings.push_back(w);
  }
  if (platform_enforced && !out.matched_platform) {
    std::vector<std::string> why;
    for (const CandidateResult& c : out.platforms) {
      why.push_back(absl::StrCat(RefName(c.name, c.version), " (", FirstFindingText(c), ")"));
    }
    out.findings.push_back(
        {codes::kNoMatchingPlatform, absl::StrCat("no platform reference of group ", group->name,
                                                  " matches: ", absl::StrJoin(why, "; "))});
    for (const CandidateResult& c : out.platforms) {
      for (const Finding& f : c.findings) {
        out.findings.push_back({f.code, absl::StrCat(RefName(c.name, c.version), ": ", f.detail)});
      }
    }
  } else if (out.matched_platform) {
    for (const Finding& w : out.matched_platform->warnings) out.warnings.push_back(w);
  }

  // The one place the verdict becomes accepted: after every check ran, with nothing against it.
  if (out.findings.empty() && out.matched_image && (out.matched_platform || !platform_enforced)) {
    out.verdict = Verdict::kAccepted;
  }
  return out;
}

namespace {

nlohmann::json FindingsJson(const std::vector<Finding>& fs) {
  nlohmann::json arr = nlohmann::json::array();
  for (const Finding& f : fs) arr.push_back({{"code", f.code}, {"detail", f.detail}});
  return arr;
}

nlohmann::json CandidateJson(const CandidateResult& c) {
  nlohmann::json j = {{"name", c.name},
                      {"version", c.version},
                      {"matched", c.matched},
                      {"findings", FindingsJson(c.findings)},
                      {"warnings", FindingsJson(c.warnings)}};
  if (c.first_difference) {
    const EventDifference& d = *c.first_difference;
    nlohmann::json dj = {{"code", d.code},
                         {"pcr", d.pcr},
                         {"bank", d.bank},
                         {"expected", d.expected},
                         {"actual", d.actual},
                         {"expectedDescription", d.expected_description},
                         {"actualDescription", d.actual_description}};
    dj["eventIndex"] = d.event_index ? nlohmann::json(*d.event_index) : nlohmann::json(nullptr);
    j["firstDifference"] = std::move(dj);
  } else {
    j["firstDifference"] = nullptr;
  }
  return j;
}

}  // namespace

nlohmann::json EvaluationToJson(const Evaluation& e) {
  nlohmann::json j;
  j["verdict"] = VerdictName(e.verdict);
  j["policyVersion"] = e.policy_version;
  j["group"] = e.group;
  auto ref = [](const std::optional<CandidateResult>& c) {
    return c ? nlohmann::json{{"name", c->name}, {"version", c->version}} : nlohmann::json(nullptr);
  };
  j["matchedImage"] = ref(e.matched_image);
  j["matchedPlatform"] = ref(e.matched_platform);
  j["findings"] = FindingsJson(e.findings);
  j["warnings"] = FindingsJson(e.warnings);
  nlohmann::json images = nlohmann::json::array();
  for (const CandidateResult& c : e.images) images.push_back(CandidateJson(c));
  nlohmann::json platforms = nlohmann::json::array();
  for (const CandidateResult& c : e.platforms) platforms.push_back(CandidateJson(c));
  j["candidates"] = {{"images", std::move(images)}, {"platforms", std::move(platforms)}};
  return j;
}

std::string FormatEvaluation(const Evaluation& e) {
  std::string out = absl::StrCat("verdict: ", VerdictName(e.verdict), "\n");
  absl::StrAppend(&out, "policy: ", e.policy_version, "\n");
  absl::StrAppend(&out, "group: ", e.group.empty() ? "(none)" : e.group, "\n");
  absl::StrAppend(
      &out, "golden image: ",
      e.matched_image ? RefName(e.matched_image->name, e.matched_image->version) : "none matched",
      "\n");
  absl::StrAppend(&out, "platform: ",
                  e.matched_platform
                      ? RefName(e.matched_platform->name, e.matched_platform->version)
                      : "none matched",
                  "\n");
  if (!e.findings.empty()) {
    absl::StrAppend(&out, "findings:\n");
    for (const Finding& f : e.findings) absl::StrAppend(&out, "  ", f.code, ": ", f.detail, "\n");
  }
  if (!e.warnings.empty()) {
    absl::StrAppend(&out, "warnings:\n");
    for (const Finding& f : e.warnings) absl::StrAppend(&out, "  ", f.code, ": ", f.detail, "\n");
  }
  auto candidates = [&out](const char* title, const std::vector<CandidateResult>& cs) {
    for (const CandidateResult& c : cs) {
      if (c.matched) continue;
      absl::StrAppend(&out, title, " ", RefName(c.name, c.version), " did not match:\n");
      if (c.first_difference) {
        const EventDifference& d = *c.first_difference;
        absl::StrAppend(&out, "  first difference: PCR ", d.pcr, ", event ",
                        d.event_index ? std::to_string(*d.event_index) : std::string("(missing)"),
                        " [", d.code, "]\n");
        if (!d.expected.empty() || !d.expected_description.empty()) {
          absl::StrAppend(&out, "    expected: ", d.bank.empty() ? "" : d.bank + " ",
                          d.expected.empty() ? "(nothing)" : d.expected,
                          d.expected_description.empty() ? "" : "  " + d.expected_description,
                          "\n");
        }
        absl::StrAppend(&out, "    actual:   ", d.bank.empty() ? "" : d.bank + " ",
                        d.actual.empty() ? "(nothing)" : d.actual,
                        d.actual_description.empty() ? "" : "  " + d.actual_description, "\n");
      }
    }
  };
  candidates("golden image", e.images);
  candidates("platform", e.platforms);
  return out;
}

}  // namespace bootgate::policy
