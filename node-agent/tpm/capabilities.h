// TPM2_GetCapability queries: identity properties, active PCR banks, handle lists and which PCRs
// may be extended from locality 0.
#ifndef BOOTGATE_NODE_AGENT_TPM_CAPABILITIES_H_
#define BOOTGATE_NODE_AGENT_TPM_CAPABILITIES_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

struct TpmIdentity {
  uint32_t manufacturer_id = 0;  // TPM2_PT_MANUFACTURER, e.g. 0x49424d00
  std::string manufacturer;      // the same as up to 4 printable characters ("IBM")
  std::string vendor;            // TPM2_PT_VENDOR_STRING_1..4 concatenated, trimmed
  uint32_t firmware_version_1 = 0;
  uint32_t firmware_version_2 = 0;
  uint32_t spec_level = 0;
  uint32_t spec_revision = 0;  // e.g. 164 for 1.64
  uint32_t spec_year = 0;
  uint32_t spec_day_of_year = 0;
  uint32_t nv_buffer_max = 0;  // TPM2_PT_NV_BUFFER_MAX: largest TPM2_NV_Read chunk
  uint32_t pcr_count = 0;
};

absl::StatusOr<TpmIdentity> ReadTpmIdentity(TpmConnection& tpm);

// Banks (TPM_ALG_ID) with at least one PCR allocated, in the TPM's order.
absl::StatusOr<std::vector<uint16_t>> ReadActivePcrBanks(TpmConnection& tpm);

// Every handle of the handle range starting at `first` (e.g. TPM2_NV_INDEX_FIRST,
// TPM2_PERSISTENT_FIRST) up to `last` inclusive.
absl::StatusOr<std::vector<TPM2_HANDLE>> ListHandles(TpmConnection& tpm, TPM2_HANDLE first,
                                                     TPM2_HANDLE last);

// PCR indexes that TPM2_PCR_Extend accepts from locality 0 (TPM2_PT_PCR_EXTEND_L0), or nullopt
// when the TPM does not report the property (it then implements locality 0 only).
absl::StatusOr<std::optional<std::set<uint32_t>>> ReadPcrsExtendableFromLocality0(
    TpmConnection& tpm);

// "0x20191023" style 8-digit hex, used for firmware versions and handles.
std::string Hex32(uint32_t value);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_CAPABILITIES_H_
