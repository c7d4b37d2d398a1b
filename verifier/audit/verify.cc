// bootgate audit verify: re-checks a bundle offline (docs/audit.md, "What verify checks").
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/pcr/pcr_json.h"
#include "attest/quote/quote_verifier.h"
#include "attest/tpm/key_checks.h"
#include "attest/tpm/make_credential.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "bootgate/v1/enrollment.pb.h"
#include "nlohmann/json.hpp"
#include "verifier/appraise/appraisal.h"
#include "verifier/appraise/policy_registry.h"
#include "verifier/audit/audit.h"
#include "verifier/audit/bundle_io.h"
#include "verifier/codes.h"
#include "verifier/service/context.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier::audit {

namespace {

using attest::Bytes;
using nlohmann::json;

constexpr size_t kMaxManifestBytes = 64 << 20;
constexpr size_t kMaxFileBytes = 256 << 20;

std::string B64Url(const Bytes& data) {
  std::string out;
  absl::WebSafeBase64Escape(
      absl::string_view(reinterpret_cast<const char*>(data.data()), data.size()), &out);
  return out;
}

std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

// Member access that never throws: the index is input (signed, but from a possibly broken
// exporter); nlohmann's value()/get() throw on a type mismatch.
const json& Member(const json& j, const char* key) {
  static const json* const kNull = new json(nullptr);
  if (!j.is_object()) return *kNull;
  auto it = j.find(key);
  return it == j.end() ? *kNull : *it;
}
const json& Array(const json& j, const char* key) {
  static const json* const kEmpty = new json(json::array());
  const json& m = Member(j, key);
  return m.is_array() ? m : *kEmpty;
}
bool Bool(const json& j, const char* key) {
  const json& m = Member(j, key);
  return m.is_boolean() && m.get<bool>();
}
uint64_t U64(const json& j, const char* key) {
  const json& m = Member(j, key);
  return m.is_number_unsigned() ? m.get<uint64_t>() : 0;
}

std::optional<absl::Time> OptTime(const json& j, const char* key) {
  const std::string text = Str(j, key);
  if (text.empty()) return std::nullopt;
  auto t = ParseTimeText(text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

std::string Codes(const Findings& findings) {
  std::vector<std::string> codes;
  for (const Finding& f : findings) codes.push_back(f.code);
  return codes.empty() ? "(none)" : absl::StrJoin(codes, ",");
}

std::string ClockText(const std::optional<ClockState>& c) {
  if (!c) return "(none)";
  return absl::StrCat("resetCount ", c->reset_count, " restartCount ", c->restart_count, " clock ",
                      c->clock);
}

bool SameClock(const std::optional<ClockState>& a, const std::optional<ClockState>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->clock == b->clock && a->reset_count == b->reset_count &&
         a->restart_count == b->restart_count && a->safe == b->safe;
}

class Verifier {
 public:
  explicit Verifier(const VerifyOptions& o) : o_(o) {}

  absl::StatusOr<VerifyReport> Run() {
    if (!IsDirectory(o_.bundle_dir)) {
      return absl::NotFoundError(absl::StrCat(o_.bundle_dir, ": not a bundle directory"));
    }
    if (!CheckSignatureAndFiles()) return report_;  // nothing else can be trusted
    auto index_text = Read(kIndexFile);
    if (!index_text.ok()) return report_;
    index_ = json::parse(*index_text, nullptr, false);
    if (!index_.is_object() || Str(index_, "format") != kBundleFormat ||
        !index_.value("attestations", json()).is_array() ||
        !index_.value("nodes", json()).is_array() || !index_.value("policies", json()).is_array()) {
      Problem("bundle", kBundleIndexMalformed,
              absl::StrCat(kIndexFile, " is not a ", kBundleFormat, " index"));
      return report_;
    }
    LoadPolicies();
    LoadNodes();
    CheckAttestations();
    return report_;
  }

 private:
  void Problem(std::string subject, const char* code, std::string detail) {
    report_.problems.push_back(AuditProblem{std::move(subject), code, std::move(detail)});
  }

  // A file listed in the manifest (digest already checked) or Problem + error.
  absl::StatusOr<std::string> Read(const std::string& rel) {
    if (!listed_.count(rel)) {
      Problem(absl::StrCat("file ", rel), kBundleFileMissing, "not listed in the signed manifest");
      return absl::NotFoundError(rel);
    }
    auto data = ReadFile(absl::StrCat(o_.bundle_dir, "/", rel), kMaxFileBytes);
    if (!data.ok()) {
      Problem(absl::StrCat("file ", rel), kBundleFileMissing, std::string(data.status().message()));
      return data.status();
    }
    return data;
  }
  absl::StatusOr<Bytes> ReadBytes(const std::string& rel) {
    ASSIGN_OR_RETURN(std::string data, Read(rel));
    return Bytes(data.begin(), data.end());
  }

  bool CheckSignatureAndFiles() {
    auto manifest_text =
        ReadFile(absl::StrCat(o_.bundle_dir, "/", kManifestFile), kMaxManifestBytes);
    auto jws = ReadFile(absl::StrCat(o_.bundle_dir, "/", kSignatureFile), 1 << 16);
    if (!manifest_text.ok() || !jws.ok()) {
      Problem("bundle", kBundleSignatureInvalid,
              absl::StrCat("missing ", manifest_text.ok() ? kSignatureFile : kManifestFile));
      return false;
    }
    std::string token = *jws;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    auto claims = VerifyEs256Jwt(token, o_.verifier_key);
    if (!claims.ok()) {
      Problem("bundle", kBundleSignatureInvalid,
              absl::StrCat(kSignatureFile, ": ", claims.status().message()));
      return false;
    }
    const std::string digest = Sha256Hex(attest::AsSpan(*manifest_text));
    if (Str(*claims, "bootgate.manifest-sha256") != digest) {
      Problem("bundle", kBundleSignatureInvalid,
              absl::StrCat("the signature covers manifest SHA-256 ",
                           Str(*claims, "bootgate.manifest-sha256"), ", but ", kManifestFile,
                           " has ", digest));
      return false;
    }
    const json manifest = json::parse(*manifest_text, nullptr, false);
    if (!manifest.is_object() || !manifest.value("files", json()).is_array()) {
      Problem("bundle", kBundleManifestMalformed, "manifest.json has no file list");
      return false;
    }
    for (const json& f : manifest["files"]) {
      const std::string path = Str(f, "path");
      const std::string sha = Str(f, "sha256");
      if (!CheckBundlePath(path).ok() || sha.size() != 64) {
        Problem("bundle", kBundleManifestMalformed, absl::StrCat("bad entry '", path, "'"));
        continue;
      }
      ++report_.files;
      auto data = ReadFile(absl::StrCat(o_.bundle_dir, "/", path), kMaxFileBytes);
      if (!data.ok()) {
        Problem(absl::StrCat("file ", path), kBundleFileMissing,
                std::string(data.status().message()));
        continue;
      }
      const std::string actual = Sha256Hex(attest::AsSpan(*data));
      if (actual != sha) {
        Problem(absl::StrCat("file ", path), kBundleFileModified,
                absl::StrCat("SHA-256 ", actual, " but the signed manifest says ", sha));
        continue;
      }
      listed_.insert(path);
    }
    // Anything else in the directory was not signed.
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(o_.bundle_dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      const std::string rel =
          std::filesystem::relative(it->path(), o_.bundle_dir, ec).generic_string();
      if (rel == kManifestFile || rel == kSignatureFile || listed_.count(rel)) continue;
      bool in_manifest = false;
      for (const json& f : manifest["files"]) in_manifest |= Str(f, "path") == rel;
      if (!in_manifest) {
        Problem(absl::StrCat("file ", rel), kBundleFileUnlisted,
                "present in the bundle but not in the signed manifest");
      }
    }
    return true;
  }

  void LoadPolicies() {
    for (const json& p : index_["policies"]) {
      const std::string id = Str(p, "policy_id");
      ++report_.policies;
      auto content = Read(Str(p, "file"));
      if (!content.ok()) continue;
      auto policy = ParsePolicy(Str(p, "kind"), *content, o_.policy_keys_pem);
      if (!policy.ok()) {
        Problem(absl::StrCat("policy ", id), kPolicyUnparsable,
                std::string(policy.status().message()));
        continue;
      }
      if ((*policy)->id() != id) {
        Problem(absl::StrCat("policy ", id), kPolicyIdMismatch,
                absl::StrCat("the content's id is ", (*policy)->id()));
        continue;
      }
      policies_[id] = *std::move(policy);
    }
  }

  void LoadNodes() {
    for (const json& n : index_["nodes"]) {
      ++report_.nodes;
      const std::string id = Str(n, "node_id");
      const std::string subject = absl::StrCat("node ", id);
      auto ak_public = ReadBytes(Str(n, "ak_public"));
      auto ek_public = ReadBytes(Str(n, "ek_public"));
      auto ek_cert_der = ReadBytes(Str(n, "ek_cert"));
      if (!ak_public.ok() || !ek_public.ok() || !ek_cert_der.ok()) continue;
      NodeRecord node;
      node.node_id = id;
      node.ak_public = *ak_public;
      node.ek_public = *ek_public;
      node.ek_cert = *ek_cert_der;
      node.hostname = Str(n, "hostname");
      node.revoked_at = OptTime(n, "revoked_at");
      node.revoke_reason = Str(n, "revoke_reason");
      auto ak_name = attest::HexDecode(Str(n, "ak_name"));
      if (ak_name.ok()) node.ak_name = *ak_name;
      const std::optional<absl::Time> enrolled_at = OptTime(n, "enrolled_at");

      // The fingerprints recorded with the node (and in EARs) are those of these files.
      if (Sha256Hex(node.ek_cert) != Str(n, "ek_cert_sha256")) {
        Problem(subject, kNodeEkMismatch, "ek_cert_sha256 is not the SHA-256 of ek-cert.der");
      }
      if (auto ek_area = attest::ParsePublicArea(node.ek_public); ek_area.ok()) {
        auto marshalled = attest::MarshalPublicArea(*ek_area);
        if (!marshalled.ok() || Sha256Hex(*marshalled) != Str(n, "ek_public_sha256")) {
          Problem(subject, kNodeEkMismatch,
                  "ek_public_sha256 is not the SHA-256 of the EK's TPMT_PUBLIC");
        }
      }

      // AK: attributes, name, node id.
      auto ak = attest::ParsePublicArea(node.ak_public);
      if (!ak.ok()) {
        Problem(subject, kNodeAkInvalid, std::string(ak.status().message()));
      } else {
        const attest::KeyCheckReport r = attest::CheckAkPublic(*ak);
        if (!r.ok()) Problem(subject, kNodeAkInvalid, r.Summary());
        auto name = attest::ObjectName(*ak);
        if (!name.ok() || *name != node.ak_name) {
          Problem(subject, kNodeAkInvalid,
                  absl::StrCat("the AK public area's name is ",
                               name.ok() ? attest::HexEncode(*name) : "unknown",
                               ", the record says ", attest::HexEncode(node.ak_name)));
        } else if (NodeIdForAkName(*name) != id) {
          Problem(subject, kNodeIdMismatch,
                  absl::StrCat("the AK name gives ", NodeIdForAkName(*name)));
        }
      }

      // EK: certificate key == EK public, EK template, the enrollment request, the chain.
      auto ek = attest::ParsePublicArea(node.ek_public);
      auto cert = ParseDerCertificate(node.ek_cert, nullptr);
      if (!ek.ok() || !cert.ok()) {
        Problem(subject, kNodeEkMismatch,
                absl::StrCat("EK public or certificate does not parse: ",
                             !ek.ok() ? ek.status().message() : cert.status().message()));
      } else {
        auto key = attest::PublicKeyFromPublicArea(*ek);
        if (!key.ok() || EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()) != 1) {
          Problem(subject, kNodeEkMismatch, "the EK public area is not the EK certificate's key");
        }
        const attest::KeyCheckReport r = attest::CheckEkPublic(*ek);
        if (!r.ok()) Problem(subject, kNodeEkMismatch, absl::StrCat("EK template: ", r.Summary()));
        std::vector<attest::X509Ptr> intermediates;
        bool request_found = false;
        for (const json& e : Array(n, "enrollments")) {
          if (Str(e, "enrollment_id") != Str(n, "enrollment_id")) continue;
          auto raw = Read(Str(e, "request"));
          if (!raw.ok()) break;
          v1::StartEnrollmentRequest req;
          if (!req.ParseFromString(*raw)) {
            Problem(subject, kNodeEnrollmentMismatch, "the enrollment request does not parse");
            break;
          }
          request_found = true;
          if (Bytes(req.ak_public().begin(), req.ak_public().end()) != node.ak_public ||
              Bytes(req.ek_public().begin(), req.ek_public().end()) != node.ek_public) {
            Problem(subject, kNodeEnrollmentMismatch,
                    "the AK or EK public area differs from the enrollment request");
          }
          bool cert_sent = false;
          for (const v1::EkCertificate& c : req.ek_certificates()) {
            auto sent = ParseDerCertificate(attest::AsSpan(c.der()), nullptr);
            if (sent.ok() && X509_cmp(sent->get(), cert->get()) == 0) cert_sent = true;
          }
          if (!cert_sent) {
            Problem(subject, kNodeEnrollmentMismatch,
                    "the EK certificate was not in the enrollment request");
          }
          for (const std::string& der : req.intermediate_certificates()) {
            auto c = ParseDerCertificate(attest::AsSpan(der), nullptr);
            if (c.ok()) intermediates.push_back(*std::move(c));
          }
        }
        if (!request_found) {
          Problem(subject, kNodeEnrollmentMismatch,
                  absl::StrCat("enrollment ", Str(n, "enrollment_id"), " is not in the bundle"));
        }
        const EkCertVerdict verdict = o_.ek_trust->Verify(
            cert->get(), intermediates, enrolled_at.value_or(absl::InfinitePast()));
        if (!verdict.trusted()) {
          Problem(subject, kNodeEkUntrusted,
                  absl::StrCat(verdict.code, ": ", verdict.detail, " (at enrollment time)"));
        }
      }
      nodes_[id] = std::move(node);
    }
  }

  // The nonce's state as ConsumeNonce saw it when this attestation arrived.
  NonceConsumption NonceAt(const json& a, const Bytes& nonce, absl::Time created_at,
                           const std::string& subject) {
    NonceConsumption out;
    const json& r = Member(a, "nonce_record");
    if (!r.is_object()) {
      out.state = NonceState::kUnknown;
      return out;
    }
    out.record.nonce = nonce;
    out.record.node_id = Str(r, "node_id");
    out.record.selection = Str(r, "selection");
    out.record.issued_at = OptTime(r, "issued_at").value_or(absl::InfinitePast());
    out.record.expires_at = OptTime(r, "expires_at").value_or(absl::InfinitePast());
    out.record.used_at = OptTime(r, "used_at");
    const std::string key = attest::HexEncode(nonce);
    if (first_use_.count(key)) {
      out.state = NonceState::kUsed;
    } else if (!out.record.used_at.has_value() || *out.record.used_at > created_at) {
      Problem(subject, kNonceRecordInconsistent,
              "the nonce record says it was not consumed before this attestation");
      out.state = NonceState::kUnknown;
    } else if (*out.record.used_at < created_at) {
      out.state = NonceState::kUsed;  // consumed by an earlier request
    } else {
      out.state = created_at >= out.record.expires_at ? NonceState::kExpired : NonceState::kFresh;
    }
    first_use_.emplace(key, Str(a, "attestation_id"));
    return out;
  }

  struct Evidence {
    Bytes quote, signature, event_log, ear;
    attest::PcrValues pcrs;
  };
  std::optional<Evidence> ReadEvidence(const std::string& id, const std::string& subject) {
    const std::string base = absl::StrCat("attestations/", id, "/");
    auto quote = ReadBytes(base + "quote.msg");
    auto sig = ReadBytes(base + "quote.sig");
    auto pcrs = Read(base + "pcrs.json");
    auto log = ReadBytes(base + "eventlog.bin");
    auto ear = ReadBytes(base + "ear.jwt");
    if (!quote.ok() || !sig.ok() || !pcrs.ok() || !log.ok() || !ear.ok()) return std::nullopt;
    Evidence e{*quote, *sig, *log, *ear, {}};
    if (!pcrs->empty()) {
      auto parsed = attest::ParsePcrValuesJson(*pcrs);
      if (!parsed.ok()) {
        Problem(subject, kBundleIndexMalformed,
                absl::StrCat("pcrs.json: ", parsed.status().message()));
        return std::nullopt;
      }
      e.pcrs = *std::move(parsed);
    }
    return e;
  }

  static std::optional<ClockState> ClockFromJson(const json& c) {
    if (!c.is_object()) return std::nullopt;
    return ClockState{U64(c, "clock"), static_cast<uint32_t>(U64(c, "reset_count")),
                      static_cast<uint32_t>(U64(c, "restart_count")), Bool(c, "safe")};
  }

  // A clock baseline: an attestation before the window whose quote set the node's high-water
  // mark. Only its quote's authenticity and clockInfo are checked (its own decision is outside
  // the window).
  void CheckBaseline(const json& a) {
    const std::string id = Str(a, "attestation_id");
    const std::string subject = absl::StrCat("attestation ", id);
    const std::string node_id = Str(a, "node_id");
    auto nonce = attest::HexDecode(Str(a, "nonce"));
    auto node = nodes_.find(node_id);
    std::optional<Evidence> ev = ReadEvidence(id, subject);
    if (!ev || !nonce.ok() || node == nodes_.end()) {
      Problem(subject, kClockBaselineUnverified, "evidence or node missing");
      return;
    }
    if (nonce.ok()) first_use_.emplace(attest::HexEncode(*nonce), id);
    attest::PcrSelection selection;
    const json& r = Member(a, "nonce_record");
    if (r.is_object()) {
      auto sel = attest::ParsePcrSelectionSpec(Str(r, "selection"));
      if (sel.ok()) selection = *sel;
    }
    attest::QuoteInput q;
    q.ak_public = node->second.ak_public;
    q.attest = ev->quote;
    q.signature = ev->signature;
    q.nonce = *nonce;
    q.requested_selection = &selection;
    q.pcr_values = &ev->pcrs;
    const attest::QuoteResult result = attest::VerifyQuote(q);
    if (!result.verdict || !result.quote.has_value()) {
      const attest::QuoteCheck* failed = result.FirstFailure();
      Problem(subject, kClockBaselineUnverified,
              absl::StrCat("the quote does not verify: ",
                           failed ? absl::StrCat(failed->name, ": ", failed->detail) : "?"));
      return;
    }
    const ClockState quoted{result.quote->clock.clock, result.quote->clock.reset_count,
                            result.quote->clock.restart_count, result.quote->clock.safe};
    if (!SameClock(ClockFromJson(Member(a, "clock")), quoted)) {
      Problem(subject, kClockNotReproduced,
              absl::StrCat("stored ", ClockText(ClockFromJson(Member(a, "clock"))), ", quoted ",
                           ClockText(quoted)));
    }
    high_water_[node_id] = quoted;
  }

  void CheckAttestation(const json& a) {
    ++report_.attestations;
    const std::string id = Str(a, "attestation_id");
    const std::string subject = absl::StrCat("attestation ", id);
    const size_t problems_before = report_.problems.size();
    const std::string node_id = Str(a, "node_id");
    const std::string verdict = Str(a, "verdict");
    auto created = ParseTimeText(Str(a, "created_at"));
    auto nonce = attest::HexDecode(Str(a, "nonce"));
    if (!created.ok() || !nonce.ok()) {
      Problem(subject, kBundleIndexMalformed, "created_at or nonce malformed");
      return;
    }
    std::optional<Evidence> ev = ReadEvidence(id, subject);
    if (!ev) return;

    AppraisalInput in;
    in.claimed_node_id = node_id;
    in.nonce = NonceAt(a, *nonce, *created, subject);
    if (in.nonce.state != NonceState::kUnknown) {
      auto n = nodes_.find(in.nonce.record.node_id);
      if (n != nodes_.end()) {
        NodeRecord node = n->second;
        if (node.revoked_at.has_value() && *node.revoked_at > *created) node.revoked_at.reset();
        auto hw = high_water_.find(node.node_id);
        if (hw != high_water_.end()) node.last_clock = hw->second;
        in.node = std::move(node);
      }
    }
    in.quote = ev->quote;
    in.signature = ev->signature;
    in.pcrs = &ev->pcrs;
    in.event_log = ev->event_log;

    const std::string policy_id = Str(a, "policy_id");
    auto policy = policies_.find(policy_id);
    if (policy == policies_.end()) {
      Problem(subject, kPolicyMissing,
              absl::StrCat("policy ", policy_id, " is not in the bundle (or did not verify)"));
      return;
    }
    const Appraisal again = Appraiser(policy->second.get()).Appraise(in);
    if (again.node_clock.has_value()) high_water_[in.node->node_id] = *again.node_clock;

    // Stored findings: the appraisal's, then TOKEN_ISSUER_FAILED when the issuer failed.
    Findings stored;
    for (const json& f : Array(a, "findings")) {
      stored.push_back(Finding{Str(f, "code"), Str(f, "detail")});
    }
    if (!stored.empty() && stored.back().code == codes::kTokenIssuerFailed) stored.pop_back();

    if (again.verdict != verdict) {
      Problem(subject, kVerdictNotReproduced,
              absl::StrCat("stored ", verdict, ", recomputed ", again.verdict, " (findings ",
                           Codes(again.findings), ")"));
    }
    if (Codes(again.findings) != Codes(stored)) {
      Problem(subject, kFindingsNotReproduced,
              absl::StrCat("stored ", Codes(stored), ", recomputed ", Codes(again.findings),
                           again.findings.empty() ? "" : ": " + again.findings.front().detail));
    }
    std::vector<std::string> stored_stages, again_stages;
    for (const json& s : Array(a, "checks")) {
      stored_stages.push_back(absl::StrCat(Str(s, "name"), "=", Str(s, "state")));
    }
    for (const Stage& s : again.stages) {
      again_stages.push_back(absl::StrCat(s.name, "=", StageStateName(s.state)));
    }
    if (stored_stages != again_stages) {
      Problem(subject, kStagesNotReproduced,
              absl::StrCat("stored ", absl::StrJoin(stored_stages, " "), ", recomputed ",
                           absl::StrJoin(again_stages, " ")));
    }
    if (!SameClock(ClockFromJson(Member(a, "clock")), again.clock) ||
        Bool(a, "new_boot") != again.new_boot) {
      Problem(subject, kClockNotReproduced,
              absl::StrCat("stored ", ClockText(ClockFromJson(Member(a, "clock"))),
                           Bool(a, "new_boot") ? " new boot" : "", ", recomputed ",
                           ClockText(again.clock), again.new_boot ? " new boot" : ""));
    }
    if (again.policy_id != policy_id) {
      Problem(subject, kPolicyIdNotReproduced, again.policy_id);
    }

    // Each nonce is accepted once: two affirming attestations never share one.
    if (verdict == kVerdictAffirming) {
      auto [it, fresh] = affirming_nonces_.emplace(attest::HexEncode(*nonce), id);
      if (!fresh) {
        Problem(subject, kNonceReused,
                absl::StrCat("attestation ", it->second, " was affirmed with the same nonce"));
      }
    }

    // The EAR the verifier signed when it decided.
    const std::string ear_text(ev->ear.begin(), ev->ear.end());
    auto claims = VerifyEs256Jwt(ear_text, o_.verifier_key);
    if (!claims.ok()) {
      Problem(subject, kEarInvalid, std::string(claims.status().message()));
    } else {
      const std::string submod = node_id.empty() ? "unknown" : node_id;
      const json& sub = Member(Member(*claims, "submods"), submod.c_str());
      std::vector<std::string> ear_codes;
      for (const json& c : Array(sub, "bootgate.findings")) {
        if (c.is_string()) ear_codes.push_back(c.get<std::string>());
      }
      std::vector<std::string> again_codes;
      for (const Finding& f : again.findings) again_codes.push_back(f.code);
      std::vector<std::string> wrong;
      if (Str(sub, "ear.status") != verdict) wrong.push_back("ear.status");
      if (Str(sub, "bootgate.attestation-id") != id) wrong.push_back("bootgate.attestation-id");
      if (Str(sub, "ear.appraisal-policy-id") != policy_id) {
        wrong.push_back("ear.appraisal-policy-id");
      }
      if (ear_codes != again_codes) wrong.push_back("bootgate.findings");
      if (Str(*claims, "eat_nonce") != B64Url(*nonce)) wrong.push_back("eat_nonce");
      if (!wrong.empty()) {
        Problem(subject, kEarMismatch,
                absl::StrCat("the signed EAR differs in ", absl::StrJoin(wrong, ", ")));
      }
    }

    // Tokens only ever follow an affirming verdict.
    for (const json& t : Array(a, "tokens")) {
      if (Str(t, "status") == "issued" && verdict != kVerdictAffirming) {
        Problem(subject, kTokenWithoutAffirming,
                absl::StrCat("token ", Str(t, "token_id"), " was issued for a ", verdict,
                             " attestation"));
      }
    }
    if (!Str(a, "token_id").empty() && again.verdict != kVerdictAffirming) {
      Problem(subject, kTokenWithoutAffirming,
              absl::StrCat("token ", Str(a, "token_id"), " but the recomputed verdict is ",
                           again.verdict));
    }
    if (report_.problems.size() == problems_before) ++report_.reproduced;
  }

  void CheckAttestations() {
    for (const json& a : index_["attestations"]) {
      if (!a.is_object()) {
        Problem("bundle", kBundleIndexMalformed, "an attestation entry is not an object");
        continue;
      }
      if (!CheckBundleId(Str(a, "attestation_id"), "attestation id").ok()) {
        Problem("bundle", kBundleIndexMalformed,
                absl::StrCat("attestation id '", Str(a, "attestation_id"), "'"));
        continue;
      }
      if (Str(a, "role") == "clock-baseline") {
        CheckBaseline(a);
      } else {
        CheckAttestation(a);
      }
    }
  }

  const VerifyOptions& o_;
  VerifyReport report_;
  json index_;
  std::set<std::string> listed_;
  std::map<std::string, std::unique_ptr<Policy>> policies_;
  std::map<std::string, NodeRecord> nodes_;
  std::map<std::string, ClockState> high_water_;
  std::map<std::string, std::string> first_use_;         // nonce hex -> attestation id
  std::map<std::string, std::string> affirming_nonces_;  // nonce hex -> attestation id
};

}  // namespace

absl::StatusOr<VerifyReport> VerifyBundle(const VerifyOptions& options) {
  if (options.ek_trust == nullptr || options.verifier_key == nullptr) {
    return absl::InvalidArgumentError("audit verify: EK CA bundle and verifier key are required");
  }
  return Verifier(options).Run();
}

}  // namespace bootgate::verifier::audit
