// bootgate audit export: the store (read-only snapshot) -> a signed bundle directory.
#include <sys/stat.h>

#include <map>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "verifier/appraise/policy_registry.h"
#include "verifier/audit/audit.h"
#include "verifier/audit/bundle_io.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier::audit {

namespace {

using nlohmann::json;

json FindingsJson(const Findings& findings) {
  json out = json::array();
  for (const Finding& f : findings) out.push_back({{"code", f.code}, {"detail", f.detail}});
  return out;
}

json ClockJson(const std::optional<ClockState>& c) {
  if (!c) return nullptr;
  return {{"clock", c->clock},
          {"reset_count", c->reset_count},
          {"restart_count", c->restart_count},
          {"safe", c->safe}};
}

json OptTimeJson(const std::optional<absl::Time>& t) {
  if (!t) return nullptr;
  return TimeText(*t);
}

class BundleWriter {
 public:
  explicit BundleWriter(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Create() {
    if (PathExists(dir_)) {
      return absl::AlreadyExistsError(
          absl::StrCat(dir_, ": already exists (an export never overwrites)"));
    }
    return MakeDirs("");
  }

  // Writes `data` to the relative path and records its digest for the manifest.
  absl::Status Put(const std::string& rel, absl::string_view data) {
    RETURN_IF_ERROR(CheckBundlePath(rel));
    const size_t slash = rel.rfind('/');
    if (slash != std::string::npos) RETURN_IF_ERROR(MakeDirs(rel.substr(0, slash)));
    RETURN_IF_ERROR(WriteNewFile(absl::StrCat(dir_, "/", rel), data, 0644));
    files_.push_back(
        {{"path", rel}, {"sha256", Sha256Hex(attest::AsSpan(data))}, {"bytes", data.size()}});
    return absl::OkStatus();
  }
  absl::Status Put(const std::string& rel, const attest::Bytes& data) {
    return Put(rel, absl::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }

  absl::Status Seal(const EarSigner& signer, const std::string& verifier_id, absl::Time now) {
    const json manifest = {{"format", kBundleFormat},
                           {"created_at", TimeText(now)},
                           {"verifier_id", verifier_id},
                           {"key_id", signer.key_id()},
                           {"files", files_}};
    const std::string text = manifest.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
    RETURN_IF_ERROR(WriteNewFile(absl::StrCat(dir_, "/", kManifestFile), text, 0644));
    const json claims = {{"iss", verifier_id},
                         {"iat", absl::ToUnixSeconds(now)},
                         {"bootgate.bundle-format", kBundleFormat},
                         {"bootgate.manifest-sha256", Sha256Hex(attest::AsSpan(text))}};
    ASSIGN_OR_RETURN(std::string jws, signer.Sign(claims));
    return WriteNewFile(absl::StrCat(dir_, "/", kSignatureFile), jws + "\n", 0644);
  }

  // Files listed in the manifest (the manifest and its signature not counted).
  size_t files() const { return files_.size(); }

 private:
  absl::Status MakeDirs(const std::string& rel) {
    std::string path = dir_;
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(path, ": cannot create directory"));
    }
    size_t start = 0;
    while (start < rel.size()) {
      size_t end = rel.find('/', start);
      if (end == std::string::npos) end = rel.size();
      absl::StrAppend(&path, "/", rel.substr(start, end - start));
      if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::FailedPreconditionError(absl::StrCat(path, ": cannot create directory"));
      }
      start = end + 1;
    }
    return absl::OkStatus();
  }

  std::string dir_;
  json files_ = json::array();
};

}  // namespace

absl::StatusOr<ExportSummary> ExportBundle(const ExportOptions& o) {
  if (o.signer == nullptr) return absl::InvalidArgumentError("export: no signing key");
  ASSIGN_OR_RETURN(std::unique_ptr<AuditReader> reader, AuditReader::Open(o.store_path));
  if (!o.node_id.empty()) {
    ASSIGN_OR_RETURN(auto node, reader->Node(o.node_id));
    if (!node) return absl::NotFoundError(absl::StrCat("node ", o.node_id, " is not in the store"));
  }

  // Policies: the store's table plus the configuration's, keyed by id.
  std::map<std::string, PolicyRecord> policies;
  ASSIGN_OR_RETURN(std::vector<PolicyRecord> stored, reader->Policies());
  for (PolicyRecord& p : stored) policies.emplace(p.policy_id, std::move(p));
  for (const PolicyRecord& p : o.extra_policies) policies.emplace(p.policy_id, p);

  BundleWriter out(o.out_dir);
  RETURN_IF_ERROR(out.Create());
  ExportSummary summary;

  json attestations = json::array();
  std::set<std::string> node_ids;
  std::set<std::string> used_policies;
  std::set<std::string> missing_policies;
  std::set<std::string> seen_attestations;

  auto add_attestation = [&](AttestationRecord a, const char* role) -> absl::Status {
    RETURN_IF_ERROR(CheckBundleId(a.attestation_id, "attestation id"));
    if (!seen_attestations.insert(a.attestation_id).second) return absl::OkStatus();
    const std::string base = absl::StrCat("attestations/", a.attestation_id, "/");
    RETURN_IF_ERROR(out.Put(base + "quote.msg", a.quote));
    RETURN_IF_ERROR(out.Put(base + "quote.sig", a.signature));
    RETURN_IF_ERROR(out.Put(base + "pcrs.json", a.pcrs_json));
    RETURN_IF_ERROR(out.Put(base + "eventlog.bin", a.event_log));
    RETURN_IF_ERROR(out.Put(base + "ima.log", a.ima_log));
    RETURN_IF_ERROR(out.Put(base + "ear.jwt", a.ear_jwt));
    ASSIGN_OR_RETURN(std::optional<NonceRecord> nonce, reader->Nonce(a.nonce));
    json nonce_json = nullptr;
    if (nonce) {
      nonce_json = {{"node_id", nonce->node_id},
                    {"selection", nonce->selection},
                    {"issued_at", TimeText(nonce->issued_at)},
                    {"expires_at", TimeText(nonce->expires_at)},
                    {"used_at", OptTimeJson(nonce->used_at)}};
    }
    ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, reader->TokensOf(a.attestation_id));
    json tokens_json = json::array();
    for (const TokenRecord& t : tokens) {
      tokens_json.push_back({{"token_id", t.token_id},
                             {"issued_at", TimeText(t.issued_at)},
                             {"expires_at", TimeText(t.expires_at)},
                             {"issuer", t.issuer},
                             {"status", t.status},
                             {"reason", t.reason}});
    }
    json checks = json::parse(a.checks_json, nullptr, false);
    if (checks.is_discarded()) checks = a.checks_json;  // kept as text; verify reports it
    attestations.push_back({{"attestation_id", a.attestation_id},
                            {"role", role},
                            {"node_id", a.node_id},
                            {"created_at", TimeText(a.created_at)},
                            {"verdict", a.verdict},
                            {"findings", FindingsJson(a.findings)},
                            {"checks", checks},
                            {"policy_id", a.policy_id},
                            {"clock", ClockJson(a.clock)},
                            {"new_boot", a.new_boot},
                            {"token_id", a.token_id},
                            {"appraisal_micros", a.appraisal_micros},
                            {"nonce", attest::HexEncode(a.nonce)},
                            {"nonce_record", nonce_json},
                            {"tokens", tokens_json}});
    if (!a.node_id.empty()) node_ids.insert(a.node_id);
    if (std::string(role) == "window") {
      ++summary.attestations;
      if (policies.count(a.policy_id)) {
        used_policies.insert(a.policy_id);
      } else {
        missing_policies.insert(a.policy_id);
      }
    } else {
      ++summary.baselines;
    }
    return absl::OkStatus();
  };

  // Window attestations, oldest first; before a node's first one, its clock baseline.
  std::set<std::string> baselined;
  RETURN_IF_ERROR(reader->ForEachAttestation(
      o.window, o.node_id, /*evidence=*/true, [&](AttestationRecord a) -> absl::Status {
        if (!a.node_id.empty() && baselined.insert(a.node_id).second) {
          ASSIGN_OR_RETURN(std::optional<AttestationRecord> base,
                           reader->ClockBaseline(a.node_id, o.window.since));
          if (base) RETURN_IF_ERROR(add_attestation(*std::move(base), "clock-baseline"));
        }
        return add_attestation(std::move(a), "window");
      }));
  if (!missing_policies.empty()) {
    std::string ids;
    for (const std::string& id : missing_policies)
      absl::StrAppend(&ids, ids.empty() ? "" : ", ", id);
    return absl::FailedPreconditionError(absl::StrCat(
        "the content of policy ", ids,
        " is not recorded in the store nor the configuration's current policy; the export would "
        "not be verifiable (nothing was signed)"));
  }

  json policies_json = json::array();
  size_t policy_index = 0;
  for (const std::string& id : used_policies) {
    const PolicyRecord& p = policies.at(id);
    const std::string file = absl::StrCat("policies/", policy_index++, ".policy");
    RETURN_IF_ERROR(out.Put(file, p.content));
    policies_json.push_back({{"policy_id", p.policy_id},
                             {"kind", p.kind},
                             {"first_loaded_at", TimeText(p.first_loaded_at)},
                             {"file", file}});
  }
  summary.policies = used_policies.size();

  json nodes_json = json::array();
  for (const std::string& id : node_ids) {
    ASSIGN_OR_RETURN(std::optional<NodeRecord> n, reader->Node(id));
    if (!n) continue;  // attestations of unknown nodes are re-run as NODE_UNKNOWN
    RETURN_IF_ERROR(CheckBundleId(id, "node id"));
    const std::string base = absl::StrCat("nodes/", id, "/");
    RETURN_IF_ERROR(out.Put(base + "ak.pub", n->ak_public));
    RETURN_IF_ERROR(out.Put(base + "ek.pub", n->ek_public));
    RETURN_IF_ERROR(out.Put(base + "ek-cert.der", n->ek_cert));
    ASSIGN_OR_RETURN(std::vector<EnrollmentRecord> enrollments, reader->EnrollmentsOf(id));
    json enrollments_json = json::array();
    for (const EnrollmentRecord& e : enrollments) {
      RETURN_IF_ERROR(CheckBundleId(e.enrollment_id, "enrollment id"));
      const std::string file = absl::StrCat(base, "enrollment-", e.enrollment_id, ".bin");
      RETURN_IF_ERROR(out.Put(file, e.request));
      enrollments_json.push_back({{"enrollment_id", e.enrollment_id},
                                  {"created_at", TimeText(e.created_at)},
                                  {"finished_at", OptTimeJson(e.finished_at)},
                                  {"state", EnrollmentStateName(e.state)},
                                  {"findings", FindingsJson(e.findings)},
                                  {"request", file}});
    }
    nodes_json.push_back({{"node_id", n->node_id},
                          {"hostname", n->hostname},
                          {"ak_name", attest::HexEncode(n->ak_name)},
                          {"ek_public_sha256", n->ek_public_sha256},
                          {"ek_cert_sha256", n->ek_cert_sha256},
                          {"ek_cert_nv_index", n->ek_cert_nv_index},
                          {"tpm_manufacturer", n->tpm_manufacturer},
                          {"tpm_model", n->tpm_model},
                          {"tpm_version", n->tpm_version},
                          {"enrolled_at", TimeText(n->enrolled_at)},
                          {"enrollment_id", n->enrollment_id},
                          {"revoked_at", OptTimeJson(n->revoked_at)},
                          {"revoke_reason", n->revoke_reason},
                          {"ak_public", base + "ak.pub"},
                          {"ek_public", base + "ek.pub"},
                          {"ek_cert", base + "ek-cert.der"},
                          {"enrollments", enrollments_json}});
  }
  summary.nodes = nodes_json.size();

  const json index = {
      {"format", kBundleFormat},
      {"created_at", TimeText(o.now)},
      {"verifier_id", o.verifier_id},
      {"store_schema", reader->schema_version()},
      {"window",
       {{"since",
         o.window.since == absl::InfinitePast() ? json(nullptr) : json(TimeText(o.window.since))},
        {"until", o.window.until == absl::InfiniteFuture() ? json(nullptr)
                                                           : json(TimeText(o.window.until))}}},
      {"node", o.node_id},
      {"policies", policies_json},
      {"nodes", nodes_json},
      {"attestations", attestations},
  };
  RETURN_IF_ERROR(
      out.Put(kIndexFile, index.dump(1, ' ', false, nlohmann::json::error_handler_t::replace)));
  RETURN_IF_ERROR(out.Seal(*o.signer, o.verifier_id, o.now));
  summary.files = out.files();
  return summary;
}

}  // namespace bootgate::verifier::audit
