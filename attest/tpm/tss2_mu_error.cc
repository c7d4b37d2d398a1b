#include "attest/tpm/tss2_mu_error.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace bootgate::attest {

absl::Status Tss2MuStatus(TSS2_RC rc, absl::string_view structure) {
  if (rc == TSS2_RC_SUCCESS) return absl::OkStatus();
  const char* cause;
  switch (rc & 0xffff) {
    case TSS2_BASE_RC_INSUFFICIENT_BUFFER: cause = "truncated"; break;
    case TSS2_BASE_RC_BAD_VALUE: cause = "field value out of range"; break;
    case TSS2_BASE_RC_BAD_SIZE: cause = "size field too large"; break;
    case TSS2_BASE_RC_BAD_REFERENCE: cause = "null reference"; break;
    default: cause = "malformed"; break;
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%s: %s (tss2-mu rc 0x%08x)", structure, cause, rc));
}

}  // namespace bootgate::attest
