#include "policy/signing.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/util/status_macros.h"
#include "policy/loader.h"

namespace bootgate::policy {

using attest::Bytes;

namespace {

// attest/crypto/ossl.h has no BIO owner (nothing in attest reads PEM); this is the one here.
struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::StatusOr<attest::EvpPkeyPtr> ReadPrivateKey(absl::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  if (!bio) return attest::OpenSslError("BIO_new_mem_buf");
  attest::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return attest::OpenSslError("reading PEM private key", absl::StatusCode::kInvalidArgument);
  }
  return key;
}

absl::StatusOr<attest::EvpPkeyPtr> ReadPublicKey(absl::string_view pem) {
  ERR_clear_error();
  BioPtr bio = MemBio(pem);
  if (!bio) return attest::OpenSslError("BIO_new_mem_buf");
  attest::EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return attest::OpenSslError("reading PEM public key (SubjectPublicKeyInfo)",
                                absl::StatusCode::kInvalidArgument);
  }
  return key;
}

// The signature algorithm a key is for, or an error for other key types / curves.
absl::StatusOr<std::string> AlgorithmForKey(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "ED25519")) return std::string(kSigAlgEd25519);
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof(group), &len) != 1) {
      return attest::OpenSslError("reading the EC key's curve", absl::StatusCode::kInvalidArgument);
    }
    const std::string g(group, len);
    if (g == "prime256v1" || g == "P-256" || g == "secp256r1") {
      return std::string(kSigAlgEcdsaP256Sha256);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("EC key on curve ", g, ": policy signatures use P-256 or Ed25519"));
  }
  return absl::InvalidArgumentError(
      "unsupported key type: policy signatures use ECDSA P-256 or Ed25519");
}

absl::StatusOr<std::string> KeyId(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key, &der);
  if (len <= 0 || der == nullptr) return attest::OpenSslError("encoding SubjectPublicKeyInfo");
  const Bytes spki(der, der + len);
  OPENSSL_free(der);
  ASSIGN_OR_RETURN(Bytes digest,
                   attest::Hash(static_cast<uint16_t>(attest::HashAlg::kSha256), spki));
  return absl::StrCat("sha256:", attest::HexEncode(digest));
}

const EVP_MD* DigestFor(const std::string& algorithm) {
  return algorithm == kSigAlgEd25519 ? nullptr : EVP_sha256();
}

}  // namespace

absl::StatusOr<std::string> KeyIdFromPem(absl::string_view pem) {
  absl::StatusOr<attest::EvpPkeyPtr> pub = ReadPublicKey(pem);
  if (pub.ok()) return KeyId(pub->get());
  ASSIGN_OR_RETURN(attest::EvpPkeyPtr priv, ReadPrivateKey(pem));
  return KeyId(priv.get());
}

absl::StatusOr<PolicySignature> SignPolicySet(const PolicySet& set,
                                              absl::string_view private_key_pem) {
  ASSIGN_OR_RETURN(attest::EvpPkeyPtr key, ReadPrivateKey(private_key_pem));
  PolicySignature sig;
  ASSIGN_OR_RETURN(sig.algorithm, AlgorithmForKey(key.get()));
  ASSIGN_OR_RETURN(sig.key_id, KeyId(key.get()));
  const std::string message = CanonicalBytes(set);
  attest::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return attest::OpenSslError("EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(sig.algorithm), nullptr, key.get()) != 1) {
    return attest::OpenSslError("EVP_DigestSignInit");
  }
  size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
    return attest::OpenSslError("EVP_DigestSign (size)");
  }
  sig.signature.resize(len);
  if (EVP_DigestSign(ctx.get(), sig.signature.data(), &len, msg, message.size()) != 1) {
    return attest::OpenSslError("EVP_DigestSign");
  }
  sig.signature.resize(len);
  return sig;
}

absl::StatusOr<SignatureCheck> VerifyPolicySignatures(
    const PolicySet& set, const std::vector<PolicySignature>& signatures,
    const std::vector<std::string>& trusted_public_keys_pem) {
  if (trusted_public_keys_pem.empty()) {
    return absl::FailedPreconditionError("no trusted policy-signing key given");
  }
  struct Trusted {
    attest::EvpPkeyPtr key;
    std::string id;
    std::string algorithm;
  };
  std::vector<Trusted> trusted;
  for (size_t i = 0; i < trusted_public_keys_pem.size(); ++i) {
    absl::StatusOr<attest::EvpPkeyPtr> key = ReadPublicKey(trusted_public_keys_pem[i]);
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("trusted key ", i + 1, ": ", key.status().message()));
    }
    Trusted t;
    ASSIGN_OR_RETURN(t.algorithm, AlgorithmForKey(key->get()));
    ASSIGN_OR_RETURN(t.id, KeyId(key->get()));
    t.key = *std::move(key);
    trusted.push_back(std::move(t));
  }
  if (signatures.empty()) {
    return absl::FailedPreconditionError("policy is not signed (no PolicySignature)");
  }
  const std::string message = CanonicalBytes(set);
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  std::vector<std::string> tried;
  for (const PolicySignature& sig : signatures) {
    for (const Trusted& t : trusted) {
      if (t.algorithm != sig.algorithm) continue;
      if (!sig.key_id.empty() && sig.key_id != t.id) continue;
      attest::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
      if (!ctx) return attest::OpenSslError("EVP_MD_CTX_new");
      if (EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(sig.algorithm), nullptr,
                               t.key.get()) != 1) {
        return attest::OpenSslError("EVP_DigestVerifyInit");
      }
      const int rc = EVP_DigestVerify(ctx.get(), sig.signature.data(), sig.signature.size(), msg,
                                      message.size());
      ERR_clear_error();  // a failed verification leaves decoding errors on the queue
      if (rc == 1) return SignatureCheck{t.id, sig.algorithm};
      tried.push_back(absl::StrCat(sig.algorithm, " by ", t.id));
    }
  }
  if (tried.empty()) {
    std::vector<std::string> ids;
    for (const PolicySignature& s : signatures) {
      ids.push_back(absl::StrCat(s.algorithm, " by ", s.key_id.empty() ? "(no key id)" : s.key_id));
    }
    return absl::PermissionDeniedError(absl::StrCat(
        "policy signature is not from a trusted key (signed: ", absl::StrJoin(ids, ", "), ")"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat("policy signature does not verify (content changed after signing?); tried ",
                   absl::StrJoin(tried, ", ")));
}

absl::StatusOr<SignatureCheck> VerifyPolicySet(
    const PolicySet& set, const std::vector<std::string>& trusted_public_keys_pem) {
  return VerifyPolicySignatures(set, set.signatures, trusted_public_keys_pem);
}

}  // namespace bootgate::policy
