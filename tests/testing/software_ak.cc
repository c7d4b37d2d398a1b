#include "tests/testing/software_ak.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/tpm/attest_structs.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"

namespace bootgate::testing {

using attest::Bytes;
using attest::ByteSpan;
using attest::OpenSslError;

namespace {

absl::StatusOr<Bytes> BnParam(EVP_PKEY* key, const char* name, size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return OpenSslError(name);
  attest::BignumPtr bn(raw);
  Bytes out(pad_to ? pad_to : static_cast<size_t>(BN_num_bytes(bn.get())));
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())) < 0) {
    return OpenSslError("BN_bn2binpad");
  }
  return out;
}

template <typename T>
void CopyTo(const Bytes& src, T* dst) {
  dst->size = static_cast<uint16_t>(src.size());
  std::memcpy(dst->buffer, src.data(), src.size());
}

}  // namespace

absl::StatusOr<SoftwareAk> SoftwareAk::Create(const SoftwareAkOptions& options) {
  SoftwareAk ak;
  ak.options_ = options;
  EVP_PKEY* raw = nullptr;
  TPMT_PUBLIC& pub = ak.public_;
  pub.nameAlg = options.name_alg;
  pub.objectAttributes = options.attributes;
  if (options.key_type == TPM2_ALG_RSA) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(options.rsa_bits));
    if (raw == nullptr) return OpenSslError("RSA keygen");
    ak.key_.reset(raw, EVP_PKEY_free);
    pub.type = TPM2_ALG_RSA;
    pub.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub.parameters.rsaDetail.scheme.scheme = options.scheme;
    pub.parameters.rsaDetail.scheme.details.anySig.hashAlg = options.hash;
    pub.parameters.rsaDetail.keyBits = options.rsa_bits;
    pub.parameters.rsaDetail.exponent = 0;
    ASSIGN_OR_RETURN(Bytes n, BnParam(raw, OSSL_PKEY_PARAM_RSA_N, 0));
    CopyTo(n, &pub.unique.rsa);
  } else {
    const char* group = options.curve == TPM2_ECC_NIST_P384 ? "P-384" : "P-256";
    const size_t coord = options.curve == TPM2_ECC_NIST_P384 ? 48 : 32;
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group);
    if (raw == nullptr) return OpenSslError("EC keygen");
    ak.key_.reset(raw, EVP_PKEY_free);
    pub.type = TPM2_ALG_ECC;
    pub.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    pub.parameters.eccDetail.scheme.scheme = options.scheme;
    pub.parameters.eccDetail.scheme.details.anySig.hashAlg = options.hash;
    pub.parameters.eccDetail.curveID = options.curve;
    pub.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    ASSIGN_OR_RETURN(Bytes x, BnParam(raw, OSSL_PKEY_PARAM_EC_PUB_X, coord));
    ASSIGN_OR_RETURN(Bytes y, BnParam(raw, OSSL_PKEY_PARAM_EC_PUB_Y, coord));
    CopyTo(x, &pub.unique.ecc.x);
    CopyTo(y, &pub.unique.ecc.y);
  }
  TPM2B_PUBLIC outer = {};
  outer.publicArea = pub;
  ak.public_bytes_.resize(sizeof(TPM2B_PUBLIC));
  size_t offset = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Marshal(&outer, ak.public_bytes_.data(), ak.public_bytes_.size(),
                                   &offset) != TSS2_RC_SUCCESS) {
    return absl::InternalError("TPM2B_PUBLIC marshal");
  }
  ak.public_bytes_.resize(offset);
  return ak;
}

absl::StatusOr<Bytes> SoftwareAk::Sign(ByteSpan message) const {
  const EVP_MD* md = attest::EvpMdForAlg(options_.hash);
  if (md == nullptr) return absl::InvalidArgumentError("unsupported hash");
  attest::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key_.get()) != 1) {
    return OpenSslError("EVP_DigestSignInit");
  }
  if (options_.scheme == TPM2_ALG_RSAPSS &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return OpenSslError("PSS parameters");
  }
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, message.data(), message.size()) != 1) {
    return OpenSslError("EVP_DigestSign(size)");
  }
  Bytes sig(len);
  if (EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) != 1) {
    return OpenSslError("EVP_DigestSign");
  }
  sig.resize(len);

  TPMT_SIGNATURE t = {};
  t.sigAlg = options_.scheme;
  if (options_.key_type == TPM2_ALG_RSA) {
    t.signature.rsassa.hash = options_.hash;  // rsassa and rsapss share the layout
    CopyTo(sig, &t.signature.rsassa.sig);
  } else {
    const unsigned char* p = sig.data();
    attest::EcdsaSigPtr ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
    if (!ecdsa) return OpenSslError("d2i_ECDSA_SIG");
    const size_t coord = options_.curve == TPM2_ECC_NIST_P384 ? 48 : 32;
    Bytes r(coord), s(coord);
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), r.data(), static_cast<int>(coord));
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), s.data(), static_cast<int>(coord));
    t.signature.ecdsa.hash = options_.hash;
    CopyTo(r, &t.signature.ecdsa.signatureR);
    CopyTo(s, &t.signature.ecdsa.signatureS);
  }
  return attest::MarshalTpmtSignature(t);
}

absl::StatusOr<SignedQuote> SoftwareAk::Quote(ByteSpan nonce, const attest::PcrSelection& selection,
                                              const attest::PcrValues& values, uint64_t clock,
                                              uint32_t reset_count, uint32_t restart_count) const {
  TPMS_ATTEST a = {};
  a.magic = TPM2_GENERATED_VALUE;
  a.type = TPM2_ST_ATTEST_QUOTE;
  ASSIGN_OR_RETURN(Bytes name, attest::ObjectName(public_));
  a.qualifiedSigner.size = static_cast<uint16_t>(name.size());
  std::memcpy(a.qualifiedSigner.name, name.data(), name.size());
  if (nonce.size() > sizeof(a.extraData.buffer)) return absl::InvalidArgumentError("nonce");
  CopyTo(Bytes(nonce.begin(), nonce.end()), &a.extraData);
  a.clockInfo.clock = clock;
  a.clockInfo.resetCount = reset_count;
  a.clockInfo.restartCount = restart_count;
  a.clockInfo.safe = TPM2_YES;
  a.firmwareVersion = 0x2021090200000000ULL;
  ASSIGN_OR_RETURN(a.attested.quote.pcrSelect, attest::PcrSelectionToTpml(selection));
  ASSIGN_OR_RETURN(Bytes digest, attest::ComputePcrDigest(options_.hash, selection, values));
  CopyTo(digest, &a.attested.quote.pcrDigest);
  SignedQuote out;
  ASSIGN_OR_RETURN(out.attest, attest::MarshalTpmsAttest(a));
  ASSIGN_OR_RETURN(out.signature, Sign(out.attest));
  return out;
}

}  // namespace bootgate::testing
