#include "verifier/util/x509_util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"

namespace bootgate::verifier {

using attest::Bytes;
using attest::OpenSslError;
using attest::X509Ptr;

namespace {

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len < 0) return OpenSslError("BIO_get_mem_data");
  return std::string(data, static_cast<size_t>(len));
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) return OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

absl::Status AddTpmSan(X509* cert, const TpmSan& san) {
  X509NamePtr dir(X509_NAME_new());
  if (!dir) return OpenSslError("X509_NAME_new");
  const std::pair<const char*, const std::string*> attrs[] = {{"2.23.133.2.1", &san.manufacturer},
                                                              {"2.23.133.2.2", &san.model},
                                                              {"2.23.133.2.3", &san.version}};
  for (const auto& [oid, value] : attrs) {
    if (value->empty()) continue;
    Asn1ObjectPtr obj(OBJ_txt2obj(oid, 1));
    if (!obj || X509_NAME_add_entry_by_OBJ(dir.get(), obj.get(), MBSTRING_UTF8,
                                           reinterpret_cast<const unsigned char*>(value->c_str()),
                                           -1, -1, 0) != 1) {
      return OpenSslError("TPM SAN attribute");
    }
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (!names || gn == nullptr) {
    GENERAL_NAME_free(gn);
    return OpenSslError("GENERAL_NAMES_new");
  }
  GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dir.release());
  if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
    GENERAL_NAME_free(gn);
    return OpenSslError("sk_GENERAL_NAME_push");
  }
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), /*crit=*/1, X509V3_ADD_DEFAULT) !=
      1) {
    return OpenSslError("X509_add1_ext_i2d subjectAltName");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view data,
                                                       absl::string_view what) {
  std::vector<X509Ptr> out;
  if (data.find("-----BEGIN") != absl::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    if (!bio) return OpenSslError("BIO_new_mem_buf");
    while (true) {
      X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!cert) break;
      out.push_back(std::move(cert));
    }
    // The loop ends with a "no start line" error at the end of the data; drop it.
    OpenSslError("PEM end").IgnoreError();
    if (out.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": no PEM certificate could be read"));
    }
    return out;
  }
  size_t padding = 0;
  auto cert = ParseDerCertificate(attest::AsSpan(data), &padding);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", cert.status().message()));
  }
  out.push_back(*std::move(cert));
  return out;
}

absl::StatusOr<X509Ptr> ParseDerCertificate(attest::ByteSpan der, size_t* padding) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert)
    return OpenSslError("DER certificate does not parse", absl::StatusCode::kInvalidArgument);
  const size_t used = static_cast<size_t>(p - der.data());
  for (size_t i = used; i < der.size(); ++i) {
    if (der[i] != 0) {
      return absl::InvalidArgumentError(absl::StrCat("DER certificate: ", der.size() - used,
                                                     " trailing bytes after offset ", used,
                                                     " that are not zero padding"));
    }
  }
  if (padding != nullptr) *padding = der.size() - used;
  return cert;
}

absl::StatusOr<Bytes> CertificateDer(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return OpenSslError("i2d_X509");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> CertificatePem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpenSslError("PEM_write_bio_X509");
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PrivateKey");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1)
    return OpenSslError("PEM_write_bio_PUBKEY");
  return BioContents(bio.get());
}

absl::StatusOr<attest::EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  attest::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("PEM private key", absl::StatusCode::kInvalidArgument);
  return key;
}

absl::StatusOr<attest::EvpPkeyPtr> ParsePublicKeyPem(absl::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  attest::EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("PEM public key", absl::StatusCode::kInvalidArgument);
  return key;
}

std::string Sha256Hex(attest::ByteSpan data) {
  auto digest = attest::Hash(static_cast<uint16_t>(attest::HashAlg::kSha256), data);
  return digest.ok() ? attest::HexEncode(*digest) : std::string();
}

std::string NameString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  auto text = BioContents(bio.get());
  return text.ok() ? *text : "?";
}

absl::StatusOr<attest::EvpPkeyPtr> GenerateEcP256Key() {
  attest::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return OpenSslError("EC P-256 key generation");
  return key;
}

absl::StatusOr<attest::EvpPkeyPtr> GenerateRsaKey(unsigned bits) {
  attest::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  if (!key) return OpenSslError("RSA key generation");
  return key;
}

absl::StatusOr<X509Ptr> IssueCertificate(const CertSpec& spec, EVP_PKEY* subject_key, X509* issuer,
                                         EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return OpenSslError("X509_new");
  uint64_t serial = spec.serial;
  if (serial == 0) {
    // 63 random bits: positive and unique enough for a private CA.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial)) != 1) {
      return OpenSslError("RAND_bytes serial");
    }
    serial = (serial >> 1) | 1;
  }
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(spec.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(spec.not_after)) == nullptr ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return OpenSslError("certificate fields");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!spec.common_name.empty() &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                                 -1, -1, 0) != 1) {
    return OpenSslError("subject CN");
  }
  X509* issuer_cert = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1) {
    return OpenSslError("issuer name");
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_basic_constraints,
                               spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE"));
  if (!spec.key_usage.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_key_usage, spec.key_usage));
  }
  if (!spec.extended_key_usage.empty()) {
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_ext_key_usage,
                                 absl::StrJoin(spec.extended_key_usage, ",")));
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash"));
  if (issuer != nullptr) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always"));
  }
  std::vector<std::string> alt_names;
  for (const std::string& dns : spec.dns_names) alt_names.push_back("DNS:" + dns);
  for (const std::string& ip : spec.ip_addresses) alt_names.push_back("IP:" + ip);
  if (!alt_names.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer_cert, NID_subject_alt_name, absl::StrJoin(alt_names, ",")));
  }
  if (spec.tpm_san.has_value()) RETURN_IF_ERROR(AddTpmSan(cert.get(), *spec.tpm_san));
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return OpenSslError("X509_sign");
  return cert;
}

}  // namespace bootgate::verifier
