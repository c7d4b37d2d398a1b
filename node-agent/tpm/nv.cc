#include "node-agent/tpm/nv.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {

absl::StatusOr<attest::Bytes> ReadNvIndex(TpmConnection& tpm, TPM2_HANDLE index,
                                          uint32_t chunk_size) {
  const std::string what = absl::StrFormat("NV index 0x%08x", index);
  ESYS_TR raw_tr = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_TR_FromTPMPublic(tpm.esys(), index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw_tr);
  ScopedTr nv(tpm.esys(), raw_tr, ScopedTr::Release::kClose);
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("open ", what)));

  EsysOut<TPM2B_NV_PUBLIC> pub;
  EsysOut<TPM2B_NAME> name;
  rc = Esys_NV_ReadPublic(tpm.esys(), nv.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, pub.out(),
                          name.out());
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("TPM2_NV_ReadPublic(", what, ")")));

  const TPMA_NV attrs = pub->nvPublic.attributes;
  const uint16_t size = pub->nvPublic.dataSize;
  if (size > kMaxNvIndexBytes) {
    return absl::OutOfRangeError(
        absl::StrCat(what, ": ", size, " bytes exceed the cap of ", kMaxNvIndexBytes));
  }
  ESYS_TR auth;
  if ((attrs & TPMA_NV_OWNERREAD) != 0) {
    auth = ESYS_TR_RH_OWNER;
  } else if ((attrs & TPMA_NV_AUTHREAD) != 0) {
    auth = nv.get();
  } else {
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s: neither OWNERREAD nor AUTHREAD is set (attributes 0x%08x)", what, attrs));
  }

  const uint32_t chunk = std::clamp<uint32_t>(chunk_size == 0 ? 512 : chunk_size, 1,
                                              sizeof(TPM2B_MAX_NV_BUFFER::buffer));
  attest::Bytes data;
  data.reserve(size);
  while (data.size() < size) {
    const uint16_t offset = static_cast<uint16_t>(data.size());
    const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(chunk, size - offset));
    EsysOut<TPM2B_MAX_NV_BUFFER> part;
    rc = Esys_NV_Read(tpm.esys(), auth, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
                      offset, part.out());
    RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("TPM2_NV_Read(", what, ", offset ", offset, ")")));
    if (part->size != n) {
      return absl::DataLossError(
          absl::StrCat(what, ": asked for ", n, " bytes at ", offset, ", got ", part->size));
    }
    data.insert(data.end(), part->buffer, part->buffer + part->size);
  }
  return data;
}

}  // namespace bootgate::agent
