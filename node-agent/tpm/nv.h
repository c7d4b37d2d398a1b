// Reading NV indexes (EK certificates and their CA chain).
#ifndef BOOTGATE_NODE_AGENT_TPM_NV_H_
#define BOOTGATE_NODE_AGENT_TPM_NV_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"
#include "node-agent/tpm/esys.h"

namespace bootgate::agent {

// NV indexes larger than this are refused before any read (EK certificates are ~1-2 KiB).
inline constexpr uint16_t kMaxNvIndexBytes = 16 * 1024;

// Reads a whole NV index in chunks of at most `chunk_size` bytes (TPM2_PT_NV_BUFFER_MAX). The
// authorization follows the index's attributes: owner (empty owner auth) when OWNERREAD is set,
// else the index's own (empty) auth when AUTHREAD is set.
absl::StatusOr<attest::Bytes> ReadNvIndex(TpmConnection& tpm, TPM2_HANDLE index,
                                          uint32_t chunk_size);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_NV_H_
