#include "policy/learn.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/replay.h"
#include "attest/util/status_macros.h"
#include "policy/events.h"
#include "policy/loader.h"

namespace bootgate::policy {

using attest::Bytes;

namespace {

bool IsPlatformPcr(uint32_t pcr) { return pcr <= 3 || pcr == 6; }
bool IsImagePcr(uint32_t pcr) {
  return pcr == 4 || pcr == 5 || pcr == 7 || pcr == 8 || pcr == 9 || pcr == 11 || pcr == 14;
}

void AddUnique(const std::vector<SignatureEntry>& entries, std::vector<SignatureEntry>* out) {
  for (const SignatureEntry& e : entries) {
    const bool dup = std::any_of(out->begin(), out->end(), [&](const SignatureEntry& x) {
      return x.type == e.type && x.sha256 == e.sha256;
    });
    if (!dup) out->push_back(e);
  }
}

}  // namespace

absl::StatusOr<PolicySet> LearnPolicy(const attest::UnverifiedEventLog& log,
                                      const LearnOptions& options) {
  ASSIGN_OR_RETURN(attest::PcrValues replay, attest::ReplayEventLog(log));
  if (replay.empty()) return absl::InvalidArgumentError("the log has no measured events");
  ASSIGN_OR_RETURN(attest::VerifiedEventLog verified, attest::VerifyEventLog(log, replay));
  std::vector<uint16_t> banks;
  for (const auto& [alg, values] : replay) banks.push_back(alg);

  const std::vector<ClassifiedEvent> classified = ClassifyEvents(verified.events, banks);

  GoldenImage img;
  img.metadata.name = options.image_name;
  img.metadata.version = options.image_version;
  img.metadata.description = "learned from a reference event log";
  img.grub.commands = std::vector<std::string>();
  img.mok = std::vector<NamedMeasurement>();
  PlatformReference platform;
  platform.metadata.version = options.platform_version;
  platform.metadata.description = "learned from a reference event log";
  platform.pcrs = {0, 1, 2, 3, 6};

  bool pcr7_seen = false;
  std::optional<std::string> pending_section;
  size_t app_count = 0;
  size_t calling = std::numeric_limits<size_t>::max();
  size_t first_app = std::numeric_limits<size_t>::max();
  bool ebs_invocation = false, ebs_returned = false;
  std::vector<SignatureEntry> authorities;

  for (const ClassifiedEvent& c : classified) {
    const attest::Event& e = *c.event;
    if (c.kind == EventKind::kDataMismatch) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", e.index, " (PCR ", e.pcr, ", ", attest::EventTypeName(e.type),
                       "): its digest does not match its data; refusing to learn from this log"));
    }
    const BankDigests digests = EventDigests(e, banks);
    if (IsPlatformPcr(e.pcr)) {
      platform.events.push_back({e.pcr, attest::EventTypeName(e.type), digests, c.description()});
      if (e.type == attest::kEvSCrtmVersion && !platform.scrtm_version) {
        absl::StatusOr<attest::TextEvent> t = attest::DecodeCrtmVersion(e.data);
        if (t.ok() && t->text && !t->text->empty()) platform.scrtm_version = *t->text;
        if (t.ok() && !t->text && t->guid) platform.scrtm_version = t->guid->ToString();
      }
      continue;
    }
    if (!IsImagePcr(e.pcr)) continue;  // PCR 10 (IMA), 12, 13, 15-23: not golden-image PCRs
    if (e.pcr == 7) pcr7_seen = true;
    if (!IsDescribedByImageFields(c)) {
      img.other_events.push_back({e.pcr, attest::EventTypeName(e.type), digests, c.description()});
      continue;
    }
    if (c.kind != EventKind::kUkiSectionData && pending_section && e.pcr == 11) {
      return absl::InvalidArgumentError(absl::StrCat(
          "event ", e.index, ": UKI section ", *pending_section, " has no contents measurement"));
    }
    switch (c.kind) {
      case EventKind::kEfiApplication: {
        ++app_count;
        first_app = std::min(first_app, e.index);
        BootApplication app;
        absl::StatusOr<attest::ImageLoadEvent> load = attest::DecodeImageLoadEvent(e.data);
        if (load.ok() && !load->device_path_text.empty()) {
          app.name = load->device_path_text;
        } else {
          app.name = absl::StrCat("application ", app_count);
        }
        app.digests = digests;
        img.boot_chain.push_back(std::move(app));
        break;
      }
      case EventKind::kAction:
        if (c.text == kActionCallingBootOption) calling = std::min(calling, e.index);
        if (c.text == kActionExitBootServicesInvocation) ebs_invocation = true;
        if (c.text == kActionExitBootServicesReturned) ebs_returned = true;
        break;
      case EventKind::kVariable: {
        const std::vector<SignatureEntry> entries = SignatureEntriesOf(*c.variable);
        if (c.text == "SecureBoot") {
          img.secure_boot.enabled = c.variable->flag.value_or(0) == 1;
        } else if (c.text == "PK") {
          img.secure_boot.pk = entries;
        } else if (c.text == "KEK") {
          img.secure_boot.kek = entries;
        } else if (c.text == "db") {
          img.secure_boot.db = entries;
        } else if (c.text == "dbx") {
          img.secure_boot.dbx_required = entries;
        }
        break;
      }
      case EventKind::kAuthority:
        if (c.variable->variable.name == "SbatLevel") {
          const Bytes& raw = c.variable->variable.data;
          std::string text(raw.begin(), raw.end());
          while (!text.empty() && text.back() == '\0') text.pop_back();
          img.secure_boot.sbat_level = text;
        } else {
          AddUnique(SignatureEntriesOf(*c.variable), &authorities);
        }
        break;
      case EventKind::kGrubCommand:
        img.grub.commands->push_back(c.text);
        break;
      case EventKind::kKernelCmdline:
        if (!img.kernel_cmdline) img.kernel_cmdline = c.text;
        break;
      case EventKind::kGrubFile:
        img.grub.files.push_back({c.text, digests});
        break;
      case EventKind::kLinuxLoadOptions:
        img.linux_load_options = digests;
        break;
      case EventKind::kLinuxInitrd:
        img.linux_initrd = digests;
        break;
      case EventKind::kUkiSectionName:
        pending_section = c.text;
        break;
      case EventKind::kUkiSectionData:
        img.uki_sections.push_back({c.text, digests});
        pending_section.reset();
        break;
      case EventKind::kMok:
        img.mok->push_back({c.text, digests});
        break;
      default:
        break;
    }
  }
  if (pending_section) {
    return absl::InvalidArgumentError(
        absl::StrCat("UKI section ", *pending_section, " has no contents measurement"));
  }
  if (pcr7_seen) {
    img.secure_boot.authorities = authorities;
  } else {
    img.secure_boot.enabled = false;
  }
  // The EFI stub's load options are checked against the learned digest; a grub kernel_cmdline
  // text is kept as well.

  // Platform identity from an SP800-155 record, when the firmware logs one (informational).
  for (const attest::Event& e : log.events) {
    if (e.type != attest::kEvNoAction || !attest::IsSp800155Event(e.data)) continue;
    absl::StatusOr<attest::Sp800155Event> sp = attest::DecodeSp800155Event(e.data);
    if (!sp.ok()) continue;
    platform.manufacturer = attest::EscapeForDisplay(sp->platform_manufacturer);
    platform.model = attest::EscapeForDisplay(sp->platform_model);
    platform.firmware_version = attest::EscapeForDisplay(sp->firmware_version);
    break;
  }
  if (options.platform_name.empty()) {
    const uint16_t sha256 = static_cast<uint16_t>(attest::HashAlg::kSha256);
    const attest::PcrBank& bank = replay.count(sha256) ? replay.at(sha256) : replay.begin()->second;
    auto pcr0 = bank.find(0);
    platform.metadata.name =
        pcr0 == bank.end()
            ? "platform"
            : absl::StrCat("platform-", attest::HexEncode(pcr0->second).substr(0, 8));
  } else {
    platform.metadata.name = options.platform_name;
  }

  Policy policy;
  policy.metadata.name = options.policy_name;
  policy.metadata.description =
      absl::StrCat("accepts ", img.metadata.name, "@", img.metadata.version, " on ",
                   platform.metadata.name, "@", platform.metadata.version);
  const uint16_t sha256 = static_cast<uint16_t>(attest::HashAlg::kSha256);
  policy.banks = {std::find(banks.begin(), banks.end(), sha256) != banks.end() ? sha256 : banks[0]};
  policy.pcrs = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14};
  NodeGroup group;
  group.name = "default";
  group.images.push_back({img.metadata.name, img.metadata.version, std::nullopt, std::nullopt});
  PlatformRef pref{platform.metadata.name, platform.metadata.version, {}};
  if (app_count > 0 && first_app < calling) {
    pref.quirks.push_back(kQuirkApplicationBeforeBootOption);
  }
  if (!ebs_invocation || !ebs_returned) pref.quirks.push_back(kQuirkExitBootServicesMissing);
  group.platforms.push_back(std::move(pref));
  policy.groups.push_back(std::move(group));

  PolicySet set;
  set.images.push_back(std::move(img));
  set.platforms.push_back(std::move(platform));
  set.policies.push_back(std::move(policy));

  // What learn writes must load: round-trip it through the strict loader.
  absl::StatusOr<PolicySet> reparsed = ParsePolicyDocuments(SerializeYaml(set), "learned policy");
  if (!reparsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("learned documents do not load: ", reparsed.status().message()));
  }
  RETURN_IF_ERROR(ValidatePolicySet(*reparsed));
  return set;
}

}  // namespace bootgate::policy
