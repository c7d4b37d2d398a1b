#include "node-agent/tpm/tss_error.h"

#include <tss2/tss2_rc.h>
#include <tss2/tss2_tpm2_types.h>

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"

namespace bootgate::agent {
namespace {

constexpr char kKindPayloadUrl[] = "type.bootgate.dev/agent.TpmErrorKind";

struct KindInfo {
  TpmErrorKind kind;
  absl::StatusCode code;
  const char* tag;  // the payload value
};

constexpr KindInfo kKinds[] = {
    {TpmErrorKind::kNoTpm, absl::StatusCode::kNotFound, "no-tpm"},
    {TpmErrorKind::kTctiUnreachable, absl::StatusCode::kUnavailable, "tcti-unreachable"},
    {TpmErrorKind::kLockout, absl::StatusCode::kFailedPrecondition, "lockout"},
    {TpmErrorKind::kAuthFailure, absl::StatusCode::kPermissionDenied, "auth-failure"},
    {TpmErrorKind::kOutOfObjectMemory, absl::StatusCode::kResourceExhausted, "object-memory"},
    {TpmErrorKind::kTpmError, absl::StatusCode::kInternal, "tpm-error"},
};

const KindInfo& InfoFor(TpmErrorKind kind) {
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return info;
  }
  return kKinds[std::size(kKinds) - 1];
}

TSS2_RC Layer(TSS2_RC rc) { return rc & TSS2_RC_LAYER_MASK; }

// Response codes that come from a TPM: straight from it, or relayed by a resource manager.
bool IsTpmLayer(TSS2_RC rc) {
  return Layer(rc) == TSS2_TPM_RC_LAYER || Layer(rc) == TSS2_RESMGR_TPM_RC_LAYER;
}

struct Classified {
  TpmErrorKind kind;
  const char* meaning;
};

Classified Classify(TSS2_RC rc) {
  if (Layer(rc) == TSS2_TCTI_RC_LAYER) {
    return {TpmErrorKind::kTctiUnreachable, "cannot reach the TPM through the TCTI"};
  }
  const TSS2_RC base_layer_code = rc & 0xffff;
  if (!IsTpmLayer(rc) &&
      (base_layer_code == TSS2_BASE_RC_NO_CONNECTION || base_layer_code == TSS2_BASE_RC_IO_ERROR)) {
    return {TpmErrorKind::kTctiUnreachable, "lost the connection to the TPM"};
  }
  if (IsTpmLayer(rc)) {
    switch (TpmBaseResponseCode(rc)) {
      case TPM2_RC_LOCKOUT:
        return {TpmErrorKind::kLockout, "TPM is in dictionary-attack lockout"};
      case TPM2_RC_AUTH_FAIL:
      case TPM2_RC_BAD_AUTH:
      case TPM2_RC_POLICY_FAIL:
        return {TpmErrorKind::kAuthFailure, "TPM rejected the authorization"};
      case TPM2_RC_OBJECT_MEMORY:
        return {TpmErrorKind::kOutOfObjectMemory,
                "TPM is out of object memory (a transient object or session leaked)"};
      default:
        return {TpmErrorKind::kTpmError, "TPM returned an error"};
    }
  }
  return {TpmErrorKind::kTpmError, "TPM software stack error"};
}

}  // namespace

TSS2_RC TpmBaseResponseCode(TSS2_RC rc) {
  if (!IsTpmLayer(rc)) return rc;
  const TSS2_RC code = rc & 0xfff;
  // Format-one codes carry a handle, session or parameter number in bits 6 and 8-11.
  if ((code & TPM2_RC_FMT1) != 0) return code & (TPM2_RC_FMT1 | 0x3f);
  return code;
}

absl::Status TpmError(TpmErrorKind kind, absl::string_view message) {
  const KindInfo& info = InfoFor(kind);
  absl::Status status(info.code, message);
  status.SetPayload(kKindPayloadUrl, absl::Cord(info.tag));
  return status;
}

absl::Status TssStatus(TSS2_RC rc, absl::string_view operation) {
  if (rc == TSS2_RC_SUCCESS) return absl::OkStatus();
  const Classified c = Classify(rc);
  // Tss2_RC_Decode returns a static buffer; copy it at once.
  const std::string decoded = Tss2_RC_Decode(rc);
  return TpmError(c.kind,
                  absl::StrFormat("%s: %s (%s, rc 0x%x)", operation, c.meaning, decoded, rc));
}

std::optional<TpmErrorKind> GetTpmErrorKind(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  absl::optional<absl::Cord> tag = status.GetPayload(kKindPayloadUrl);
  if (!tag.has_value()) return std::nullopt;
  for (const KindInfo& info : kKinds) {
    if (*tag == info.tag) return info.kind;
  }
  return std::nullopt;
}

}  // namespace bootgate::agent
