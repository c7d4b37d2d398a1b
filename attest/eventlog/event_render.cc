#include "attest/eventlog/event_render.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"

namespace bootgate::attest {

namespace {

constexpr size_t kHexPreviewBytes = 32;
constexpr size_t kShortDigestHex = 8;

std::string HexPreview(ByteSpan data) {
  if (data.size() <= kHexPreviewBytes) return HexEncode(data);
  return absl::StrCat(HexEncode(data.subspan(0, kHexPreviewBytes)), "...");
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string GuidText(const EfiGuid& g) {
  std::string name = GuidName(g);
  return name.empty() ? g.ToString() : name;
}

nlohmann::json GuidJson(const EfiGuid& g) {
  nlohmann::json j = {{"guid", g.ToString()}};
  std::string name = GuidName(g);
  if (!name.empty()) j["name"] = name;
  return j;
}

const char* LocatorTypeName(uint32_t type) {
  switch (type) {
    case 0:
      return "raw";
    case 1:
      return "uri";
    case 2:
      return "device-path";
    case 3:
      return "uefi-variable";
    default:
      return "unknown";
  }
}

// Certificate subject, or why it is not one.
std::string CertText(ByteSpan der) {
  auto x = SummarizeX509(der);
  if (!x.ok()) return absl::StrCat("(", x.status().message(), ")");
  return x->subject;
}

nlohmann::json CertJson(ByteSpan der) {
  nlohmann::json j;
  auto x = SummarizeX509(der);
  if (x.ok()) {
    j = {{"subject", x->subject},     {"issuer", x->issuer},
         {"serial", x->serial},       {"not_before", x->not_before},
         {"not_after", x->not_after}, {"sha256_fingerprint", HexEncode(x->sha256_fingerprint)}};
  } else {
    j = {{"error", std::string(x.status().message())}};
  }
  j["der"] = HexEncode(der);
  return j;
}

bool IsX509Type(const EfiGuid& type) { return type == kEfiCertX509Guid; }

std::string SignatureListsText(const std::vector<EfiSignatureList>& lists) {
  if (lists.empty()) return "no signature lists";
  std::vector<std::string> parts;
  for (const auto& l : lists) {
    if (IsX509Type(l.type)) {
      std::vector<std::string> subjects;
      for (const auto& s : l.signatures) subjects.push_back(CertText(s.data));
      parts.push_back(absl::StrCat("X509 [", absl::StrJoin(subjects, "; "), "]"));
    } else {
      parts.push_back(absl::StrCat(GuidText(l.type), " x", l.signatures.size()));
    }
  }
  return absl::StrCat(lists.size(), " signature list(s): ", absl::StrJoin(parts, ", "));
}

nlohmann::json SignatureDataJson(const EfiSignatureData& s, bool x509) {
  nlohmann::json j = {{"owner", GuidJson(s.owner)}};
  if (x509 || SummarizeX509(s.data).ok()) {
    j["certificate"] = CertJson(s.data);
  } else {
    j["data"] = HexEncode(s.data);
  }
  return j;
}

std::string TextEventText(const TextEvent& t) {
  if (t.text.has_value()) return Quote(*t.text);
  if (t.guid.has_value()) return absl::StrCat("GUID ", t.guid->ToString());
  return absl::StrCat(t.raw.size(), " bytes: ", HexPreview(t.raw));
}

nlohmann::json TextEventJson(const TextEvent& t) {
  nlohmann::json j = nlohmann::json::object();
  if (t.text.has_value()) {
    j["text"] = *t.text;
    j["encoding"] = t.utf16 ? "utf-16" : "ascii";
  }
  if (t.guid.has_value()) j["guid"] = t.guid->ToString();
  if (!t.raw.empty()) j["raw"] = HexEncode(t.raw);
  return j;
}

std::string BlobText(const FirmwareBlobEvent& b) {
  std::string s = absl::StrFormat("base 0x%x length 0x%x", b.base, b.length);
  if (b.description.has_value()) s = absl::StrCat(Quote(*b.description), " ", s);
  return s;
}

nlohmann::json BlobJson(const FirmwareBlobEvent& b) {
  nlohmann::json j = {{"base", b.base}, {"length", b.length}};
  if (b.description.has_value()) j["description"] = *b.description;
  return j;
}

struct Describer {
  std::string operator()(const RawEvent& e) const { return TextEventText(e.contents); }
  std::string operator()(const SpecIdEvent& e) const {
    std::vector<std::string> algs;
    for (const auto& a : e.algorithms) {
      algs.push_back(absl::StrCat(HashAlgName(a.alg), "(", a.digest_size, ")"));
    }
    return absl::StrFormat(
        "%s: platform class %d, spec %d.%d errata %d, uintn size %d%s, vendor info %d bytes",
        e.signature, e.platform_class, e.spec_version_major, e.spec_version_minor, e.spec_errata,
        e.uintn_size, algs.empty() ? "" : absl::StrCat(", algorithms ", absl::StrJoin(algs, " ")),
        e.vendor_info.size());
  }
  std::string operator()(const StartupLocalityEvent& e) const {
    return absl::StrCat("StartupLocality ", e.locality);
  }
  std::string operator()(const Sp800155Event& e) const {
    std::string s = absl::StrFormat(
        "SP800-155 Event%s: platform %s %s %s, firmware %s (%d) %s, reference manifest %s",
        e.version == 1 ? "" : absl::StrCat(e.version), Quote(e.platform_manufacturer),
        Quote(e.platform_model), Quote(e.platform_version), Quote(e.firmware_manufacturer),
        e.firmware_manufacturer_id, Quote(e.firmware_version),
        e.reference_manifest_guid.ToString());
    if (e.rim_locator.has_value()) {
      absl::StrAppend(&s, ", RIM locator ", LocatorTypeName(e.rim_locator->type), " ",
                      Quote(e.rim_locator->text));
    }
    if (e.platform_cert_locator.has_value()) {
      absl::StrAppend(&s, ", platform cert locator ",
                      LocatorTypeName(e.platform_cert_locator->type), " ",
                      Quote(e.platform_cert_locator->text));
    }
    return s;
  }
  std::string operator()(const NoActionEvent& e) const {
    std::string sig = e.signature.empty() ? "" : absl::StrCat(Quote(e.signature), " ");
    return absl::StrCat("no-action ", sig, e.data.size(), " bytes: ", HexPreview(e.data));
  }
  std::string operator()(const UefiVariableEvent& e) const {
    const UefiVariableData& v = e.variable;
    std::string s = absl::StrCat(v.name, " [", GuidText(v.vendor), "]");
    if (e.flag.has_value()) {
      absl::StrAppend(&s, " = ", *e.flag);
    } else if (e.boot_order.has_value()) {
      std::vector<std::string> opts;
      for (uint16_t n : *e.boot_order) opts.push_back(absl::StrFormat("Boot%04X", n));
      absl::StrAppend(&s, " = ", absl::StrJoin(opts, ","));
    } else if (e.load_option.has_value()) {
      absl::StrAppend(&s, ": ", Quote(e.load_option->description), " ",
                      absl::StrJoin(e.load_option->device_paths, " + "));
    } else if (e.signature_lists.has_value()) {
      absl::StrAppend(&s, ": ", SignatureListsText(*e.signature_lists));
    } else if (e.signature_data.has_value()) {
      const EfiSignatureData& d = *e.signature_data;
      auto x = SummarizeX509(d.data);
      absl::StrAppend(
          &s, ": owner ", GuidText(d.owner), " ",
          x.ok() ? absl::StrCat("X509 ", x->subject) : absl::StrCat("hash ", HexEncode(d.data)));
    } else if (e.certificate.has_value()) {
      absl::StrAppend(&s, ": X509 ", CertText(*e.certificate));
    } else if (e.text.has_value()) {
      absl::StrAppend(&s, " = ", Quote(*e.text));
    } else {
      absl::StrAppend(&s, ": ", v.data.size(), " bytes",
                      v.data.empty() ? "" : absl::StrCat(" ", HexPreview(v.data)));
    }
    return s;
  }
  std::string operator()(const ImageLoadEvent& e) const {
    return absl::StrFormat("image at 0x%x length 0x%x link 0x%x path %s", e.image_location,
                           e.image_length, e.link_time_address,
                           e.device_path.empty() ? "(none)" : e.device_path_text);
  }
  std::string operator()(const FirmwareBlobEvent& e) const { return BlobText(e); }
  std::string operator()(const HandoffTablesEvent& e) const {
    std::vector<std::string> tables;
    for (const auto& t : e.tables) {
      tables.push_back(absl::StrFormat("%s at 0x%x", GuidText(t.vendor_guid), t.address));
    }
    std::string s = absl::StrCat(e.tables.size(), " table(s): ", absl::StrJoin(tables, ", "));
    if (e.description.has_value()) s = absl::StrCat(Quote(*e.description), " ", s);
    return s;
  }
  std::string operator()(const GptEvent& e) const {
    std::vector<std::string> parts;
    for (size_t i = 0; i < e.partitions.size(); ++i) {
      const GptPartition& p = e.partitions[i];
      parts.push_back(absl::StrFormat("%d %s %s 0x%x-0x%x", i + 1, Quote(p.name), GuidText(p.type),
                                      p.first_lba, p.last_lba));
    }
    return absl::StrCat("GPT disk ", e.disk_guid.ToString(), ", ", e.partitions.size(),
                        " partition(s): ", absl::StrJoin(parts, ", "));
  }
  std::string operator()(const TaggedEvent& e) const {
    std::string s = absl::StrFormat("tag 0x%08x", e.id);
    if (e.id == kLinuxInitrdTagId) s += " (Linux initrd)";
    if (e.id == kLinuxLoadOptionsTagId) s += " (Linux load options)";
    if (e.text.has_value()) return absl::StrCat(s, " ", Quote(*e.text));
    return absl::StrCat(s, " ", e.data.size(), " bytes: ", HexPreview(e.data));
  }
  std::string operator()(const IplEvent& e) const {
    switch (e.kind) {
      case IplKind::kGrubCommand:
        return absl::StrCat("grub_cmd: ", e.text);
      case IplKind::kKernelCmdline:
        return absl::StrCat("kernel_cmdline: ", e.text);
      case IplKind::kSystemdSection:
        return absl::StrCat("systemd-stub section ", e.text);
      case IplKind::kString:
        return Quote(e.text);
      case IplKind::kBinary:
        break;
    }
    return "binary";
  }
  std::string operator()(const SeparatorEvent& e) const {
    return absl::StrFormat("separator 0x%08x%s", e.value, e.value == 0 ? "" : " (error)");
  }
  std::string operator()(const TextEvent& e) const { return TextEventText(e); }
  std::string operator()(const PostCodeEvent& e) const {
    if (e.text.has_value()) return Quote(*e.text);
    if (e.blob.has_value()) return BlobText(*e.blob);
    return "";
  }
};

nlohmann::json LocatorJson(const TcgLocator& l) {
  return {{"type", l.type},
          {"type_name", LocatorTypeName(l.type)},
          {"text", l.text},
          {"data", HexEncode(l.data)}};
}

struct JsonMaker {
  nlohmann::json operator()(const RawEvent& e) const {
    nlohmann::json j = TextEventJson(e.contents);
    j["kind"] = "raw";
    return j;
  }
  nlohmann::json operator()(const SpecIdEvent& e) const {
    nlohmann::json algs = nlohmann::json::array();
    for (const auto& a : e.algorithms) {
      algs.push_back(
          {{"alg", HashAlgName(a.alg)}, {"alg_id", a.alg}, {"digest_size", a.digest_size}});
    }
    return {{"kind", "spec_id"},
            {"signature", e.signature},
            {"platform_class", e.platform_class},
            {"spec_version_major", e.spec_version_major},
            {"spec_version_minor", e.spec_version_minor},
            {"spec_errata", e.spec_errata},
            {"uintn_size", e.uintn_size},
            {"algorithms", algs},
            {"vendor_info", HexEncode(e.vendor_info)}};
  }
  nlohmann::json operator()(const StartupLocalityEvent& e) const {
    return {{"kind", "startup_locality"}, {"locality", e.locality}};
  }
  nlohmann::json operator()(const Sp800155Event& e) const {
    nlohmann::json j = {{"kind", "sp800_155"},
                        {"version", e.version},
                        {"vendor_id", e.vendor_id},
                        {"reference_manifest_guid", e.reference_manifest_guid.ToString()},
                        {"platform_manufacturer", e.platform_manufacturer},
                        {"platform_model", e.platform_model},
                        {"platform_version", e.platform_version},
                        {"firmware_manufacturer", e.firmware_manufacturer},
                        {"firmware_manufacturer_id", e.firmware_manufacturer_id},
                        {"firmware_version", e.firmware_version}};
    if (e.rim_locator.has_value()) j["rim_locator"] = LocatorJson(*e.rim_locator);
    if (e.platform_cert_locator.has_value()) {
      j["platform_cert_locator"] = LocatorJson(*e.platform_cert_locator);
    }
    return j;
  }
  nlohmann::json operator()(const NoActionEvent& e) const {
    return {{"kind", "no_action"}, {"signature", e.signature}, {"data", HexEncode(e.data)}};
  }
  nlohmann::json operator()(const UefiVariableEvent& e) const {
    const UefiVariableData& v = e.variable;
    nlohmann::json j = {{"kind", "uefi_variable"},
                        {"vendor", GuidJson(v.vendor)},
                        {"name", v.name},
                        {"data", HexEncode(v.data)}};
    if (v.padding_bytes > 0) j["padding_bytes"] = v.padding_bytes;
    if (e.flag.has_value()) j["value"] = *e.flag;
    if (e.boot_order.has_value()) j["boot_order"] = *e.boot_order;
    if (e.load_option.has_value()) {
      j["load_option"] = {{"attributes", e.load_option->attributes},
                          {"description", e.load_option->description},
                          {"device_paths", e.load_option->device_paths},
                          {"optional_data", HexEncode(e.load_option->optional_data)}};
    }
    if (e.signature_lists.has_value()) {
      nlohmann::json lists = nlohmann::json::array();
      for (const auto& l : *e.signature_lists) {
        nlohmann::json sigs = nlohmann::json::array();
        for (const auto& s : l.signatures) sigs.push_back(SignatureDataJson(s, IsX509Type(l.type)));
        lists.push_back({{"type", GuidJson(l.type)},
                         {"header", HexEncode(l.header)},
                         {"signatures", std::move(sigs)}});
      }
      j["signature_lists"] = std::move(lists);
    }
    if (e.signature_data.has_value()) {
      j["signature_data"] = SignatureDataJson(*e.signature_data, false);
    }
    if (e.certificate.has_value()) j["certificate"] = CertJson(*e.certificate);
    if (e.text.has_value()) j["text"] = *e.text;
    return j;
  }
  nlohmann::json operator()(const ImageLoadEvent& e) const {
    return {{"kind", "image_load"},
            {"image_location", e.image_location},
            {"image_length", e.image_length},
            {"link_time_address", e.link_time_address},
            {"device_path", e.device_path_text},
            {"device_path_raw", HexEncode(e.device_path)},
            {"padding_bytes", e.padding_bytes}};
  }
  nlohmann::json operator()(const FirmwareBlobEvent& e) const {
    nlohmann::json j = BlobJson(e);
    j["kind"] = "firmware_blob";
    return j;
  }
  nlohmann::json operator()(const HandoffTablesEvent& e) const {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& t : e.tables) {
      nlohmann::json tj = GuidJson(t.vendor_guid);
      tj["address"] = t.address;
      tables.push_back(std::move(tj));
    }
    nlohmann::json j = {{"kind", "handoff_tables"}, {"tables", std::move(tables)}};
    if (e.description.has_value()) j["description"] = *e.description;
    return j;
  }
  nlohmann::json operator()(const GptEvent& e) const {
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : e.partitions) {
      parts.push_back({{"type", GuidJson(p.type)},
                       {"unique_guid", p.unique.ToString()},
                       {"first_lba", p.first_lba},
                       {"last_lba", p.last_lba},
                       {"attributes", p.attributes},
                       {"name", p.name}});
    }
    return {{"kind", "gpt"},
            {"revision", e.revision},
            {"disk_guid", e.disk_guid.ToString()},
            {"my_lba", e.my_lba},
            {"alternate_lba", e.alternate_lba},
            {"first_usable_lba", e.first_usable_lba},
            {"last_usable_lba", e.last_usable_lba},
            {"partition_entry_lba", e.partition_entry_lba},
            {"number_of_partition_entries", e.number_of_partition_entries},
            {"size_of_partition_entry", e.size_of_partition_entry},
            {"partitions", std::move(parts)}};
  }
  nlohmann::json operator()(const TaggedEvent& e) const {
    nlohmann::json j = {{"kind", "tagged"}, {"id", e.id}, {"data", HexEncode(e.data)}};
    if (e.text.has_value()) j["text"] = *e.text;
    return j;
  }
  nlohmann::json operator()(const IplEvent& e) const {
    nlohmann::json j = {{"kind", "ipl"}, {"ipl_kind", IplKindName(e.kind)}, {"text", e.text}};
    if (e.utf16) j["encoding"] = "utf-16";
    return j;
  }
  nlohmann::json operator()(const SeparatorEvent& e) const {
    return {{"kind", "separator"}, {"value", e.value}, {"error", e.value != 0}};
  }
  nlohmann::json operator()(const TextEvent& e) const {
    nlohmann::json j = TextEventJson(e);
    j["kind"] = "text";
    return j;
  }
  nlohmann::json operator()(const PostCodeEvent& e) const {
    nlohmann::json j = {{"kind", "post_code"}};
    if (e.text.has_value()) j["text"] = *e.text;
    if (e.blob.has_value()) j["blob"] = BlobJson(*e.blob);
    return j;
  }
};

std::string ShortDigests(const Event& e) {
  std::vector<std::string> parts;
  for (const auto& d : e.digests) {
    std::string hex = HexEncode(d.digest);
    if (hex.size() > kShortDigestHex) hex = hex.substr(0, kShortDigestHex) + "..";
    parts.push_back(absl::StrCat(HashAlgName(d.alg), ":", hex));
  }
  return absl::StrJoin(parts, " ");
}

}  // namespace

const char* LogFormatName(LogFormat format) {
  return format == LogFormat::kCryptoAgile ? "crypto-agile" : "sha1-legacy";
}

std::string DescribeEventDetails(const EventDetails& details) {
  return std::visit(Describer{}, details);
}

std::string DescribeEvent(const Event& event) {
  absl::StatusOr<EventDetails> details = DecodeEventData(event);
  if (!details.ok()) {
    return absl::StrCat("undecodable: ", EscapeForDisplay(details.status().message()));
  }
  return DescribeEventDetails(*details);
}

nlohmann::json EventDetailsToJson(const EventDetails& details) {
  return std::visit(JsonMaker{}, details);
}

nlohmann::json EventToJson(const Event& event) {
  nlohmann::json digests = nlohmann::json::object();
  for (const auto& d : event.digests) digests[HashAlgName(d.alg)] = HexEncode(d.digest);
  nlohmann::json j = {{"index", event.index},
                      {"offset", event.offset},
                      {"pcr", event.pcr},
                      {"type", event.type},
                      {"type_name", EventTypeName(event.type)},
                      {"digests", std::move(digests)},
                      {"data", HexEncode(event.data)}};
  absl::StatusOr<EventDetails> details = DecodeEventData(event);
  if (details.ok()) {
    j["decoded"] = EventDetailsToJson(*details);
  } else {
    j["undecodable"] = EscapeForDisplay(details.status().message());
  }
  return j;
}

nlohmann::json EventLogToJson(const UnverifiedEventLog& log) {
  nlohmann::json algs = nlohmann::json::array();
  for (const auto& a : log.algorithms) {
    algs.push_back(
        {{"alg", HashAlgName(a.alg)}, {"alg_id", a.alg}, {"digest_size", a.digest_size}});
  }
  nlohmann::json events = nlohmann::json::array();
  for (const Event& e : log.events) events.push_back(EventToJson(e));
  nlohmann::json j = {{"format", LogFormatName(log.format)},
                      {"algorithms", std::move(algs)},
                      {"trailing_zero_bytes", log.trailing_zero_bytes},
                      {"events", std::move(events)}};
  j["startup_locality"] =
      log.startup_locality.has_value() ? nlohmann::json(*log.startup_locality) : nlohmann::json();
  return j;
}

std::string FormatEventLogText(const UnverifiedEventLog& log) {
  std::vector<std::string> algs;
  for (const auto& a : log.algorithms) algs.push_back(HashAlgName(a.alg));
  std::string out = absl::StrFormat("%s log, %d events, banks %s", LogFormatName(log.format),
                                    log.events.size(), absl::StrJoin(algs, ","));
  if (log.startup_locality.has_value()) {
    absl::StrAppend(&out, ", startup locality ", *log.startup_locality);
  }
  if (log.trailing_zero_bytes > 0) {
    absl::StrAppend(&out, ", ", log.trailing_zero_bytes, " bytes of zero padding");
  }
  out += "\n";
  for (const Event& e : log.events) {
    absl::StrAppendFormat(&out, "%4d  PCR %-2d  %-32s  %s  %s\n", e.index, e.pcr,
                          EventTypeName(e.type), ShortDigests(e), DescribeEvent(e));
  }
  return out;
}

}  // namespace bootgate::attest
