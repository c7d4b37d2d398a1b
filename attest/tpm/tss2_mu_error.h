// The one place that maps tss2-mu return codes to Status.
#ifndef BOOTGATE_ATTEST_TPM_TSS2_MU_ERROR_H_
#define BOOTGATE_ATTEST_TPM_TSS2_MU_ERROR_H_

#include <tss2/tss2_common.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace bootgate::attest {

// OK for TSS2_RC_SUCCESS; otherwise InvalidArgument naming the structure and the cause
// (insufficient buffer = truncated input, bad value = out-of-range field, bad size ...).
absl::Status Tss2MuStatus(TSS2_RC rc, absl::string_view structure);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_TSS2_MU_ERROR_H_
