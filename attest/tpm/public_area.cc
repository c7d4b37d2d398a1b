#include "attest/tpm/public_area.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <tss2/tss2_mu.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/tpm/tss2_mu_error.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

absl::StatusOr<TPMT_PUBLIC> ParsePublicArea(ByteSpan data) {
  TPMT_PUBLIC pub = {};
  size_t offset = 0;
  const bool is_tpm2b = data.size() >= 2 && (static_cast<size_t>(data[0]) << 8 | data[1]) ==
                                                data.size() - 2;
  if (is_tpm2b) {
    TPM2B_PUBLIC outer = {};
    TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(data.data(), data.size(), &offset, &outer);
    RETURN_IF_ERROR(Tss2MuStatus(rc, "TPM2B_PUBLIC"));
    pub = outer.publicArea;
  } else {
    TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Unmarshal(data.data(), data.size(), &offset, &pub);
    RETURN_IF_ERROR(Tss2MuStatus(rc, "TPMT_PUBLIC"));
  }
  if (offset != data.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("public area: ", data.size() - offset, " trailing bytes"));
  }
  if (pub.type != TPM2_ALG_RSA && pub.type != TPM2_ALG_ECC) {
    return absl::InvalidArgumentError(
        absl::StrFormat("public area: unsupported object type 0x%04x", pub.type));
  }
  return pub;
}

absl::StatusOr<Bytes> MarshalPublicArea(const TPMT_PUBLIC& pub) {
  Bytes buf(sizeof(TPMT_PUBLIC));
  size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPMT_PUBLIC_Marshal(&pub, buf.data(), buf.size(), &offset);
  RETURN_IF_ERROR(Tss2MuStatus(rc, "TPMT_PUBLIC marshal"));
  buf.resize(offset);
  return buf;
}

absl::StatusOr<Bytes> ObjectName(const TPMT_PUBLIC& pub) {
  ASSIGN_OR_RETURN(Bytes encoded, MarshalPublicArea(pub));
  ASSIGN_OR_RETURN(Bytes digest, Hash(pub.nameAlg, encoded));
  Bytes name = {static_cast<uint8_t>(pub.nameAlg >> 8), static_cast<uint8_t>(pub.nameAlg)};
  name.insert(name.end(), digest.begin(), digest.end());
  return name;
}

namespace {

absl::StatusOr<EvpPkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return OpenSslError("OSSL_PARAM_BLD_to_param");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpenSslError(absl::StrCat("EVP_PKEY_fromdata(", type, ")"),
                        absl::StatusCode::kInvalidArgument);
  }
  return EvpPkeyPtr(raw);
}

absl::StatusOr<EvpPkeyPtr> RsaKey(const TPMT_PUBLIC& pub) {
  const TPM2B_PUBLIC_KEY_RSA& n = pub.unique.rsa;
  if (n.size == 0) return absl::InvalidArgumentError("RSA public area: empty modulus");
  uint32_t exponent = pub.parameters.rsaDetail.exponent;
  if (exponent == 0) exponent = 65537;
  BignumPtr bn_n(BN_bin2bn(n.buffer, n.size, nullptr));
  BignumPtr bn_e(BN_new());
  if (!bn_n || !bn_e || BN_set_word(bn_e.get(), exponent) != 1) return OpenSslError("BN");
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return OpenSslError("OSSL_PARAM_BLD (RSA)");
  }
  return FromParams("RSA", bld.get());
}

absl::StatusOr<EvpPkeyPtr> EccKey(const TPMT_PUBLIC& pub) {
  const char* group = nullptr;
  size_t coord = 0;
  switch (pub.parameters.eccDetail.curveID) {
    case TPM2_ECC_NIST_P256: group = SN_X9_62_prime256v1; coord = 32; break;
    case TPM2_ECC_NIST_P384: group = SN_secp384r1; coord = 48; break;
    case TPM2_ECC_NIST_P521: group = SN_secp521r1; coord = 66; break;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "ECC public area: unsupported curve 0x%04x", pub.parameters.eccDetail.curveID));
  }
  const TPMS_ECC_POINT& p = pub.unique.ecc;
  if (p.x.size == 0 || p.x.size > coord || p.y.size == 0 || p.y.size > coord) {
    return absl::InvalidArgumentError("ECC public area: bad point coordinate size");
  }
  // Uncompressed SEC1 point; TPMs may strip leading zero bytes, so left-pad each coordinate.
  Bytes point(1 + 2 * coord, 0);
  point[0] = 0x04;
  std::copy(p.x.buffer, p.x.buffer + p.x.size, point.begin() + 1 + (coord - p.x.size));
  std::copy(p.y.buffer, p.y.buffer + p.y.size, point.begin() + 1 + coord + (coord - p.y.size));
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return OpenSslError("OSSL_PARAM_BLD (EC)");
  }
  return FromParams("EC", bld.get());
}

}  // namespace

absl::StatusOr<EvpPkeyPtr> PublicKeyFromPublicArea(const TPMT_PUBLIC& pub) {
  if (pub.type == TPM2_ALG_RSA) return RsaKey(pub);
  if (pub.type == TPM2_ALG_ECC) return EccKey(pub);
  return absl::InvalidArgumentError(absl::StrFormat("unsupported key type 0x%04x", pub.type));
}

}  // namespace bootgate::attest
