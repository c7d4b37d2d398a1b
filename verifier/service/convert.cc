#include "verifier/service/convert.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/pcr/pcr_json.h"
#include "attest/tpm/attest_structs.h"
#include "attest/util/status_macros.h"

namespace bootgate::verifier {

namespace v1 = ::bootgate::v1;

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

v1::Verdict VerdictToProto(const std::string& verdict) {
  if (verdict == kVerdictAffirming) return v1::VERDICT_AFFIRMING;
  if (verdict == kVerdictContraindicated) return v1::VERDICT_CONTRAINDICATED;
  return v1::VERDICT_UNSPECIFIED;
}

void FindingsToProto(const Findings& findings,
                     google::protobuf::RepeatedPtrField<v1::Finding>* out) {
  for (const Finding& f : findings) {
    v1::Finding* p = out->Add();
    p->set_code(f.code);
    p->set_detail(f.detail);
  }
}

void StagesToProto(const std::vector<Stage>& stages,
                   google::protobuf::RepeatedPtrField<v1::Check>* out) {
  for (const Stage& s : stages) {
    v1::Check* c = out->Add();
    c->set_name(s.name);
    c->set_state(s.state == StageState::kPassed   ? v1::CHECK_STATE_PASSED
                 : s.state == StageState::kFailed ? v1::CHECK_STATE_FAILED
                                                  : v1::CHECK_STATE_NOT_RUN);
    c->set_detail(s.detail);
  }
}

void ClockToProto(const ClockState& clock, v1::ClockInfo* out) {
  out->set_clock(clock.clock);
  out->set_reset_count(clock.reset_count);
  out->set_restart_count(clock.restart_count);
  out->set_safe(clock.safe);
}

absl::Status SelectionToProto(const attest::PcrSelection& selection, v1::PcrSelection* out) {
  out->set_spec(attest::FormatPcrSelectionSpec(selection));
  for (const attest::PcrBankSelection& bank : selection) {
    v1::PcrBankSelection* b = out->add_banks();
    b->set_hash_alg(bank.alg);
    for (uint32_t pcr : bank.pcrs) b->add_pcrs(pcr);
  }
  ASSIGN_OR_RETURN(TPML_PCR_SELECTION tpml, attest::PcrSelectionToTpml(selection));
  ASSIGN_OR_RETURN(attest::Bytes marshalled, attest::MarshalTpmlPcrSelection(tpml));
  out->set_tpml_pcr_selection(std::string(marshalled.begin(), marshalled.end()));
  return absl::OkStatus();
}

absl::StatusOr<attest::PcrValues> PcrBanksFromProto(
    const google::protobuf::RepeatedPtrField<v1::PcrBank>& banks) {
  attest::PcrValues out;
  if (banks.size() > 16) return absl::InvalidArgumentError("pcrs: more than 16 banks");
  for (const v1::PcrBank& bank : banks) {
    if (bank.hash_alg() > 0xffff) {
      return absl::InvalidArgumentError(
          absl::StrCat("pcrs: hash_alg ", bank.hash_alg(), " is not a TPM_ALG_ID"));
    }
    const uint16_t alg = static_cast<uint16_t>(bank.hash_alg());
    const std::optional<size_t> size = attest::KnownDigestSize(alg);
    if (!size) {
      return absl::InvalidArgumentError(
          absl::StrCat("pcrs: unknown hash algorithm 0x", absl::Hex(alg, absl::kZeroPad4)));
    }
    if (out.count(alg)) {
      return absl::InvalidArgumentError(
          absl::StrCat("pcrs: bank ", attest::HashAlgName(alg), " given twice"));
    }
    attest::PcrBank& values = out[alg];
    if (bank.values_size() > static_cast<int>(attest::kMaxPcrIndex) + 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("pcrs: bank ", attest::HashAlgName(alg), " has more than 24 values"));
    }
    for (const v1::PcrValue& v : bank.values()) {
      const std::string where = absl::StrCat("pcrs: ", attest::HashAlgName(alg), ":", v.index());
      if (v.index() > attest::kMaxPcrIndex) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": PCR index above 23"));
      }
      if (v.digest().size() != *size) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", v.digest().size(),
                                                       " bytes, the bank's digests have ", *size));
      }
      if (!values.emplace(v.index(), attest::Bytes(v.digest().begin(), v.digest().end())).second) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": given twice"));
      }
    }
  }
  return out;
}

void PcrValuesToProto(const attest::PcrValues& values,
                      google::protobuf::RepeatedPtrField<v1::PcrBank>* out) {
  for (const auto& [alg, bank] : values) {
    v1::PcrBank* b = out->Add();
    b->set_hash_alg(alg);
    for (const auto& [pcr, value] : bank) {
      v1::PcrValue* v = b->add_values();
      v->set_index(pcr);
      v->set_digest(std::string(value.begin(), value.end()));
    }
  }
}

void NodeToProto(const NodeRecord& n, v1::Node* out) {
  out->set_node_id(n.node_id);
  out->set_ak_name(std::string(n.ak_name.begin(), n.ak_name.end()));
  out->set_ak_public(std::string(n.ak_public.begin(), n.ak_public.end()));
  out->set_ek_public(std::string(n.ek_public.begin(), n.ek_public.end()));
  out->set_ek_public_sha256(n.ek_public_sha256);
  out->set_ek_certificate_sha256(n.ek_cert_sha256);
  out->set_ek_certificate_nv_index(n.ek_cert_nv_index);
  out->set_tpm_manufacturer(n.tpm_manufacturer);
  out->set_tpm_model(n.tpm_model);
  out->set_tpm_version(n.tpm_version);
  out->set_hostname(n.hostname);
  SetTimestamp(n.enrolled_at, out->mutable_enrolled_at());
  out->set_enrollment_id(n.enrollment_id);
  out->set_revoked(n.revoked());
  if (n.revoked_at) SetTimestamp(*n.revoked_at, out->mutable_revoked_at());
  out->set_revoke_reason(n.revoke_reason);
  if (n.last_attested_at) SetTimestamp(*n.last_attested_at, out->mutable_last_attested_at());
  out->set_last_attestation_id(n.last_attestation_id);
  out->set_last_verdict(VerdictToProto(n.last_verdict));
  if (n.last_clock) ClockToProto(*n.last_clock, out->mutable_last_clock());
  for (const auto& [key, value] : n.labels) (*out->mutable_labels())[key] = value;
  out->set_state(n.state);
  SetTimestamp(n.state_since, out->mutable_state_since());
  if (n.last_attempt_at) SetTimestamp(*n.last_attempt_at, out->mutable_last_attempt_at());
}

void NodeTransitionToProto(const NodeTransition& t, v1::NodeTransition* out) {
  out->set_event_id(t.event_id);
  SetTimestamp(t.at, out->mutable_at());
  out->set_old_state(t.old_state);
  out->set_new_state(t.new_state);
  FindingsToProto(t.reasons, out->mutable_reasons());
  out->set_attestation_id(t.attestation_id);
}

v1::EnrollmentStatus EnrollmentStatusToProto(EnrollmentState state) {
  switch (state) {
    case EnrollmentState::kChallenged:
      return v1::ENROLLMENT_STATUS_CHALLENGED;
    case EnrollmentState::kEnrolled:
      return v1::ENROLLMENT_STATUS_ENROLLED;
    case EnrollmentState::kRejected:
      return v1::ENROLLMENT_STATUS_REJECTED;
  }
  return v1::ENROLLMENT_STATUS_UNSPECIFIED;
}

void EnrollmentToProto(const EnrollmentRecord& e, v1::EnrollmentRecord* out) {
  out->set_enrollment_id(e.enrollment_id);
  SetTimestamp(e.created_at, out->mutable_created_at());
  out->set_status(EnrollmentStatusToProto(e.state));
  FindingsToProto(e.findings, out->mutable_findings());
  out->set_node_id(e.node.node_id);
  out->set_hostname(e.node.hostname);
  out->set_ak_name(std::string(e.node.ak_name.begin(), e.node.ak_name.end()));
  out->set_ek_public_sha256(e.node.ek_public_sha256);
  out->set_ek_certificate_sha256(e.node.ek_cert_sha256);
  if (e.finished_at) SetTimestamp(*e.finished_at, out->mutable_finished_at());
}

void AttestationToProto(const AttestationRecord& a, v1::AttestationRecord* out) {
  out->set_attestation_id(a.attestation_id);
  out->set_node_id(a.node_id);
  SetTimestamp(a.created_at, out->mutable_created_at());
  out->set_verdict(VerdictToProto(a.verdict));
  FindingsToProto(a.findings, out->mutable_findings());
  StagesToProto(StagesFromJson(a.checks_json), out->mutable_checks());
  out->set_policy_id(a.policy_id);
  out->set_policy_matched(a.policy_matched);
  FindingsToProto(a.policy_warnings, out->mutable_policy_warnings());
  out->set_policy_explanation(a.policy_explanation);
  if (a.clock) ClockToProto(*a.clock, out->mutable_clock());
  out->set_new_boot(a.new_boot);
  out->set_token_id(a.token_id);
  out->set_nonce(std::string(a.nonce.begin(), a.nonce.end()));
  out->set_ear_jwt(a.ear_jwt);
  out->set_appraisal_micros(static_cast<uint64_t>(a.appraisal_micros));
  out->set_quote(std::string(a.quote.begin(), a.quote.end()));
  out->set_signature(std::string(a.signature.begin(), a.signature.end()));
  if (!a.pcrs_json.empty()) {
    auto pcrs = attest::ParsePcrValuesJson(a.pcrs_json);
    if (pcrs.ok()) PcrValuesToProto(*pcrs, out->mutable_pcrs());
  }
  out->set_event_log(std::string(a.event_log.begin(), a.event_log.end()));
  out->set_ima_log(std::string(a.ima_log.begin(), a.ima_log.end()));
}

void TokenToProto(const TokenRecord& t, v1::TokenRecord* out) {
  out->set_token_id(t.token_id);
  out->set_node_id(t.node_id);
  out->set_attestation_id(t.attestation_id);
  SetTimestamp(t.issued_at, out->mutable_issued_at());
  SetTimestamp(t.expires_at, out->mutable_expires_at());
  out->set_issuer(t.issuer);
  out->set_status(t.status);
  out->set_reason(t.reason);
}

}  // namespace bootgate::verifier
