// Optional inventory pinning: only EKs an operator listed may enroll. The file holds one SHA-256
// fingerprint (64 hex digits) per line, '#' starts a comment. A fingerprint matches either the EK
// certificate (SHA-256 of its DER, `sha256sum ek.der`) or the EK public key (SHA-256 of the
// canonical TPMT_PUBLIC, i.e. the EK name without its 000b prefix, `tpm2_readpublic -n`).
#ifndef BOOTGATE_VERIFIER_ENROLL_EK_ALLOW_LIST_H_
#define BOOTGATE_VERIFIER_ENROLL_EK_ALLOW_LIST_H_

#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bootgate::verifier {

class EkAllowList {
 public:
  static absl::StatusOr<std::unique_ptr<EkAllowList>> Parse(absl::string_view text,
                                                            absl::string_view what);
  static absl::StatusOr<std::unique_ptr<EkAllowList>> LoadFile(const std::string& path);

  bool Allows(const std::string& ek_cert_sha256, const std::string& ek_public_sha256) const {
    return entries_.count(ek_cert_sha256) > 0 || entries_.count(ek_public_sha256) > 0;
  }
  size_t size() const { return entries_.size(); }

 private:
  std::set<std::string> entries_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_ENROLL_EK_ALLOW_LIST_H_
