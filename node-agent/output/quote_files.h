// The files `bootgate-agent quote --out DIR` writes, readable by `bootgate quote verify` and by
// tpm2-tools' `tpm2_checkquote`:
//
//   quote.msg   TPMS_ATTEST exactly as signed (TPM2B_ATTEST.attestationData)
//   quote.sig   TPMT_SIGNATURE (tss2-mu marshalled)
//   quote.pcrs  the PCR values in tpm2-tools' "serialized" format (see SerializeTpm2ToolsPcrs)
//   pcrs.json   {"sha256": {"0": "<hex>", ...}, ...}: exactly the quoted PCRs
//   ak.pub      the AK's TPM2B_PUBLIC
//   ak.pem      the AK's public key as PEM SubjectPublicKeyInfo
//   ak.name     the AK's TPM name (binary)
//   nonce       the nonce, lower-case hex and a newline
#ifndef BOOTGATE_NODE_AGENT_OUTPUT_QUOTE_FILES_H_
#define BOOTGATE_NODE_AGENT_OUTPUT_QUOTE_FILES_H_

#include <tss2/tss2_tpm2_types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "attest/util/bytes.h"
#include "node-agent/agent.h"

namespace bootgate::agent {

// tpm2-tools 5.x `tpm2_quote -o FILE -F serialized` (its default) dumps its C structures as they
// lie in memory on a little-endian host: TPML_PCR_SELECTION (u32 count, then 16 slots of u16 hash,
// u8 sizeofSelect, u8[4] pcrSelect, 1 padding byte; 132 bytes), a u32 number of TPML_DIGESTs, and
// that many TPML_DIGEST (u32 count, then 8 slots of u16 size + 64-byte buffer; 532 bytes). The
// digests follow the selection order (banks in TPML order, PCRs ascending), 8 per TPML_DIGEST as
// TPM2_PCR_Read returns them. Every unused byte is zero. Written explicitly here, field by field.
absl::StatusOr<attest::Bytes> SerializeTpm2ToolsPcrs(const attest::PcrSelection& selection,
                                                     const attest::PcrValues& values);

// PEM SubjectPublicKeyInfo of an RSA or ECC public area.
absl::StatusOr<std::string> PublicKeyPem(const TPMT_PUBLIC& pub);

// Creates `dir` (0755) when needed and writes every file listed above (0644).
absl::Status WriteQuoteFiles(const std::string& dir, const AgentQuote& quote);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_OUTPUT_QUOTE_FILES_H_
