#include "node-agent/tpm/pcr.h"

#include <cstring>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {
namespace {

bool AnySelected(const TPML_PCR_SELECTION& sel) {
  for (uint32_t i = 0; i < sel.count; ++i) {
    for (uint8_t j = 0; j < sel.pcrSelections[i].sizeofSelect; ++j) {
      if (sel.pcrSelections[i].pcrSelect[j] != 0) return true;
    }
  }
  return false;
}

void Deselect(TPML_PCR_SELECTION* sel, uint16_t alg, uint32_t pcr) {
  for (uint32_t i = 0; i < sel->count; ++i) {
    TPMS_PCR_SELECTION& bank = sel->pcrSelections[i];
    if (bank.hash == alg && pcr / 8 < bank.sizeofSelect) {
      bank.pcrSelect[pcr / 8] &= static_cast<uint8_t>(~(1u << (pcr % 8)));
    }
  }
}

}  // namespace

absl::StatusOr<PcrReadResult> ReadPcrs(TpmConnection& tpm, const attest::PcrSelection& selection) {
  ASSIGN_OR_RETURN(TPML_PCR_SELECTION remaining, attest::PcrSelectionToTpml(selection));
  PcrReadResult result;
  bool first = true;
  while (AnySelected(remaining)) {
    uint32_t counter = 0;
    EsysOut<TPML_PCR_SELECTION> read_selection;
    EsysOut<TPML_DIGEST> digests;
    TSS2_RC rc = Esys_PCR_Read(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &remaining,
                               &counter, read_selection.out(), digests.out());
    RETURN_IF_ERROR(TssStatus(rc, "TPM2_PCR_Read"));
    if (first) {
      result.update_counter = counter;
      first = false;
    } else if (counter != result.update_counter) {
      result.consistent = false;
    }

    uint32_t next_digest = 0;
    for (uint32_t i = 0; i < read_selection->count && i < TPM2_NUM_PCR_BANKS; ++i) {
      const TPMS_PCR_SELECTION& bank = read_selection->pcrSelections[i];
      const std::optional<size_t> size = attest::KnownDigestSize(bank.hash);
      for (uint32_t pcr = 0; pcr < 8u * bank.sizeofSelect && pcr / 8 < TPM2_PCR_SELECT_MAX; ++pcr) {
        if (((bank.pcrSelect[pcr / 8] >> (pcr % 8)) & 1) == 0) continue;
        if (next_digest >= digests->count || next_digest >= std::size(digests->digests)) {
          return absl::DataLossError("TPM2_PCR_Read: fewer digests than selected PCRs");
        }
        const TPM2B_DIGEST& d = digests->digests[next_digest++];
        if (!size.has_value() || d.size != *size) {
          return absl::DataLossError(absl::StrCat("TPM2_PCR_Read: ", attest::HashAlgName(bank.hash),
                                                  " PCR ", pcr, " has a ", d.size, "-byte value"));
        }
        result.values[bank.hash][pcr] = attest::Bytes(d.buffer, d.buffer + d.size);
        Deselect(&remaining, bank.hash, pcr);
      }
    }
    if (next_digest != digests->count) {
      return absl::DataLossError("TPM2_PCR_Read: more digests than selected PCRs");
    }
    if (next_digest == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "TPM2_PCR_Read returned no values for ",
          attest::FormatPcrSelectionSpec(
              attest::PcrSelectionFromTpml(remaining).value_or(attest::PcrSelection{})),
          " (bank not active on this TPM?)"));
    }
  }
  return result;
}

absl::Status ExtendPcr(TpmConnection& tpm, uint32_t pcr,
                       const std::vector<attest::EventDigest>& digests) {
  if (pcr > attest::kMaxPcrIndex) {
    return absl::InvalidArgumentError(absl::StrCat("PCR ", pcr, " does not exist"));
  }
  TPML_DIGEST_VALUES values{};
  for (const attest::EventDigest& d : digests) {
    if (values.count >= TPM2_NUM_PCR_BANKS) {
      return absl::InvalidArgumentError("more digests than PCR banks");
    }
    TPMT_HA& ha = values.digests[values.count++];
    if (d.digest.size() > sizeof(ha.digest)) {
      return absl::InvalidArgumentError(
          absl::StrCat(attest::HashAlgName(d.alg), " digest of ", d.digest.size(), " bytes"));
    }
    ha.hashAlg = d.alg;
    std::memcpy(&ha.digest, d.digest.data(), d.digest.size());
  }
  TSS2_RC rc = Esys_PCR_Extend(tpm.esys(), ESYS_TR_PCR0 + pcr, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &values);
  return TssStatus(rc, absl::StrCat("TPM2_PCR_Extend(PCR ", pcr, ")"));
}

}  // namespace bootgate::agent
