// Row <-> record mapping shared by the read-write Store (store.cc) and the read-only AuditReader
// (audit_queries.cc), so both read the same columns the same way. The base node columns are those
// of schema 1 (the audit reader also opens older stores); store.cc appends the later ones.
#ifndef BOOTGATE_VERIFIER_STORE_ROWS_H_
#define BOOTGATE_VERIFIER_STORE_ROWS_H_

#include <cstdint>
#include <optional>

#include "absl/time/time.h"
#include "verifier/store/records.h"
#include "verifier/store/sqlite.h"

namespace bootgate::verifier::rows {

inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t us) { return absl::FromUnixMicros(us); }
std::optional<absl::Time> OptTime(const Statement& s, int col);

// Columns 0-22 of a node row; NodeBaseColumnCount() of them.
inline constexpr char kNodeBaseColumns[] =
    "node_id, ak_name, ak_public, ek_public, ek_public_sha256, ek_cert_sha256, ek_cert_nv_index, "
    "ek_cert, tpm_manufacturer, tpm_model, tpm_version, hostname, enrolled_at, enrollment_id, "
    "revoked_at, revoke_reason, last_attested_at, last_attestation_id, last_verdict, last_clock, "
    "last_reset_count, last_restart_count, last_safe";
inline constexpr int kNodeBaseColumnCount = 23;
NodeRecord ReadNodeBase(const Statement& s);

inline constexpr char kAttestationColumns[] =
    "attestation_id, node_id, created_at, verdict, checks_json, policy_id, clock, reset_count, "
    "restart_count, safe, new_boot, token_id, ear_jwt, appraisal_micros, nonce";
inline constexpr char kEvidenceColumns[] = ", quote, signature, pcrs_json, event_log, ima_log";
AttestationRecord ReadAttestation(const Statement& s, bool with_evidence);

}  // namespace bootgate::verifier::rows

#endif  // BOOTGATE_VERIFIER_STORE_ROWS_H_
