// The one place where tpm2-tss return codes (TSS2_RC from ESAPI, the TCTI loader and the TPM
// itself) become absl::Status. A few failure classes matter to operators and scripts, so they are
// tagged with a TpmErrorKind that the CLI maps to distinct exit codes.
#ifndef BOOTGATE_NODE_AGENT_TPM_TSS_ERROR_H_
#define BOOTGATE_NODE_AGENT_TPM_TSS_ERROR_H_

#include <tss2/tss2_common.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace bootgate::agent {

enum class TpmErrorKind {
  kNoTpm,              // no TPM device on this machine (status code NOT_FOUND)
  kTctiUnreachable,    // the TCTI could not be loaded or could not connect (UNAVAILABLE)
  kLockout,            // the TPM is in dictionary-attack lockout (FAILED_PRECONDITION)
  kAuthFailure,        // an authorization value or policy was rejected (PERMISSION_DENIED)
  kOutOfObjectMemory,  // TPM_RC_OBJECT_MEMORY: transient slots exhausted (RESOURCE_EXHAUSTED)
  kTpmError,           // any other TPM or TSS failure (INTERNAL)
};

// OK for TSS2_RC_SUCCESS. Otherwise one line: "<operation>: <meaning> (<Tss2_RC_Decode text>,
// rc 0x...)", tagged with its TpmErrorKind.
absl::Status TssStatus(TSS2_RC rc, absl::string_view operation);

// A tagged error for failures found before any TSS call (e.g. the TPM device node is missing).
absl::Status TpmError(TpmErrorKind kind, absl::string_view message);

// The kind a status was tagged with by TssStatus/TpmError, or nullopt for other errors.
std::optional<TpmErrorKind> GetTpmErrorKind(const absl::Status& status);

// The TPM response code's base error with the handle/session/parameter number removed
// (e.g. 0x98e -> TPM2_RC_AUTH_FAIL), or the rc unchanged for non-TPM layers.
TSS2_RC TpmBaseResponseCode(TSS2_RC rc);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_TSS_ERROR_H_
