#include "node-agent/x509_summary.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "absl/strings/str_cat.h"
#include "attest/crypto/ossl.h"

namespace bootgate::agent {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);  // NOLINT(runtime/int): OpenSSL's type.
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string NameString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  return BioContents(bio.get());
}

std::string TimeString(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  char buf[32];
  if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) return "";
  return buf;
}

std::string KeyString(const EVP_PKEY* key) {
  if (key == nullptr) return "";
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    return absl::StrCat("RSA-", EVP_PKEY_get_bits(key));
  }
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1) {
      return absl::StrCat("EC-", group);
    }
    return "EC";
  }
  return EVP_PKEY_get0_type_name(key) != nullptr ? EVP_PKEY_get0_type_name(key) : "unknown";
}

}  // namespace

absl::StatusOr<X509Summary> SummarizeCertificate(attest::ByteSpan der) {
  const uint8_t* p = der.data();
  attest::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // NOLINT
  if (cert == nullptr) return attest::OpenSslError("parse X.509 certificate");
  X509Summary s;
  s.subject = NameString(X509_get_subject_name(cert.get()));
  s.issuer = NameString(X509_get_issuer_name(cert.get()));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  attest::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn != nullptr) {
    char* hex = BN_bn2hex(bn.get());
    if (hex != nullptr) {
      s.serial = hex;
      OPENSSL_free(hex);
    }
  }
  s.not_before = TimeString(X509_get0_notBefore(cert.get()));
  s.not_after = TimeString(X509_get0_notAfter(cert.get()));
  s.key = KeyString(X509_get0_pubkey(cert.get()));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return attest::OpenSslError("PEM-encode certificate");
  }
  s.pem = BioContents(bio.get());
  return s;
}

}  // namespace bootgate::agent
