#include "verifier/appraise/golden_policy.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "policy/evaluate.h"
#include "policy/loader.h"
#include "policy/signing.h"

namespace bootgate::verifier {

namespace {

absl::Status InFile(const absl::Status& s, const std::string& name) {
  return absl::Status(s.code(), absl::StrCat(name, ": ", s.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<GoldenPolicy>> GoldenPolicy::Build(
    const std::vector<PolicyFile>& files, const GoldenPolicyOptions& options) {
  std::unique_ptr<GoldenPolicy> out(new GoldenPolicy());
  out->path_ = options.path;
  std::set<std::string> signers;
  for (const PolicyFile& file : files) {
    absl::StatusOr<policy::PolicySet> set = policy::ParsePolicyDocuments(file.content, file.name);
    if (!set.ok()) return set.status();
    // Every file is signed on its own: a set is only as trustworthy as its least-signed file.
    std::vector<policy::PolicySignature> signatures = set->signatures;
    if (!file.signature.empty()) {
      auto detached =
          policy::ParseDetachedSignature(file.signature, absl::StrCat(file.name, ".sig"));
      if (!detached.ok()) return detached.status();
      signatures.push_back(*std::move(detached));
    }
    if (!options.skip_signature_check && (!signatures.empty() || !options.allow_unsigned)) {
      // A present signature is checked even in development mode: a failing one means the file
      // changed after it was signed.
      absl::StatusOr<policy::SignatureCheck> check =
          policy::VerifyPolicySignatures(*set, signatures, options.trusted_keys_pem);
      if (!check.ok()) return InFile(check.status(), file.name);
      signers.insert(check->key_id);
    }
    policy::MergePolicySets(*std::move(set), &out->set_);
  }
  RETURN_IF_ERROR(policy::ValidatePolicySet(out->set_));
  out->id_ = policy::PolicyVersionId(out->set_);
  // What the store records for audits: every file with its detached signature, so that an auditor
  // re-verifies the signatures with the policy key (FromContent) and the version id proves the
  // documents are the ones the decisions used.
  nlohmann::json record = {{"format", kPolicyFilesFormat}, {"files", nlohmann::json::array()}};
  for (const PolicyFile& file : files) {
    record["files"].push_back(
        {{"name", file.name}, {"content", file.content}, {"signature", file.signature}});
  }
  out->content_ = record.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  out->signed_by_.assign(signers.begin(), signers.end());
  return out;
}

absl::StatusOr<std::unique_ptr<GoldenPolicy>> GoldenPolicy::FromContent(
    absl::string_view content, const GoldenPolicyOptions& options) {
  const nlohmann::json record = nlohmann::json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (!record.is_object() || record.value("format", "") != kPolicyFilesFormat ||
      !record.contains("files") || !record["files"].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("recorded golden-image policy: not a ", kPolicyFilesFormat, " record"));
  }
  std::vector<PolicyFile> files;
  for (const nlohmann::json& f : record["files"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("content") ||
        !f["content"].is_string() || !f.contains("signature") || !f["signature"].is_string()) {
      return absl::InvalidArgumentError(
          "recorded golden-image policy: every file needs string name, content and signature");
    }
    files.push_back({f["name"].get<std::string>(), f["content"].get<std::string>(),
                     f["signature"].get<std::string>()});
  }
  if (files.empty()) return absl::InvalidArgumentError("recorded golden-image policy: no files");
  return Build(files, options);
}

attest::PcrSet GoldenPolicy::RequiredPcrs() const {
  attest::PcrSet required;
  const policy::Policy& p = set_.policies.front();  // ValidatePolicySet: exactly one
  for (uint16_t bank : p.banks) {
    for (uint32_t pcr : p.pcrs) required.insert({bank, pcr});
  }
  return required;
}

PolicyOutcome GoldenPolicy::Evaluate(const attest::PcrValues& quoted,
                                     const attest::VerifiedEventLog& events,
                                     const PolicyContext& context) const {
  PolicyOutcome out;
  absl::StatusOr<policy::Evaluation> result =
      policy::EvaluatePolicy(set_, quoted, events, context.labels, context.now);
  if (!result.ok()) {
    // Build() validated the set, so this cannot happen; fail closed anyway.
    out.violations.push_back(Finding{"POLICY_INVALID", std::string(result.status().message())});
    return out;
  }
  for (const policy::Finding& f : result->findings) {
    out.violations.push_back(Finding{f.code, f.detail});
  }
  for (const policy::Finding& f : result->warnings) {
    out.warnings.push_back(Finding{f.code, f.detail});
  }
  if (result->verdict == policy::Verdict::kAccepted && out.violations.empty()) {
    out.matched = absl::StrCat(
        "golden image ",
        result->matched_image
            ? absl::StrCat(result->matched_image->name, " ", result->matched_image->version)
            : std::string("(none)"),
        " on platform ",
        result->matched_platform
            ? absl::StrCat(result->matched_platform->name, " ", result->matched_platform->version)
            : std::string("(none)"),
        result->group.empty() ? "" : absl::StrCat(" (group ", result->group, ")"));
  } else if (out.violations.empty()) {
    // A rejected verdict must carry a reason.
    out.violations.push_back(
        Finding{"POLICY_NO_MATCHING_IMAGE", "the policy rejected the evidence"});
  }
  out.explanation = policy::FormatEvaluation(*result);
  return out;
}

}  // namespace bootgate::verifier
