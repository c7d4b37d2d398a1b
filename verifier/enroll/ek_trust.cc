#include "verifier/enroll/ek_trust.h"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/util/status_macros.h"
#include "verifier/codes.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {

using attest::X509Ptr;

namespace {

constexpr char kEkCertificateEku[] = "2.23.133.8.1";
constexpr char kTpmManufacturerOid[] = "2.23.133.2.1";
constexpr char kTpmModelOid[] = "2.23.133.2.2";
constexpr char kTpmVersionOid[] = "2.23.133.2.3";

std::string OidText(const ASN1_OBJECT* obj) {
  char buf[128];
  const int n = OBJ_obj2txt(buf, sizeof(buf), obj, /*no_name=*/1);
  return n > 0 ? std::string(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1)) : "";
}

std::string Asn1String(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

bool IsSelfSigned(X509* cert) { return X509_check_issued(cert, cert) == X509_V_OK; }

// Accepts OpenSSL's "unhandled critical extension" for the EK certificate (depth 0) when the
// critical extensions OpenSSL does not process are exactly ones verified in this file (the TPM
// subjectAltName). Everything else keeps OpenSSL's verdict.
int VerifyCallback(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  if (X509_STORE_CTX_get_error(ctx) != X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION ||
      X509_STORE_CTX_get_error_depth(ctx) != 0) {
    return ok;
  }
  X509* cert = X509_STORE_CTX_get_current_cert(ctx);
  for (int i = 0; i < X509_get_ext_count(cert); ++i) {
    X509_EXTENSION* ext = X509_get_ext(cert, i);
    if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext)) continue;
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) return 0;
  }
  X509_STORE_CTX_set_error(ctx, X509_V_OK);
  return 1;
}

bool LooksLikeCertFile(const std::string& path) {
  const std::string lower = absl::AsciiStrToLower(path);
  for (const char* ext : {".pem", ".crt", ".cer", ".der"}) {
    if (absl::EndsWith(lower, ext)) return true;
  }
  return false;
}

}  // namespace

std::optional<TpmSan> ReadTpmSan(X509* cert) {
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return std::nullopt;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_DIRNAME) continue;
    TpmSan san;
    bool has_manufacturer = false;
    const X509_NAME* dir = gn->d.directoryName;
    for (int j = 0; j < X509_NAME_entry_count(dir); ++j) {
      const X509_NAME_ENTRY* e = X509_NAME_get_entry(dir, j);
      const std::string oid = OidText(X509_NAME_ENTRY_get_object(e));
      const std::string value = Asn1String(X509_NAME_ENTRY_get_data(e));
      if (oid == kTpmManufacturerOid) {
        san.manufacturer = value;
        has_manufacturer = !value.empty();
      } else if (oid == kTpmModelOid) {
        san.model = value;
      } else if (oid == kTpmVersionOid) {
        san.version = value;
      }
    }
    if (has_manufacturer) return san;
  }
  return std::nullopt;
}

bool HasEkCertificateEku(X509* cert) {
  ExtKeyUsagePtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
  if (!eku) return false;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    if (OidText(sk_ASN1_OBJECT_value(eku.get(), i)) == kEkCertificateEku) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<EkTrustStore>> EkTrustStore::Load(const std::string& path) {
  std::vector<std::string> files;
  if (IsDirectory(path)) {
    ASSIGN_OR_RETURN(std::vector<std::string> all, ListFiles(path));
    for (const std::string& f : all) {
      if (LooksLikeCertFile(f)) files.push_back(f);
    }
  } else {
    files.push_back(path);
  }
  std::vector<X509Ptr> certs;
  for (const std::string& f : files) {
    ASSIGN_OR_RETURN(std::string data, ReadFile(f, 16 << 20));
    ASSIGN_OR_RETURN(std::vector<X509Ptr> parsed, ParseCertificates(data, f));
    for (X509Ptr& c : parsed) certs.push_back(std::move(c));
  }
  auto store = FromCertificates(std::move(certs));
  if (!store.ok()) {
    return absl::Status(store.status().code(),
                        absl::StrCat("EK CA bundle ", path, ": ", store.status().message()));
  }
  return store;
}

absl::StatusOr<std::unique_ptr<EkTrustStore>> EkTrustStore::FromCertificates(
    std::vector<X509Ptr> certs) {
  std::unique_ptr<EkTrustStore> ts(new EkTrustStore());
  ts->store_.reset(X509_STORE_new());
  if (!ts->store_) return attest::OpenSslError("X509_STORE_new");
  for (X509Ptr& c : certs) {
    if (IsSelfSigned(c.get())) {
      if (X509_STORE_add_cert(ts->store_.get(), c.get()) != 1) {
        // A duplicate root is harmless; anything else is not.
        const unsigned long err = ERR_peek_last_error();
        if (ERR_GET_REASON(err) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
          return attest::OpenSslError("X509_STORE_add_cert");
        }
        ERR_clear_error();
      } else {
        ++ts->roots_;
      }
    } else {
      ts->intermediates_.push_back(std::move(c));
    }
  }
  if (ts->roots_ == 0) {
    return absl::InvalidArgumentError(
        "no self-signed root CA certificate: add the EK root CAs of your TPM vendors (an "
        "intermediate alone is not a trust anchor)");
  }
  return ts;
}

EkCertVerdict EkTrustStore::Verify(X509* ek_cert, const std::vector<X509Ptr>& agent_intermediates,
                                   absl::Time now) const {
  EkCertVerdict v;
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!untrusted || !ctx) {
    v.code = codes::kEnrollEkChainUntrusted;
    v.detail = std::string(attest::OpenSslError("X509_STORE_CTX_new").message());
    return v;
  }
  for (const auto* list : {&intermediates_, &agent_intermediates}) {
    for (const X509Ptr& c : *list) {
      X509_up_ref(c.get());
      if (sk_X509_push(untrusted.get(), c.get()) == 0) X509_free(c.get());
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store_.get(), ek_cert, untrusted.get()) != 1) {
    v.code = codes::kEnrollEkChainUntrusted;
    v.detail = std::string(attest::OpenSslError("X509_STORE_CTX_init").message());
    return v;
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(now));
  X509_STORE_CTX_set_verify_cb(ctx.get(), VerifyCallback);

  const int ok = X509_verify_cert(ctx.get());
  // The chain OpenSSL built (as far as it got), for the record.
  std::vector<std::string> subjects;
  if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get())) {
    for (int i = 0; i < sk_X509_num(chain); ++i) {
      subjects.push_back(NameString(X509_get_subject_name(sk_X509_value(chain, i))));
    }
  }
  v.chain = absl::StrJoin(subjects, " <- ");
  if (ok != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    X509* at = X509_STORE_CTX_get_current_cert(ctx.get());
    const std::string who = at != nullptr ? NameString(X509_get_subject_name(at)) : "?";
    v.detail =
        absl::StrCat(X509_verify_cert_error_string(err), " at depth ", depth, " (", who, ")");
    switch (err) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        v.code = codes::kEnrollEkExpired;
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        v.code = codes::kEnrollEkNotYetValid;
        break;
      default:
        v.code = codes::kEnrollEkChainUntrusted;
    }
    attest::OpenSslError("X509_verify_cert").IgnoreError();  // drain
    return v;
  }
  if (!HasEkCertificateEku(ek_cert)) {
    v.code = codes::kEnrollEkEkuMissing;
    v.detail = "the EK certificate has no extendedKeyUsage tcg-kp-EKCertificate (2.23.133.8.1)";
    return v;
  }
  std::optional<TpmSan> san = ReadTpmSan(ek_cert);
  if (!san) {
    v.code = codes::kEnrollEkSanMissing;
    v.detail =
        "the EK certificate has no subjectAltName directoryName with tcg-at-tpmManufacturer "
        "(2.23.133.2.1)";
    return v;
  }
  v.tpm = *std::move(san);
  return v;
}

}  // namespace bootgate::verifier
