// tss2-mu marshalling of whole TPM structures to and from byte vectors.
#ifndef BOOTGATE_NODE_AGENT_TPM_MARSHAL_H_
#define BOOTGATE_NODE_AGENT_TPM_MARSHAL_H_

#include <tss2/tss2_mu.h>

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "attest/tpm/tss2_mu_error.h"
#include "attest/util/bytes.h"
#include "attest/util/status_macros.h"

namespace bootgate::agent {

template <typename T>
using MuMarshalFn = TSS2_RC (*)(const T*, uint8_t*, size_t, size_t*);
template <typename T>
using MuUnmarshalFn = TSS2_RC (*)(const uint8_t*, size_t, size_t*, T*);

// The marshalled form is never larger than the C structure plus a few size fields.
template <typename T>
absl::StatusOr<attest::Bytes> MarshalTss(const T& value, MuMarshalFn<T> fn,
                                         absl::string_view what) {
  attest::Bytes buf(sizeof(T) + 64);
  size_t offset = 0;
  RETURN_IF_ERROR(attest::Tss2MuStatus(fn(&value, buf.data(), buf.size(), &offset), what));
  buf.resize(offset);
  return buf;
}

// Exactly one structure: trailing bytes are an error.
template <typename T>
absl::StatusOr<T> UnmarshalTss(attest::ByteSpan data, MuUnmarshalFn<T> fn, absl::string_view what) {
  T value{};
  size_t offset = 0;
  RETURN_IF_ERROR(attest::Tss2MuStatus(fn(data.data(), data.size(), &offset, &value), what));
  if (offset != data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", data.size() - offset, " trailing bytes"));
  }
  return value;
}

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_MARSHAL_H_
