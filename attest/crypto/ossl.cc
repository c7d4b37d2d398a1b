#include "attest/crypto/ossl.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace bootgate::attest {

absl::Status OpenSslError(absl::string_view operation, absl::StatusCode code) {
  std::string detail;
  unsigned long err;  // NOLINT(runtime/int): OpenSSL's type.
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!detail.empty()) detail += "; ";
    detail += buf;
  }
  if (detail.empty()) detail = "no OpenSSL error recorded";
  return absl::Status(code, absl::StrCat(operation, ": ", detail));
}

}  // namespace bootgate::attest
