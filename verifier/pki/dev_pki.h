// `bootgate-verifier init DIR`: a development PKI made with OpenSSL's APIs and a configuration
// that uses it. Not for production (the CA key sits next to the certificates).
//
//   ca.pem / ca.key             self-signed CA (EC P-256): signs the server and admin certs;
//                               agents pin ca.pem to authenticate the verifier
//   server.pem / server.key     TLS server cert, SANs localhost, 127.0.0.1, ::1
//   admin.pem / admin.key       TLS client cert (clientAuth) for the admin API
//   ear-signing.key / .pub.pem  ES256 key that signs EAR attestation results
//   verifier.yaml               configuration using all of the above
//   ek-ca/                      empty: put your TPM vendors' EK CA certificates here
//
// Refuses to overwrite: if any of these exists in DIR, nothing is written.
#ifndef BOOTGATE_VERIFIER_PKI_DEV_PKI_H_
#define BOOTGATE_VERIFIER_PKI_DEV_PKI_H_

#include <string>

#include "absl/status/status.h"
#include "verifier/util/clock.h"

namespace bootgate::verifier {

struct InitOptions {
  // EK CA bundle written into the configuration; empty = DIR/ek-ca (created empty).
  std::string ek_ca;
};

absl::Status InitVerifierDirectory(const std::string& dir, const InitOptions& options,
                                   const Clock& clock);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_PKI_DEV_PKI_H_
