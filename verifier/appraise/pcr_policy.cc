#include "verifier/appraise/pcr_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"
#include "verifier/util/yaml_boundary.h"

namespace bootgate::verifier {

using attest::Bytes;

namespace {

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
          c == '-')) {
      return false;
    }
  }
  return true;
}

std::string PcrName(uint16_t alg, uint32_t pcr) {
  return absl::StrCat(attest::HashAlgName(alg), ":", pcr);
}

std::string Short(const Bytes& v) {
  const std::string hex = attest::HexEncode(v);
  return hex.size() > 16 ? hex.substr(0, 16) + "..." : hex;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PcrValuePolicy>> PcrValuePolicy::Parse(absl::string_view text,
                                                                      const std::string& path) {
  std::unique_ptr<PcrValuePolicy> policy(new PcrValuePolicy());
  std::string raw_id;
  const std::string what = path.empty() ? "policy" : path;
  RETURN_IF_ERROR(CatchYaml(what, [&]() -> absl::Status {
    const YAML::Node root = YAML::Load(std::string(text));
    if (!root.IsMap()) return absl::InvalidArgumentError("policy: expected a mapping");
    bool has_pcrs = false;
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (key == "id") {
        raw_id = kv.second.as<std::string>();
      } else if (key == "description") {
        // Free text for operators.
      } else if (key == "kind") {
        if (kv.second.as<std::string>() != "pcr-values") {
          return absl::InvalidArgumentError("policy: kind must be 'pcr-values'");
        }
      } else if (key == "pcrs") {
        has_pcrs = true;
        if (!kv.second.IsMap()) return absl::InvalidArgumentError("policy: pcrs must be a mapping");
        for (const auto& bank : kv.second) {
          const std::string bank_name = bank.first.as<std::string>();
          ASSIGN_OR_RETURN(uint16_t alg, attest::HashAlgFromName(bank_name));
          const std::optional<size_t> size = attest::KnownDigestSize(alg);
          if (!bank.second.IsMap()) {
            return absl::InvalidArgumentError(
                absl::StrCat("policy: pcrs.", bank_name, " must map PCR indexes to values"));
          }
          for (const auto& entry : bank.second) {
            const std::string index_text = entry.first.as<std::string>();
            uint32_t pcr = 0;
            if (!absl::SimpleAtoi(index_text, &pcr) || pcr > attest::kMaxPcrIndex) {
              return absl::InvalidArgumentError(absl::StrCat(
                  "policy: pcrs.", bank_name, ": '", index_text, "' is not a PCR index 0-23"));
            }
            std::vector<std::string> values;
            if (entry.second.IsSequence()) {
              for (const auto& v : entry.second) values.push_back(v.as<std::string>());
            } else {
              values.push_back(entry.second.as<std::string>());
            }
            if (values.empty()) {
              return absl::InvalidArgumentError(
                  absl::StrCat("policy: ", PcrName(alg, pcr), " lists no allowed value"));
            }
            auto& allowed = policy->allowed_[{alg, pcr}];
            if (!allowed.empty()) {
              return absl::InvalidArgumentError(
                  absl::StrCat("policy: ", PcrName(alg, pcr), " given twice"));
            }
            for (const std::string& hex : values) {
              auto value = attest::HexDecode(hex);
              if (!value.ok() || (size && value->size() != *size)) {
                return absl::InvalidArgumentError(absl::StrCat("policy: ", PcrName(alg, pcr), ": '",
                                                               hex, "' is not ", size.value_or(0),
                                                               " bytes of hex"));
              }
              allowed.push_back(*std::move(value));
            }
          }
        }
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("policy: unknown key '", key, "' (known: id, description, kind, pcrs)"));
      }
    }
    if (!has_pcrs || policy->allowed_.empty()) {
      return absl::InvalidArgumentError("policy: 'pcrs' must list at least one PCR");
    }
    return absl::OkStatus();
  }));
  if (!ValidId(raw_id)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": 'id' is required: 1-64 characters of [A-Za-z0-9._:-]"));
  }
  policy->content_ = std::string(text);
  policy->path_ = path;
  policy->id_ = absl::StrCat(raw_id, "@sha256:", Sha256Hex(attest::AsSpan(text)).substr(0, 16));
  return policy;
}

absl::StatusOr<std::unique_ptr<PcrValuePolicy>> PcrValuePolicy::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
  return Parse(text, path);
}

attest::PcrSet PcrValuePolicy::RequiredPcrs() const {
  attest::PcrSet out;
  for (const auto& [key, values] : allowed_) out.insert(key);
  return out;
}

PolicyOutcome PcrValuePolicy::Evaluate(const attest::PcrValues& quoted,
                                       const attest::VerifiedEventLog& /*events*/,
                                       const PolicyContext& /*context*/) const {
  // A PCR-value policy needs only the authenticated PCR values; the verified events are for
  // event-level policies.
  Findings findings;
  for (const auto& [key, allowed] : allowed_) {
    const auto [alg, pcr] = key;
    auto bank = quoted.find(alg);
    const Bytes* value = nullptr;
    if (bank != quoted.end()) {
      auto it = bank->second.find(pcr);
      if (it != bank->second.end()) value = &it->second;
    }
    if (value == nullptr) {
      findings.push_back(Finding{
          codes::kPolicyPcrNotQuoted,
          absl::StrCat(PcrName(alg, pcr), " is required by policy ", id_, " but was not quoted")});
      continue;
    }
    bool ok = false;
    for (const Bytes& a : allowed) ok = ok || a == *value;
    if (!ok) {
      std::vector<std::string> allowed_hex;
      for (const Bytes& a : allowed) allowed_hex.push_back(Short(a));
      findings.push_back(Finding{
          codes::kPolicyPcrMismatch,
          absl::StrCat(PcrName(alg, pcr), " = ", attest::HexEncode(*value), " is not allowed by ",
                       id_, " (allowed: ", absl::StrJoin(allowed_hex, ", "), ")")});
    }
  }
  PolicyOutcome out;
  out.explanation = absl::StrCat(allowed_.size() - findings.size(), " of ", allowed_.size(),
                                 " PCR values allowed by ", id_);
  if (findings.empty()) out.matched = absl::StrCat("PCR values of ", id_);
  out.violations = std::move(findings);
  return out;
}

std::string PcrPolicyYaml(const std::string& id, const attest::PcrValues& values) {
  std::string out = absl::StrCat(
      "# bootgate PCR-value policy: every listed PCR must hold one of "
      "its allowed values.\nid: ",
      id, "\nkind: pcr-values\npcrs:\n");
  for (const auto& [alg, bank] : values) {
    absl::StrAppend(&out, "  ", attest::HashAlgName(alg), ":\n");
    for (const auto& [pcr, value] : bank) {
      absl::StrAppend(&out, "    ", pcr, ": [", attest::HexEncode(value), "]\n");
    }
  }
  return out;
}

}  // namespace bootgate::verifier
