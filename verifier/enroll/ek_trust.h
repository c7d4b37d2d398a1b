// EK certificate validation against a pinned CA bundle (DESIGN.md, Enrollment step 2):
//  - path building with OpenSSL's X509_STORE through intermediates from the bundle and from the
//    agent, up to a self-signed root in the bundle (no X509_V_FLAG_PARTIAL_CHAIN: a bundle that
//    pins only an intermediate does not make it a trust anchor);
//  - validity of every certificate in the chain at the injected time;
//  - EKU tcg-kp-EKCertificate (2.23.133.8.1) on the EK certificate (OpenSSL has no purpose for it,
//    so it is checked here explicitly after path validation);
//  - the TPM manufacturer subjectAltName (directoryName with tcg-at-tpmManufacturer 2.23.133.2.1).
//    EK certificates mark this SAN critical (the subject is often empty); should OpenSSL report
//    it as an unhandled critical extension, the verify callback accepts exactly that extension,
//    on the EK certificate only, because it is checked here.
#ifndef BOOTGATE_VERIFIER_ENROLL_EK_TRUST_H_
#define BOOTGATE_VERIFIER_ENROLL_EK_TRUST_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/crypto/ossl.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier {

struct EkCertVerdict {
  std::string code;  // empty = trusted; else an ENROLL_EK_* code (verifier/codes.h)
  std::string detail;
  TpmSan tpm;         // from the SAN, when trusted
  std::string chain;  // subjects from the EK certificate to the root, for the record

  bool trusted() const { return code.empty(); }
};

class EkTrustStore {
 public:
  // A PEM/DER file or a directory of such files (*.pem, *.crt, *.cer, *.der; others ignored).
  // Self-signed certificates become trust anchors, the others untrusted intermediates for path
  // building. No root at all is an error.
  static absl::StatusOr<std::unique_ptr<EkTrustStore>> Load(const std::string& path);
  static absl::StatusOr<std::unique_ptr<EkTrustStore>> FromCertificates(
      std::vector<attest::X509Ptr> certs);

  EkCertVerdict Verify(X509* ek_cert, const std::vector<attest::X509Ptr>& agent_intermediates,
                       absl::Time now) const;

  size_t roots() const { return roots_; }
  size_t intermediates() const { return intermediates_.size(); }

 private:
  EkTrustStore() = default;
  X509StorePtr store_;
  std::vector<attest::X509Ptr> intermediates_;
  size_t roots_ = 0;
};

// The TPM identity from an EK certificate's subjectAltName, or nullopt when the certificate has no
// directoryName carrying tcg-at-tpmManufacturer.
std::optional<TpmSan> ReadTpmSan(X509* cert);
bool HasEkCertificateEku(X509* cert);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_ENROLL_EK_TRUST_H_
