#include "attest/tpm/attest_structs.h"

#include <tss2/tss2_mu.h>

#include "absl/strings/str_cat.h"
#include "attest/tpm/tss2_mu_error.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

namespace {

template <typename T>
using UnmarshalFn = TSS2_RC (*)(const uint8_t*, size_t, size_t*, T*);
template <typename T>
using MarshalFn = TSS2_RC (*)(const T*, uint8_t*, size_t, size_t*);

// One whole structure, nothing after it: a decoder that ignores leftovers would let two different
// byte strings mean the same thing.
template <typename T>
absl::StatusOr<T> UnmarshalExact(ByteSpan data, UnmarshalFn<T> fn, absl::string_view name) {
  T out = {};
  size_t offset = 0;
  RETURN_IF_ERROR(Tss2MuStatus(fn(data.data(), data.size(), &offset, &out), name));
  if (offset != data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", data.size() - offset, " trailing bytes"));
  }
  return out;
}

// The wire form never exceeds the C structure: every TPM2B/array is at most its buffer.
template <typename T>
absl::StatusOr<Bytes> MarshalWhole(const T& value, MarshalFn<T> fn, absl::string_view name) {
  Bytes buf(sizeof(T));
  size_t offset = 0;
  RETURN_IF_ERROR(
      Tss2MuStatus(fn(&value, buf.data(), buf.size(), &offset), absl::StrCat(name, " marshal")));
  buf.resize(offset);
  return buf;
}

}  // namespace

absl::StatusOr<TPMS_ATTEST> ParseTpmsAttest(ByteSpan data) {
  return UnmarshalExact<TPMS_ATTEST>(data, Tss2_MU_TPMS_ATTEST_Unmarshal, "TPMS_ATTEST");
}

absl::StatusOr<Bytes> MarshalTpmsAttest(const TPMS_ATTEST& attest) {
  return MarshalWhole<TPMS_ATTEST>(attest, Tss2_MU_TPMS_ATTEST_Marshal, "TPMS_ATTEST");
}

absl::StatusOr<TPMT_SIGNATURE> ParseTpmtSignature(ByteSpan data) {
  return UnmarshalExact<TPMT_SIGNATURE>(data, Tss2_MU_TPMT_SIGNATURE_Unmarshal, "TPMT_SIGNATURE");
}

absl::StatusOr<Bytes> MarshalTpmtSignature(const TPMT_SIGNATURE& signature) {
  return MarshalWhole<TPMT_SIGNATURE>(signature, Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE");
}

absl::StatusOr<TPML_PCR_SELECTION> ParseTpmlPcrSelection(ByteSpan data) {
  return UnmarshalExact<TPML_PCR_SELECTION>(data, Tss2_MU_TPML_PCR_SELECTION_Unmarshal,
                                            "TPML_PCR_SELECTION");
}

absl::StatusOr<Bytes> MarshalTpmlPcrSelection(const TPML_PCR_SELECTION& selection) {
  return MarshalWhole<TPML_PCR_SELECTION>(selection, Tss2_MU_TPML_PCR_SELECTION_Marshal,
                                          "TPML_PCR_SELECTION");
}

absl::StatusOr<AttestHeader> ReadAttestHeader(ByteSpan data) {
  ByteReader reader(data);
  AttestHeader header;
  ASSIGN_OR_RETURN(header.magic, reader.U32Be("TPMS_ATTEST.magic"));
  ASSIGN_OR_RETURN(header.type, reader.U16Be("TPMS_ATTEST.type"));
  return header;
}

}  // namespace bootgate::attest
