#include "verifier/store/rows.h"

namespace bootgate::verifier::rows {

std::optional<absl::Time> OptTime(const Statement& s, int col) {
  auto v = s.OptionalInt(col);
  if (!v) return std::nullopt;
  return FromMicros(*v);
}

NodeRecord ReadNodeBase(const Statement& s) {
  NodeRecord n;
  n.node_id = s.Text(0);
  n.ak_name = s.Blob(1);
  n.ak_public = s.Blob(2);
  n.ek_public = s.Blob(3);
  n.ek_public_sha256 = s.Text(4);
  n.ek_cert_sha256 = s.Text(5);
  n.ek_cert_nv_index = static_cast<uint32_t>(s.Int(6));
  n.ek_cert = s.Blob(7);
  n.tpm_manufacturer = s.Text(8);
  n.tpm_model = s.Text(9);
  n.tpm_version = s.Text(10);
  n.hostname = s.Text(11);
  n.enrolled_at = FromMicros(s.Int(12));
  n.enrollment_id = s.Text(13);
  n.revoked_at = OptTime(s, 14);
  n.revoke_reason = s.Text(15);
  n.last_attested_at = OptTime(s, 16);
  n.last_attestation_id = s.Text(17);
  n.last_verdict = s.Text(18);
  if (!s.IsNull(19)) {
    n.last_clock = ClockState{static_cast<uint64_t>(s.Int(19)), static_cast<uint32_t>(s.Int(20)),
                              static_cast<uint32_t>(s.Int(21)), s.Int(22) != 0};
  }
  return n;
}

AttestationRecord ReadAttestation(const Statement& s, bool with_evidence) {
  AttestationRecord a;
  a.attestation_id = s.Text(0);
  a.node_id = s.Text(1);
  a.created_at = FromMicros(s.Int(2));
  a.verdict = s.Text(3);
  a.checks_json = s.Text(4);
  a.policy_id = s.Text(5);
  if (!s.IsNull(6)) {
    a.clock = ClockState{static_cast<uint64_t>(s.Int(6)), static_cast<uint32_t>(s.Int(7)),
                         static_cast<uint32_t>(s.Int(8)), s.Int(9) != 0};
  }
  a.new_boot = s.Int(10) != 0;
  a.token_id = s.Text(11);
  a.ear_jwt = s.Text(12);
  a.appraisal_micros = s.Int(13);
  a.nonce = s.Blob(14);
  if (with_evidence) {
    a.quote = s.Blob(15);
    a.signature = s.Blob(16);
    a.pcrs_json = s.Text(17);
    a.event_log = s.Blob(18);
    a.ima_log = s.Blob(19);
  }
  return a;
}

}  // namespace bootgate::verifier::rows
