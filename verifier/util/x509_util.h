// X.509 helpers for the verifier: RAII owners for the OpenSSL handle types attest/crypto/ossl.h
// does not cover, certificate parsing (PEM bundles, DER with NV zero padding), fingerprints, PEM
// output, key generation and a small certificate builder (development PKI, tests).
#ifndef BOOTGATE_VERIFIER_UTIL_X509_UTIL_H_
#define BOOTGATE_VERIFIER_UTIL_X509_UTIL_H_

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attest/crypto/ossl.h"
#include "attest/util/bytes.h"

namespace bootgate::verifier {

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free_all(p); }
};
struct X509StoreDeleter {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct X509StoreCtxDeleter {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct X509StackDeleter {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
struct X509NameDeleter {
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct ExtKeyUsageDeleter {
  void operator()(EXTENDED_KEY_USAGE* p) const { EXTENDED_KEY_USAGE_free(p); }
};
struct Asn1ObjectDeleter {
  void operator()(ASN1_OBJECT* p) const { ASN1_OBJECT_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreDeleter>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, X509StoreCtxDeleter>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
using X509NamePtr = std::unique_ptr<X509_NAME, X509NameDeleter>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;
using ExtKeyUsagePtr = std::unique_ptr<EXTENDED_KEY_USAGE, ExtKeyUsageDeleter>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Asn1ObjectDeleter>;

// One or more PEM certificates, or a single DER certificate. `what` names the source in errors.
absl::StatusOr<std::vector<attest::X509Ptr>> ParseCertificates(absl::string_view data,
                                                               absl::string_view what);
// A DER certificate; zero bytes after it (TPM NV areas are often padded) are accepted and
// counted in `*padding`; any other trailing byte is an error.
absl::StatusOr<attest::X509Ptr> ParseDerCertificate(attest::ByteSpan der, size_t* padding);
absl::StatusOr<attest::Bytes> CertificateDer(X509* cert);
absl::StatusOr<std::string> CertificatePem(X509* cert);
absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key);
absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key);
absl::StatusOr<attest::EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem);
absl::StatusOr<attest::EvpPkeyPtr> ParsePublicKeyPem(absl::string_view pem);
std::string Sha256Hex(attest::ByteSpan data);
// "CN=..., O=..." (RFC 2253 order) for messages.
std::string NameString(const X509_NAME* name);

absl::StatusOr<attest::EvpPkeyPtr> GenerateEcP256Key();
absl::StatusOr<attest::EvpPkeyPtr> GenerateRsaKey(unsigned bits);

// TCG EK Credential Profile subjectAltName: a directoryName with tcg-at-tpmManufacturer
// (2.23.133.2.1), tcg-at-tpmModel (2.23.133.2.2), tcg-at-tpmVersion (2.23.133.2.3).
struct TpmSan {
  std::string manufacturer;  // e.g. "id:00001014"
  std::string model;
  std::string version;
};

struct CertSpec {
  std::string common_name;  // empty = empty subject
  absl::Time not_before;
  absl::Time not_after;
  bool is_ca = false;
  std::string key_usage;  // OpenSSL syntax, e.g. "critical,keyCertSign,cRLSign"
  std::vector<std::string>
      extended_key_usage;  // names or dotted OIDs ("serverAuth", "2.23.133.8.1")
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  std::optional<TpmSan> tpm_san;  // written critical, as EK certificates do
  uint64_t serial = 0;            // 0 = random
};

// Signs `spec` for `subject_key` with `issuer_key` (SHA-256); self-signed when `issuer` is null.
absl::StatusOr<attest::X509Ptr> IssueCertificate(const CertSpec& spec, EVP_PKEY* subject_key,
                                                 X509* issuer, EVP_PKEY* issuer_key);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_X509_UTIL_H_
