#include "policy/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/pcr/pcr_values.h"
#include "attest/util/status_macros.h"
#include "policy/findings.h"

namespace bootgate::policy {

using attest::Bytes;
using nlohmann::json;

namespace {

// ---- YAML -> JSON ----------------------------------------------------------------------------

// yaml-cpp reports errors by throwing; this is the one place in policy/ where its exceptions are
// caught and turned into a Status.
template <typename Fn>
auto CatchYaml(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.msg));
    return absl::InvalidArgumentError(
        absl::StrCat(what, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// A plain YAML scalar that is a canonical decimal integer (no sign, no leading zero) becomes a
// JSON number; so converting the number back to text is lossless for string fields.
bool IsCanonicalUnsigned(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  if (s.size() > 1 && s[0] == '0') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Builds JSON values straight from yaml-cpp's parser events, one document at a time, with the
// caps enforced while building (nodes after alias expansion, nesting, documents). It replaces
// YAML::LoadAll, which in yaml-cpp 0.7 can loop forever on some malformed input, appending an
// empty document per iteration (jbeder/yaml-cpp#1319, fixed in 0.8): here the number of
// documents is capped.
class JsonBuilder : public YAML::EventHandler {
 public:
  absl::Status status() const { return status_; }
  std::vector<json>& documents() { return documents_; }

  void OnDocumentStart(const YAML::Mark&) override {
    stack_.clear();
    root_ = json();
    has_root_ = false;
    if (++document_count_ > kMaxPolicyDocuments) {
      Fail(absl::StrCat("more than ", kMaxPolicyDocuments, " documents"));
    }
  }
  void OnDocumentEnd() override {
    if (!status_.ok()) return;
    if (has_root_ && !root_.is_null()) documents_.push_back(std::move(root_));
  }
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { Add(json(nullptr), anchor, 1); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) return Fail("alias to an unknown anchor");
    Add(it->second.first, YAML::NullAnchor, it->second.second);
  }
  void OnScalar(const YAML::Mark&, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!status_.ok()) return;
    if (!IsValidUtf8(value)) return Fail("a string is not valid UTF-8");
    // A scalar where a mapping expects its key.
    if (!stack_.empty() && stack_.back().value.is_object() && !stack_.back().key) {
      if (stack_.back().value.contains(value)) {
        return Fail(absl::StrCat("duplicate key '", value, "'"));
      }
      stack_.back().key = value;
      return;
    }
    Add(ScalarJson(tag, value), anchor, 1);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Push(json::array(), anchor);
  }
  void OnSequenceEnd() override { Pop(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Push(json::object(), anchor);
  }
  void OnMapEnd() override { Pop(); }

 private:
  struct Frame {
    json value;
    YAML::anchor_t anchor = YAML::NullAnchor;
    std::optional<std::string> key;  // objects: the key waiting for its value
    size_t nodes = 1;                // nodes in this subtree (for alias accounting)
  };

  static json ScalarJson(const std::string& tag, const std::string& s) {
    if (tag == "!") return json(s);  // quoted: always a string
    if (s == "true") return json(true);
    if (s == "false") return json(false);
    if (s == "null" || s == "~" || s.empty()) return json(nullptr);
    if (IsCanonicalUnsigned(s)) {
      uint64_t v = 0;
      if (absl::SimpleAtoi(s, &v)) return json(v);
    }
    return json(s);
  }

  void Fail(std::string message) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(std::move(message));
  }

  bool Count(size_t n) {
    nodes_ += n;
    if (nodes_ > kMaxPolicyNodes) {
      Fail(absl::StrCat("more than ", kMaxPolicyNodes, " YAML nodes (after aliases)"));
      return false;
    }
    return true;
  }

  void Push(json value, YAML::anchor_t anchor) {
    if (!status_.ok()) return;
    if (!Count(1)) return;
    if (stack_.size() >= kMaxPolicyDepth) {
      return Fail(absl::StrCat("nesting deeper than ", kMaxPolicyDepth, " levels"));
    }
    if (!stack_.empty() && stack_.back().value.is_object() && !stack_.back().key) {
      return Fail("a mapping key is not text");
    }
    Frame f;
    f.value = std::move(value);
    f.anchor = anchor;
    stack_.push_back(std::move(f));
  }

  void Pop() {
    if (!status_.ok() || stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.key) return Fail(absl::StrCat("key '", *f.key, "' has no value"));
    Attach(std::move(f.value), f.anchor, f.nodes);
  }

  void Add(json value, YAML::anchor_t anchor, size_t nodes) {
    if (!status_.ok()) return;
    if (!Count(nodes)) return;
    Attach(std::move(value), anchor, nodes);
  }

  void Attach(json value, YAML::anchor_t anchor, size_t nodes) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = {value, nodes};
    if (stack_.empty()) {
      root_ = std::move(value);
      has_root_ = true;
      return;
    }
    Frame& top = stack_.back();
    top.nodes += nodes;
    if (top.value.is_array()) {
      top.value.push_back(std::move(value));
    } else if (!top.key) {
      Fail("a mapping key is not text");
    } else {
      top.value[*top.key] = std::move(value);
      top.key.reset();
    }
  }

  absl::Status status_;
  std::vector<json> documents_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<json, size_t>> anchors_;
  json root_;
  bool has_root_ = false;
  size_t nodes_ = 0;
  size_t document_count_ = 0;
};

absl::StatusOr<std::vector<json>> YamlDocumentsToJson(absl::string_view text,
                                                      absl::string_view source) {
  if (text.size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", text.size(), " bytes exceeds the cap of ", kMaxPolicyBytes));
  }
  return CatchYaml(source, [&]() -> absl::StatusOr<std::vector<json>> {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    JsonBuilder builder;
    while (builder.status().ok() && parser.HandleNextDocument(builder)) {
    }
    if (!builder.status().ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": ", builder.status().message()));
    }
    return std::move(builder.documents());
  });
}

// ---- JSON -> model, strict -------------------------------------------------------------------

std::string JoinPath(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}
std::string IndexPath(const std::string& path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

absl::Status FieldError(const std::string& path, absl::string_view msg) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", msg));
}

const char* JsonTypeName(const json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "a list";
  return "a mapping";
}

absl::StatusOr<std::string> AsString(const json& j, const std::string& path) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_unsigned()) return std::to_string(j.get<uint64_t>());
  if (j.is_boolean()) return std::string(j.get<bool>() ? "true" : "false");
  return FieldError(path, absl::StrCat("expected a string, got ", JsonTypeName(j)));
}

absl::StatusOr<uint64_t> AsUnsigned(const json& j, const std::string& path) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0)
    return static_cast<uint64_t>(j.get<int64_t>());
  return FieldError(path, absl::StrCat("expected a non-negative integer, got ", JsonTypeName(j)));
}

absl::StatusOr<bool> AsBool(const json& j, const std::string& path) {
  if (j.is_boolean()) return j.get<bool>();
  return FieldError(path, absl::StrCat("expected true or false, got ", JsonTypeName(j)));
}

// A mapping whose fields are consumed one by one; Done() rejects whatever is left.
class Obj {
 public:
  static absl::StatusOr<Obj> Make(const json& j, std::string path) {
    if (!j.is_object()) {
      return FieldError(path.empty() ? "document" : path,
                        absl::StrCat("expected a mapping, got ", JsonTypeName(j)));
    }
    return Obj(j, std::move(path));
  }

  const std::string& path() const { return path_; }
  std::string Path(const std::string& key) const { return JoinPath(path_, key); }

  // The field's value, or nullptr when absent or null.
  const json* Get(const std::string& key) {
    used_.insert(key);
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null()) return nullptr;
    return &*it;
  }
  absl::StatusOr<const json*> Require(const std::string& key) {
    const json* v = Get(key);
    if (v == nullptr) return FieldError(Path(key), "required field missing");
    return v;
  }
  absl::StatusOr<std::string> String(const std::string& key) {
    ASSIGN_OR_RETURN(const json* v, Require(key));
    return AsString(*v, Path(key));
  }
  absl::StatusOr<std::optional<std::string>> OptString(const std::string& key) {
    const json* v = Get(key);
    if (v == nullptr) return std::optional<std::string>();
    ASSIGN_OR_RETURN(std::string s, AsString(*v, Path(key)));
    return std::optional<std::string>(std::move(s));
  }
  absl::StatusOr<std::string> StringOr(const std::string& key, const std::string& def) {
    ASSIGN_OR_RETURN(std::optional<std::string> s, OptString(key));
    return s.has_value() ? *s : def;
  }
  // A list field (absent = empty).
  absl::StatusOr<std::vector<const json*>> List(const std::string& key) {
    std::vector<const json*> out;
    const json* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      return FieldError(Path(key), absl::StrCat("expected a list, got ", JsonTypeName(*v)));
    }
    for (const json& item : *v) out.push_back(&item);
    return out;
  }

  absl::Status Done() const {
    for (auto it = j_->begin(); it != j_->end(); ++it) {
      if (!used_.count(it.key())) return FieldError(Path(it.key()), "unknown field");
    }
    return absl::OkStatus();
  }

 private:
  Obj(const json& j, std::string path) : j_(&j), path_(std::move(path)) {}
  const json* j_;
  std::string path_;
  std::set<std::string> used_;
};

absl::Status CheckName(const std::string& value, const std::string& path, bool allow_empty) {
  if (value.empty()) {
    if (allow_empty) return absl::OkStatus();
    return FieldError(path, "must not be empty");
  }
  if (value.size() > 128) return FieldError(path, "longer than 128 characters");
  for (char c : value) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          c == '+' || c == ':' || c == '~')) {
      return FieldError(
          path, absl::StrCat("'", value, "' may only contain letters, digits and . _ - + : ~"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BankDigests> ParseDigests(const json& j, const std::string& path) {
  ASSIGN_OR_RETURN(Obj o, Obj::Make(j, path));
  BankDigests out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string bank_path = o.Path(it.key());
    absl::StatusOr<uint16_t> alg = attest::HashAlgFromName(it.key());
    if (!alg.ok())
      return FieldError(bank_path, "unknown bank (sha1, sha256, sha384, sha512, sm3_256)");
    ASSIGN_OR_RETURN(std::string hex, AsString(*it, bank_path));
    absl::StatusOr<Bytes> bytes = attest::HexDecode(hex);
    if (!bytes.ok()) return FieldError(bank_path, bytes.status().message());
    const std::optional<size_t> size = attest::KnownDigestSize(*alg);
    if (!size.has_value() || bytes->size() != *size) {
      return FieldError(bank_path, absl::StrCat(bytes->size(), " bytes, a ", it.key(),
                                                " digest has ", size.value_or(0)));
    }
    out[*alg] = *std::move(bytes);
  }
  if (out.empty()) return FieldError(path, "at least one bank digest is required");
  return out;
}

absl::StatusOr<BankDigests> RequireDigests(Obj& o, const std::string& key) {
  ASSIGN_OR_RETURN(const json* v, o.Require(key));
  return ParseDigests(*v, o.Path(key));
}

absl::StatusOr<uint32_t> ParsePcrIndex(const json& j, const std::string& path) {
  ASSIGN_OR_RETURN(uint64_t v, AsUnsigned(j, path));
  if (v > attest::kMaxPcrIndex)
    return FieldError(path, absl::StrCat(v, " is not a PCR index 0-23"));
  return static_cast<uint32_t>(v);
}

absl::StatusOr<Metadata> ParseMetadata(Obj& doc, bool version_required) {
  ASSIGN_OR_RETURN(const json* m, doc.Require("metadata"));
  ASSIGN_OR_RETURN(Obj o, Obj::Make(*m, "metadata"));
  Metadata md;
  ASSIGN_OR_RETURN(md.name, o.String("name"));
  RETURN_IF_ERROR(CheckName(md.name, o.Path("name"), false));
  if (version_required) {
    ASSIGN_OR_RETURN(md.version, o.String("version"));
  } else {
    ASSIGN_OR_RETURN(md.version, o.StringOr("version", ""));
  }
  RETURN_IF_ERROR(CheckName(md.version, o.Path("version"), !version_required));
  ASSIGN_OR_RETURN(md.description, o.StringOr("description", ""));
  RETURN_IF_ERROR(o.Done());
  return md;
}

absl::StatusOr<SignatureEntry> ParseSignatureEntry(const json& j, const std::string& path) {
  ASSIGN_OR_RETURN(Obj o, Obj::Make(j, path));
  SignatureEntry e;
  ASSIGN_OR_RETURN(e.type, o.String("type"));
  if (e.type.empty()) return FieldError(o.Path("type"), "must not be empty");
  ASSIGN_OR_RETURN(std::string hex, o.String("sha256"));
  absl::StatusOr<Bytes> b = attest::HexDecode(hex);
  if (!b.ok()) return FieldError(o.Path("sha256"), b.status().message());
  if (b->size() != 32) {
    return FieldError(o.Path("sha256"), absl::StrCat(b->size(), " bytes, a sha256 digest has 32"));
  }
  e.sha256 = *std::move(b);
  ASSIGN_OR_RETURN(e.description, o.StringOr("description", ""));
  RETURN_IF_ERROR(o.Done());
  return e;
}

absl::StatusOr<std::vector<SignatureEntry>> ParseSignatureEntries(Obj& o, const std::string& key) {
  std::vector<SignatureEntry> out;
  ASSIGN_OR_RETURN(auto items, o.List(key));
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(SignatureEntry e, ParseSignatureEntry(*items[i], IndexPath(o.Path(key), i)));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::optional<std::vector<SignatureEntry>>> ParseOptSignatureEntries(
    Obj& o, const std::string& key) {
  // Distinguish "absent" (not checked) from "[]" (must be empty).
  const json* v = o.Get(key);
  if (v == nullptr) return std::optional<std::vector<SignatureEntry>>();
  ASSIGN_OR_RETURN(auto entries, ParseSignatureEntries(o, key));
  return std::optional<std::vector<SignatureEntry>>(std::move(entries));
}

absl::StatusOr<ExpectedEvent> ParseExpectedEvent(const json& j, const std::string& path) {
  ASSIGN_OR_RETURN(Obj o, Obj::Make(j, path));
  ExpectedEvent e;
  ASSIGN_OR_RETURN(const json* pcr, o.Require("pcr"));
  ASSIGN_OR_RETURN(e.pcr, ParsePcrIndex(*pcr, o.Path("pcr")));
  ASSIGN_OR_RETURN(e.type, o.StringOr("type", ""));
  ASSIGN_OR_RETURN(e.digests, RequireDigests(o, "digests"));
  ASSIGN_OR_RETURN(e.description, o.StringOr("description", ""));
  RETURN_IF_ERROR(o.Done());
  return e;
}

absl::StatusOr<std::vector<ExpectedEvent>> ParseExpectedEvents(Obj& o, const std::string& key) {
  std::vector<ExpectedEvent> out;
  ASSIGN_OR_RETURN(auto items, o.List(key));
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(ExpectedEvent e, ParseExpectedEvent(*items[i], IndexPath(o.Path(key), i)));
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<GoldenImage> ParseGoldenImage(Obj& doc) {
  GoldenImage img;
  ASSIGN_OR_RETURN(img.metadata, ParseMetadata(doc, true));
  ASSIGN_OR_RETURN(const json* spec_json, doc.Require("spec"));
  ASSIGN_OR_RETURN(Obj spec, Obj::Make(*spec_json, "spec"));

  ASSIGN_OR_RETURN(auto chain, spec.List("bootChain"));
  for (size_t i = 0; i < chain.size(); ++i) {
    ASSIGN_OR_RETURN(Obj a, Obj::Make(*chain[i], IndexPath(spec.Path("bootChain"), i)));
    BootApplication app;
    ASSIGN_OR_RETURN(app.name, a.StringOr("name", ""));
    ASSIGN_OR_RETURN(app.digests, RequireDigests(a, "digests"));
    RETURN_IF_ERROR(a.Done());
    img.boot_chain.push_back(std::move(app));
  }

  if (const json* g = spec.Get("grub")) {
    ASSIGN_OR_RETURN(Obj grub, Obj::Make(*g, spec.Path("grub")));
    if (grub.Get("commands") != nullptr) {
      std::vector<std::string> cmds;
      ASSIGN_OR_RETURN(auto items, grub.List("commands"));
      for (size_t i = 0; i < items.size(); ++i) {
        ASSIGN_OR_RETURN(std::string c, AsString(*items[i], IndexPath(grub.Path("commands"), i)));
        cmds.push_back(std::move(c));
      }
      img.grub.commands = std::move(cmds);
    }
    ASSIGN_OR_RETURN(auto files, grub.List("files"));
    for (size_t i = 0; i < files.size(); ++i) {
      ASSIGN_OR_RETURN(Obj f, Obj::Make(*files[i], IndexPath(grub.Path("files"), i)));
      MeasuredFile mf;
      ASSIGN_OR_RETURN(mf.path, f.StringOr("path", ""));
      ASSIGN_OR_RETURN(mf.digests, RequireDigests(f, "digests"));
      RETURN_IF_ERROR(f.Done());
      img.grub.files.push_back(std::move(mf));
    }
    RETURN_IF_ERROR(grub.Done());
  }

  ASSIGN_OR_RETURN(img.kernel_cmdline, spec.OptString("kernelCmdline"));
  if (const json* v = spec.Get("linuxLoadOptions")) {
    ASSIGN_OR_RETURN(BankDigests d, ParseDigests(*v, spec.Path("linuxLoadOptions")));
    img.linux_load_options = std::move(d);
  }
  if (const json* v = spec.Get("linuxInitrd")) {
    ASSIGN_OR_RETURN(BankDigests d, ParseDigests(*v, spec.Path("linuxInitrd")));
    img.linux_initrd = std::move(d);
  }

  ASSIGN_OR_RETURN(auto sections, spec.List("ukiSections"));
  for (size_t i = 0; i < sections.size(); ++i) {
    ASSIGN_OR_RETURN(Obj s, Obj::Make(*sections[i], IndexPath(spec.Path("ukiSections"), i)));
    UkiSection sec;
    ASSIGN_OR_RETURN(sec.name, s.String("name"));
    if (sec.name.empty()) return FieldError(s.Path("name"), "must not be empty");
    ASSIGN_OR_RETURN(sec.digests, RequireDigests(s, "digests"));
    RETURN_IF_ERROR(s.Done());
    img.uki_sections.push_back(std::move(sec));
  }

  ASSIGN_OR_RETURN(const json* sb_json, spec.Require("secureBoot"));
  ASSIGN_OR_RETURN(Obj sb, Obj::Make(*sb_json, spec.Path("secureBoot")));
  ASSIGN_OR_RETURN(const json* enabled, sb.Require("enabled"));
  ASSIGN_OR_RETURN(img.secure_boot.enabled, AsBool(*enabled, sb.Path("enabled")));
  ASSIGN_OR_RETURN(img.secure_boot.pk, ParseOptSignatureEntries(sb, "pk"));
  ASSIGN_OR_RETURN(img.secure_boot.kek, ParseOptSignatureEntries(sb, "kek"));
  ASSIGN_OR_RETURN(img.secure_boot.db, ParseOptSignatureEntries(sb, "db"));
  ASSIGN_OR_RETURN(img.secure_boot.dbx_required, ParseSignatureEntries(sb, "dbxRequired"));
  ASSIGN_OR_RETURN(img.secure_boot.authorities, ParseOptSignatureEntries(sb, "authorities"));
  ASSIGN_OR_RETURN(img.secure_boot.sbat_level, sb.OptString("sbatLevel"));
  RETURN_IF_ERROR(sb.Done());

  if (spec.Get("mok") != nullptr) img.mok.emplace();
  ASSIGN_OR_RETURN(auto mok, spec.List("mok"));
  for (size_t i = 0; i < mok.size(); ++i) {
    ASSIGN_OR_RETURN(Obj m, Obj::Make(*mok[i], IndexPath(spec.Path("mok"), i)));
    NamedMeasurement nm;
    ASSIGN_OR_RETURN(nm.name, m.String("name"));
    ASSIGN_OR_RETURN(nm.digests, RequireDigests(m, "digests"));
    RETURN_IF_ERROR(m.Done());
    img.mok->push_back(std::move(nm));
  }
  ASSIGN_OR_RETURN(img.other_events, ParseExpectedEvents(spec, "otherEvents"));
  for (size_t i = 0; i < img.other_events.size(); ++i) {
    const uint32_t p = img.other_events[i].pcr;
    if (p != 4 && p != 5 && p != 7 && p != 8 && p != 9 && p != 11 && p != 14) {
      return FieldError(IndexPath(spec.Path("otherEvents"), i) + ".pcr",
                        absl::StrCat("PCR ", p, " is not an image PCR (4, 5, 7, 8, 9, 11, 14)"));
    }
  }
  RETURN_IF_ERROR(spec.Done());
  return img;
}

absl::StatusOr<std::vector<uint32_t>> ParsePcrList(Obj& o, const std::string& key) {
  std::vector<uint32_t> out;
  ASSIGN_OR_RETURN(auto items, o.List(key));
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(uint32_t p, ParsePcrIndex(*items[i], IndexPath(o.Path(key), i)));
    if (std::find(out.begin(), out.end(), p) != out.end()) {
      return FieldError(IndexPath(o.Path(key), i), absl::StrCat("PCR ", p, " listed twice"));
    }
    out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<PlatformReference> ParsePlatform(Obj& doc) {
  PlatformReference p;
  ASSIGN_OR_RETURN(p.metadata, ParseMetadata(doc, true));
  ASSIGN_OR_RETURN(const json* spec_json, doc.Require("spec"));
  ASSIGN_OR_RETURN(Obj spec, Obj::Make(*spec_json, "spec"));
  ASSIGN_OR_RETURN(p.manufacturer, spec.StringOr("manufacturer", ""));
  ASSIGN_OR_RETURN(p.model, spec.StringOr("model", ""));
  ASSIGN_OR_RETURN(p.firmware_version, spec.StringOr("firmwareVersion", ""));
  ASSIGN_OR_RETURN(p.scrtm_version, spec.OptString("scrtmVersion"));
  if (spec.Get("pcrs") != nullptr) {
    ASSIGN_OR_RETURN(p.pcrs, ParsePcrList(spec, "pcrs"));
    for (uint32_t pcr : p.pcrs) {
      if (pcr > 3 && pcr != 6) {
        return FieldError(spec.Path("pcrs"),
                          absl::StrCat("PCR ", pcr, " is not a platform PCR (0, 1, 2, 3, 6)"));
      }
    }
  } else {
    p.pcrs = {0, 1, 2, 3, 6};
  }
  ASSIGN_OR_RETURN(p.events, ParseExpectedEvents(spec, "events"));
  for (size_t i = 0; i < p.events.size(); ++i) {
    if (std::find(p.pcrs.begin(), p.pcrs.end(), p.events[i].pcr) == p.pcrs.end()) {
      return FieldError(IndexPath(spec.Path("events"), i) + ".pcr",
                        absl::StrCat("PCR ", p.events[i].pcr, " is not in spec.pcrs"));
    }
  }
  RETURN_IF_ERROR(spec.Done());
  return p;
}

absl::StatusOr<absl::Time> ParseTime(const json& j, const std::string& path) {
  ASSIGN_OR_RETURN(std::string s, AsString(j, path));
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    return FieldError(path, absl::StrCat("'", s, "' is not an RFC 3339 time (", err, ")"));
  }
  return t;
}

absl::StatusOr<Policy> ParsePolicy(Obj& doc) {
  Policy p;
  ASSIGN_OR_RETURN(p.metadata, ParseMetadata(doc, false));
  ASSIGN_OR_RETURN(const json* spec_json, doc.Require("spec"));
  ASSIGN_OR_RETURN(Obj spec, Obj::Make(*spec_json, "spec"));
  if (spec.Get("banks") != nullptr) {
    ASSIGN_OR_RETURN(auto items, spec.List("banks"));
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string path = IndexPath(spec.Path("banks"), i);
      ASSIGN_OR_RETURN(std::string name, AsString(*items[i], path));
      absl::StatusOr<uint16_t> alg = attest::HashAlgFromName(name);
      if (!alg.ok()) return FieldError(path, absl::StrCat("unknown bank '", name, "'"));
      if (std::find(p.banks.begin(), p.banks.end(), *alg) != p.banks.end()) {
        return FieldError(path, absl::StrCat("bank ", name, " listed twice"));
      }
      p.banks.push_back(*alg);
    }
    if (p.banks.empty()) return FieldError(spec.Path("banks"), "at least one bank is required");
    std::sort(p.banks.begin(), p.banks.end());
  } else {
    p.banks = {static_cast<uint16_t>(attest::HashAlg::kSha256)};
  }
  if (spec.Get("pcrs") != nullptr) {
    ASSIGN_OR_RETURN(p.pcrs, ParsePcrList(spec, "pcrs"));
    if (p.pcrs.empty()) return FieldError(spec.Path("pcrs"), "at least one PCR is required");
    for (uint32_t pcr : p.pcrs) {
      if (pcr == 10 || pcr == 12 || pcr == 13 || pcr > 14) {
        return FieldError(spec.Path("pcrs"),
                          absl::StrCat("PCR ", pcr,
                                       " is not described by golden images or "
                                       "platform references (enforceable: 0-9, 11, 14)"));
      }
    }
  } else {
    p.pcrs = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14};
  }
  ASSIGN_OR_RETURN(auto groups, spec.List("groups"));
  if (groups.empty()) return FieldError(spec.Path("groups"), "at least one group is required");
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    ASSIGN_OR_RETURN(Obj g, Obj::Make(*groups[gi], IndexPath(spec.Path("groups"), gi)));
    NodeGroup group;
    ASSIGN_OR_RETURN(group.name, g.String("name"));
    RETURN_IF_ERROR(CheckName(group.name, g.Path("name"), false));
    if (const json* sel = g.Get("selector")) {
      ASSIGN_OR_RETURN(Obj s, Obj::Make(*sel, g.Path("selector")));
      for (auto it = sel->begin(); it != sel->end(); ++it) {
        ASSIGN_OR_RETURN(std::string v, s.String(it.key()));
        group.selector[it.key()] = std::move(v);
      }
    }
    ASSIGN_OR_RETURN(auto images, g.List("images"));
    for (size_t i = 0; i < images.size(); ++i) {
      ASSIGN_OR_RETURN(Obj r, Obj::Make(*images[i], IndexPath(g.Path("images"), i)));
      ImageRef ref;
      ASSIGN_OR_RETURN(ref.name, r.String("name"));
      ASSIGN_OR_RETURN(ref.version, r.String("version"));
      if (const json* t = r.Get("notBefore")) {
        ASSIGN_OR_RETURN(absl::Time v, ParseTime(*t, r.Path("notBefore")));
        ref.not_before = v;
      }
      if (const json* t = r.Get("notAfter")) {
        ASSIGN_OR_RETURN(absl::Time v, ParseTime(*t, r.Path("notAfter")));
        ref.not_after = v;
      }
      if (ref.not_before && ref.not_after && *ref.not_before >= *ref.not_after) {
        return FieldError(r.path(), "notBefore must be earlier than notAfter");
      }
      RETURN_IF_ERROR(r.Done());
      group.images.push_back(std::move(ref));
    }
    if (group.images.empty()) return FieldError(g.Path("images"), "at least one image is required");
    ASSIGN_OR_RETURN(auto platforms, g.List("platforms"));
    for (size_t i = 0; i < platforms.size(); ++i) {
      ASSIGN_OR_RETURN(Obj r, Obj::Make(*platforms[i], IndexPath(g.Path("platforms"), i)));
      PlatformRef ref;
      ASSIGN_OR_RETURN(ref.name, r.String("name"));
      ASSIGN_OR_RETURN(ref.version, r.String("version"));
      ASSIGN_OR_RETURN(auto quirks, r.List("quirks"));
      for (size_t q = 0; q < quirks.size(); ++q) {
        const std::string path = IndexPath(r.Path("quirks"), q);
        ASSIGN_OR_RETURN(std::string name, AsString(*quirks[q], path));
        if (name != kQuirkApplicationBeforeBootOption && name != kQuirkExitBootServicesMissing) {
          return FieldError(path, absl::StrCat("unknown quirk '", name,
                                               "' (known: ", kQuirkApplicationBeforeBootOption,
                                               ", ", kQuirkExitBootServicesMissing, ")"));
        }
        ref.quirks.push_back(std::move(name));
      }
      RETURN_IF_ERROR(r.Done());
      group.platforms.push_back(std::move(ref));
    }
    RETURN_IF_ERROR(g.Done());
    p.groups.push_back(std::move(group));
  }
  ASSIGN_OR_RETURN(auto warn, spec.List("warnOnly"));
  for (size_t i = 0; i < warn.size(); ++i) {
    const std::string path = IndexPath(spec.Path("warnOnly"), i);
    ASSIGN_OR_RETURN(std::string code, AsString(*warn[i], path));
    if (!codes::IsKnownCode(code)) {
      return FieldError(path, absl::StrCat("unknown finding code '", code, "'"));
    }
    p.warn_only.push_back(std::move(code));
  }
  RETURN_IF_ERROR(spec.Done());
  return p;
}

absl::StatusOr<PolicySignature> ParseSignatureDoc(Obj& doc) {
  if (const json* m = doc.Get("metadata")) {
    ASSIGN_OR_RETURN(Obj o, Obj::Make(*m, "metadata"));
    ASSIGN_OR_RETURN(std::string unused_name, o.StringOr("name", ""));
    ASSIGN_OR_RETURN(std::string unused_desc, o.StringOr("description", ""));
    RETURN_IF_ERROR(o.Done());
  }
  ASSIGN_OR_RETURN(const json* spec_json, doc.Require("spec"));
  ASSIGN_OR_RETURN(Obj spec, Obj::Make(*spec_json, "spec"));
  PolicySignature sig;
  ASSIGN_OR_RETURN(sig.algorithm, spec.String("algorithm"));
  if (sig.algorithm != kSigAlgEcdsaP256Sha256 && sig.algorithm != kSigAlgEd25519) {
    return FieldError(spec.Path("algorithm"), absl::StrCat("unknown algorithm '", sig.algorithm,
                                                           "' (known: ", kSigAlgEcdsaP256Sha256,
                                                           ", ", kSigAlgEd25519, ")"));
  }
  ASSIGN_OR_RETURN(sig.key_id, spec.StringOr("keyId", ""));
  ASSIGN_OR_RETURN(std::string b64, spec.String("signature"));
  std::string raw;
  if (!absl::Base64Unescape(b64, &raw) || raw.empty()) {
    return FieldError(spec.Path("signature"), "not base64");
  }
  sig.signature = attest::ToBytes(raw);
  RETURN_IF_ERROR(spec.Done());
  return sig;
}

absl::Status ParseDocument(const json& j, PolicySet* set) {
  ASSIGN_OR_RETURN(Obj doc, Obj::Make(j, ""));
  ASSIGN_OR_RETURN(const json* api, doc.Require("apiVersion"));
  ASSIGN_OR_RETURN(std::string api_version, AsString(*api, "apiVersion"));
  if (api_version != kApiVersion) {
    return FieldError("apiVersion", absl::StrCat("'", api_version, "' is not supported (expected ",
                                                 kApiVersion, ")"));
  }
  ASSIGN_OR_RETURN(std::string kind, doc.String("kind"));
  if (kind == kKindGoldenImage) {
    ASSIGN_OR_RETURN(GoldenImage img, ParseGoldenImage(doc));
    set->images.push_back(std::move(img));
  } else if (kind == kKindPlatformReference) {
    ASSIGN_OR_RETURN(PlatformReference p, ParsePlatform(doc));
    set->platforms.push_back(std::move(p));
  } else if (kind == kKindPolicy) {
    ASSIGN_OR_RETURN(Policy p, ParsePolicy(doc));
    set->policies.push_back(std::move(p));
  } else if (kind == kKindPolicySignature) {
    ASSIGN_OR_RETURN(PolicySignature s, ParseSignatureDoc(doc));
    set->signatures.push_back(std::move(s));
  } else {
    return FieldError("kind", absl::StrCat("unknown kind '", kind,
                                           "' (known: GoldenImage, "
                                           "PlatformReference, Policy, PolicySignature)"));
  }
  return doc.Done();
}

std::string DocLabel(const json& j, size_t index) {
  std::string label = absl::StrCat("document ", index);
  if (j.is_object()) {
    auto kind = j.find("kind");
    auto md = j.find("metadata");
    if (kind != j.end() && kind->is_string()) {
      absl::StrAppend(&label, " (", kind->get<std::string>());
      if (md != j.end() && md->is_object()) {
        auto name = md->find("name");
        if (name != md->end() && name->is_string()) {
          absl::StrAppend(&label, " ", name->get<std::string>());
        }
      }
      absl::StrAppend(&label, ")");
    }
  }
  return label;
}

// ---- model -> JSON ---------------------------------------------------------------------------

json DigestsJson(const BankDigests& d) {
  json j = json::object();
  for (const auto& [alg, bytes] : d) j[attest::HashAlgName(alg)] = attest::HexEncode(bytes);
  return j;
}

json MetadataJson(const Metadata& m) {
  json j = json::object();
  j["name"] = m.name;
  if (!m.version.empty()) j["version"] = m.version;
  if (!m.description.empty()) j["description"] = m.description;
  return j;
}

json EntriesJson(const std::vector<SignatureEntry>& entries) {
  json arr = json::array();
  for (const SignatureEntry& e : entries) {
    json j = {{"type", e.type}, {"sha256", attest::HexEncode(e.sha256)}};
    if (!e.description.empty()) j["description"] = e.description;
    arr.push_back(std::move(j));
  }
  return arr;
}

json EventsJson(const std::vector<ExpectedEvent>& events) {
  json arr = json::array();
  for (const ExpectedEvent& e : events) {
    json j = {{"pcr", e.pcr}, {"digests", DigestsJson(e.digests)}};
    if (!e.type.empty()) j["type"] = e.type;
    if (!e.description.empty()) j["description"] = e.description;
    arr.push_back(std::move(j));
  }
  return arr;
}

json Envelope(const char* kind, json metadata, json spec) {
  json j = json::object();
  j["apiVersion"] = kApiVersion;
  j["kind"] = kind;
  if (!metadata.is_null()) j["metadata"] = std::move(metadata);
  j["spec"] = std::move(spec);
  return j;
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

// Dump that never throws (invalid UTF-8 cannot come from the loader; learn escapes its text).
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// ---- JSON -> YAML ----------------------------------------------------------------------------

void EmitJson(const json& j, YAML::Emitter* out) {
  if (j.is_object()) {
    if (j.empty()) *out << YAML::Flow;
    *out << YAML::BeginMap;
    // "name" and "version" first (readable); the rest in sorted order.
    for (const char* first : {"name", "version"}) {
      auto it = j.find(first);
      if (it == j.end()) continue;
      *out << YAML::Key << first << YAML::Value;
      EmitJson(*it, out);
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "name" || it.key() == "version") continue;
      *out << YAML::Key << it.key() << YAML::Value;
      EmitJson(*it, out);
    }
    *out << YAML::EndMap;
  } else if (j.is_array()) {
    const bool scalars = std::all_of(
        j.begin(), j.end(), [](const json& item) { return !item.is_object() && !item.is_array(); });
    if (scalars && (j.empty() || j.front().is_number())) *out << YAML::Flow;
    *out << YAML::BeginSeq;
    for (const json& item : j) EmitJson(item, out);
    *out << YAML::EndSeq;
  } else if (j.is_string()) {
    *out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_boolean()) {
    *out << (j.get<bool>() ? "true" : "false");
  } else if (j.is_number_unsigned()) {
    *out << j.get<uint64_t>();
  } else if (j.is_number_integer()) {
    *out << j.get<int64_t>();
  } else {
    *out << YAML::Null;
  }
}

// Key order for YAML output: apiVersion, kind, metadata, spec (readable); nested keys sorted.
void EmitDocument(const json& doc, YAML::Emitter* out) {
  *out << YAML::BeginDoc << YAML::BeginMap;
  for (const char* key : {"apiVersion", "kind", "metadata", "spec"}) {
    auto it = doc.find(key);
    if (it == doc.end()) continue;
    *out << YAML::Key << key << YAML::Value;
    EmitJson(*it, out);
  }
  *out << YAML::EndMap;
}

}  // namespace

// ---- public ----------------------------------------------------------------------------------

absl::StatusOr<PolicySet> ParsePolicyDocuments(absl::string_view text, absl::string_view source) {
  ASSIGN_OR_RETURN(std::vector<json> docs, YamlDocumentsToJson(text, source));
  if (docs.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no documents"));
  PolicySet set;
  for (size_t i = 0; i < docs.size(); ++i) {
    absl::Status st = ParseDocument(docs[i], &set);
    if (!st.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": ", DocLabel(docs[i], i + 1), ": ", st.message()));
    }
  }
  return set;
}

void MergePolicySets(PolicySet more, PolicySet* set) {
  for (auto& x : more.images) set->images.push_back(std::move(x));
  for (auto& x : more.platforms) set->platforms.push_back(std::move(x));
  for (auto& x : more.policies) set->policies.push_back(std::move(x));
  for (auto& x : more.signatures) set->signatures.push_back(std::move(x));
}

const GoldenImage* FindImage(const PolicySet& set, const std::string& name,
                             const std::string& version) {
  for (const GoldenImage& i : set.images) {
    if (i.metadata.name == name && i.metadata.version == version) return &i;
  }
  return nullptr;
}

const PlatformReference* FindPlatform(const PolicySet& set, const std::string& name,
                                      const std::string& version) {
  for (const PlatformReference& p : set.platforms) {
    if (p.metadata.name == name && p.metadata.version == version) return &p;
  }
  return nullptr;
}

namespace {

absl::Status CheckBanks(const BankDigests& d, const std::vector<uint16_t>& banks,
                        const std::string& where) {
  for (uint16_t alg : banks) {
    if (!d.count(alg)) {
      return absl::InvalidArgumentError(absl::StrCat(where, " has no ", attest::HashAlgName(alg),
                                                     " digest, but the policy enforces that bank"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckImageBanks(const GoldenImage& img, const std::vector<uint16_t>& banks) {
  const std::string id =
      absl::StrCat("GoldenImage ", img.metadata.name, "@", img.metadata.version, ": ");
  for (size_t i = 0; i < img.boot_chain.size(); ++i) {
    RETURN_IF_ERROR(
        CheckBanks(img.boot_chain[i].digests, banks, absl::StrCat(id, "spec.bootChain[", i, "]")));
  }
  for (size_t i = 0; i < img.grub.files.size(); ++i) {
    RETURN_IF_ERROR(
        CheckBanks(img.grub.files[i].digests, banks, absl::StrCat(id, "spec.grub.files[", i, "]")));
  }
  if (img.linux_load_options) {
    RETURN_IF_ERROR(CheckBanks(*img.linux_load_options, banks, id + "spec.linuxLoadOptions"));
  }
  if (img.linux_initrd) {
    RETURN_IF_ERROR(CheckBanks(*img.linux_initrd, banks, id + "spec.linuxInitrd"));
  }
  for (size_t i = 0; i < img.uki_sections.size(); ++i) {
    RETURN_IF_ERROR(CheckBanks(img.uki_sections[i].digests, banks,
                               absl::StrCat(id, "spec.ukiSections[", i, "]")));
  }
  for (size_t i = 0; img.mok && i < img.mok->size(); ++i) {
    RETURN_IF_ERROR(
        CheckBanks((*img.mok)[i].digests, banks, absl::StrCat(id, "spec.mok[", i, "]")));
  }
  for (size_t i = 0; i < img.other_events.size(); ++i) {
    RETURN_IF_ERROR(CheckBanks(img.other_events[i].digests, banks,
                               absl::StrCat(id, "spec.otherEvents[", i, "]")));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidatePolicySet(const PolicySet& set) {
  if (set.policies.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a policy set needs exactly one Policy document, found ", set.policies.size()));
  }
  std::set<std::tuple<std::string, std::string, std::string>> ids;
  auto add = [&](const char* kind, const Metadata& m) -> absl::Status {
    if (!ids.insert({kind, m.name, m.version}).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate ", kind, " ", m.name, "@", m.version));
    }
    return absl::OkStatus();
  };
  for (const auto& i : set.images) RETURN_IF_ERROR(add(kKindGoldenImage, i.metadata));
  for (const auto& p : set.platforms) RETURN_IF_ERROR(add(kKindPlatformReference, p.metadata));
  const Policy& policy = set.policies[0];
  const bool platform_pcrs_enforced = std::any_of(policy.pcrs.begin(), policy.pcrs.end(),
                                                  [](uint32_t p) { return p <= 3 || p == 6; });
  std::set<std::string> group_names;
  for (const NodeGroup& g : policy.groups) {
    if (!group_names.insert(g.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("Policy ", policy.metadata.name, ": group ", g.name, " defined twice"));
    }
    for (const ImageRef& ref : g.images) {
      const GoldenImage* img = FindImage(set, ref.name, ref.version);
      if (img == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("Policy ", policy.metadata.name, ": group ", g.name, " names GoldenImage ",
                         ref.name, "@", ref.version, ", which is not in the policy set"));
      }
      RETURN_IF_ERROR(CheckImageBanks(*img, policy.banks));
    }
    if (platform_pcrs_enforced && g.platforms.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("Policy ", policy.metadata.name, ": group ", g.name,
                       " lists no platforms, but platform PCRs (0-3, 6) are enforced"));
    }
    for (const PlatformRef& ref : g.platforms) {
      const PlatformReference* p = FindPlatform(set, ref.name, ref.version);
      if (p == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Policy ", policy.metadata.name, ": group ", g.name, " names PlatformReference ",
            ref.name, "@", ref.version, ", which is not in the policy set"));
      }
      for (size_t i = 0; i < p->events.size(); ++i) {
        RETURN_IF_ERROR(CheckBanks(p->events[i].digests, policy.banks,
                                   absl::StrCat("PlatformReference ", ref.name, "@", ref.version,
                                                ": spec.events[", i, "]")));
      }
    }
  }
  return absl::OkStatus();
}

json ToJson(const GoldenImage& img) {
  json spec = json::object();
  json chain = json::array();
  for (const BootApplication& a : img.boot_chain) {
    json j = {{"digests", DigestsJson(a.digests)}};
    if (!a.name.empty()) j["name"] = a.name;
    chain.push_back(std::move(j));
  }
  spec["bootChain"] = std::move(chain);
  json grub = json::object();
  if (img.grub.commands) grub["commands"] = *img.grub.commands;
  json files = json::array();
  for (const MeasuredFile& f : img.grub.files) {
    json j = {{"digests", DigestsJson(f.digests)}};
    if (!f.path.empty()) j["path"] = f.path;
    files.push_back(std::move(j));
  }
  grub["files"] = std::move(files);
  spec["grub"] = std::move(grub);
  if (img.kernel_cmdline) spec["kernelCmdline"] = *img.kernel_cmdline;
  if (img.linux_load_options) spec["linuxLoadOptions"] = DigestsJson(*img.linux_load_options);
  if (img.linux_initrd) spec["linuxInitrd"] = DigestsJson(*img.linux_initrd);
  json sections = json::array();
  for (const UkiSection& s : img.uki_sections) {
    sections.push_back({{"name", s.name}, {"digests", DigestsJson(s.digests)}});
  }
  spec["ukiSections"] = std::move(sections);
  json sb = json::object();
  sb["enabled"] = img.secure_boot.enabled;
  if (img.secure_boot.pk) sb["pk"] = EntriesJson(*img.secure_boot.pk);
  if (img.secure_boot.kek) sb["kek"] = EntriesJson(*img.secure_boot.kek);
  if (img.secure_boot.db) sb["db"] = EntriesJson(*img.secure_boot.db);
  sb["dbxRequired"] = EntriesJson(img.secure_boot.dbx_required);
  if (img.secure_boot.authorities) sb["authorities"] = EntriesJson(*img.secure_boot.authorities);
  if (img.secure_boot.sbat_level) sb["sbatLevel"] = *img.secure_boot.sbat_level;
  spec["secureBoot"] = std::move(sb);
  if (img.mok) {
    json mok = json::array();
    for (const NamedMeasurement& m : *img.mok) {
      mok.push_back({{"name", m.name}, {"digests", DigestsJson(m.digests)}});
    }
    spec["mok"] = std::move(mok);
  }
  spec["otherEvents"] = EventsJson(img.other_events);
  return Envelope(kKindGoldenImage, MetadataJson(img.metadata), std::move(spec));
}

json ToJson(const PlatformReference& p) {
  json spec = json::object();
  if (!p.manufacturer.empty()) spec["manufacturer"] = p.manufacturer;
  if (!p.model.empty()) spec["model"] = p.model;
  if (!p.firmware_version.empty()) spec["firmwareVersion"] = p.firmware_version;
  if (p.scrtm_version) spec["scrtmVersion"] = *p.scrtm_version;
  spec["pcrs"] = p.pcrs;
  spec["events"] = EventsJson(p.events);
  return Envelope(kKindPlatformReference, MetadataJson(p.metadata), std::move(spec));
}

json ToJson(const Policy& p) {
  json spec = json::object();
  json banks = json::array();
  for (uint16_t alg : p.banks) banks.push_back(attest::HashAlgName(alg));
  spec["banks"] = std::move(banks);
  spec["pcrs"] = p.pcrs;
  json groups = json::array();
  for (const NodeGroup& g : p.groups) {
    json gj = json::object();
    gj["name"] = g.name;
    json sel = json::object();
    for (const auto& [k, v] : g.selector) sel[k] = v;
    gj["selector"] = std::move(sel);
    json images = json::array();
    for (const ImageRef& r : g.images) {
      json rj = {{"name", r.name}, {"version", r.version}};
      if (r.not_before) rj["notBefore"] = TimeText(*r.not_before);
      if (r.not_after) rj["notAfter"] = TimeText(*r.not_after);
      images.push_back(std::move(rj));
    }
    gj["images"] = std::move(images);
    json platforms = json::array();
    for (const PlatformRef& r : g.platforms) {
      json rj = {{"name", r.name}, {"version", r.version}};
      if (!r.quirks.empty()) rj["quirks"] = r.quirks;
      platforms.push_back(std::move(rj));
    }
    gj["platforms"] = std::move(platforms);
    groups.push_back(std::move(gj));
  }
  spec["groups"] = std::move(groups);
  if (!p.warn_only.empty()) spec["warnOnly"] = p.warn_only;
  return Envelope(kKindPolicy, MetadataJson(p.metadata), std::move(spec));
}

json ToJson(const PolicySignature& s) {
  json spec = json::object();
  spec["algorithm"] = s.algorithm;
  if (!s.key_id.empty()) spec["keyId"] = s.key_id;
  spec["signature"] = absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(s.signature.data()), s.signature.size()));
  return Envelope(kKindPolicySignature, json(), std::move(spec));
}

std::string CanonicalBytes(const PolicySet& set) {
  // (kind order, name, version) -> document.
  std::vector<std::tuple<int, std::string, std::string, json>> docs;
  for (const Policy& p : set.policies) {
    docs.emplace_back(0, p.metadata.name, p.metadata.version, ToJson(p));
  }
  for (const GoldenImage& i : set.images) {
    docs.emplace_back(1, i.metadata.name, i.metadata.version, ToJson(i));
  }
  for (const PlatformReference& p : set.platforms) {
    docs.emplace_back(2, p.metadata.name, p.metadata.version, ToJson(p));
  }
  std::stable_sort(docs.begin(), docs.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
  });
  json arr = json::array();
  for (auto& d : docs) arr.push_back(std::move(std::get<3>(d)));
  return Dump(arr);
}

std::string PolicyVersionId(const PolicySet& set) {
  const std::string bytes = CanonicalBytes(set);
  absl::StatusOr<Bytes> digest =
      attest::Hash(static_cast<uint16_t>(attest::HashAlg::kSha256), attest::AsSpan(bytes));
  const std::string name = set.policies.empty() ? "documents" : set.policies[0].metadata.name;
  const std::string hex = digest.ok() ? attest::HexEncode(*digest).substr(0, 16) : "unavailable";
  return absl::StrCat(name, "@sha256:", hex);
}

std::string SerializeYaml(const PolicySet& set, bool with_signatures) {
  YAML::Emitter out;
  out.SetIndent(2);
  for (const Policy& p : set.policies) EmitDocument(ToJson(p), &out);
  for (const GoldenImage& i : set.images) EmitDocument(ToJson(i), &out);
  for (const PlatformReference& p : set.platforms) EmitDocument(ToJson(p), &out);
  if (with_signatures) {
    for (const PolicySignature& s : set.signatures) EmitDocument(ToJson(s), &out);
  }
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  return text;
}

std::string SerializeSignatureYaml(const PolicySignature& signature) {
  YAML::Emitter out;
  EmitDocument(ToJson(signature), &out);
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') text.push_back('\n');
  return text;
}

absl::StatusOr<PolicySignature> ParseDetachedSignature(absl::string_view text,
                                                       absl::string_view source) {
  ASSIGN_OR_RETURN(PolicySet set, ParsePolicyDocuments(text, source));
  if (set.signatures.size() != 1 || !set.images.empty() || !set.platforms.empty() ||
      !set.policies.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": a detached signature file holds exactly one PolicySignature "
                     "document and nothing else"));
  }
  return set.signatures[0];
}

}  // namespace bootgate::policy
