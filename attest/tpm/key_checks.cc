#include "attest/tpm/key_checks.h"

#include <iterator>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/tpm/tpm_signature.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

namespace {

struct AttributeName {
  TPMA_OBJECT bit;
  const char* name;
};
constexpr AttributeName kAttributeNames[] = {
    {TPMA_OBJECT_FIXEDTPM, "fixedTPM"},
    {TPMA_OBJECT_STCLEAR, "stClear"},
    {TPMA_OBJECT_FIXEDPARENT, "fixedParent"},
    {TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin"},
    {TPMA_OBJECT_USERWITHAUTH, "userWithAuth"},
    {TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy"},
    {TPMA_OBJECT_NODA, "noDA"},
    {TPMA_OBJECT_ENCRYPTEDDUPLICATION, "encryptedDuplication"},
    {TPMA_OBJECT_RESTRICTED, "restricted"},
    {TPMA_OBJECT_DECRYPT, "decrypt"},
    {TPMA_OBJECT_SIGN_ENCRYPT, "sign"},
    {TPMA_OBJECT_X509SIGN, "x509sign"},
};

const char* AttributeLabel(TPMA_OBJECT bit) {
  for (const auto& a : kAttributeNames) {
    if (a.bit == bit) return a.name;
  }
  return "unknown";
}

void RequireSet(TPMA_OBJECT attrs, TPMA_OBJECT bit, KeyCheckReport* report) {
  if ((attrs & bit) == 0) {
    report->failures.push_back(absl::StrCat("attribute ", AttributeLabel(bit), " is not set"));
  }
}

void RequireClear(TPMA_OBJECT attrs, TPMA_OBJECT bit, KeyCheckReport* report) {
  if ((attrs & bit) != 0) {
    report->failures.push_back(absl::StrCat("attribute ", AttributeLabel(bit), " is set"));
  }
}

bool IsStrongHash(uint16_t alg) {
  const std::optional<size_t> size = KnownDigestSize(alg);
  return size.has_value() && *size >= 32 && EvpMdForAlg(alg) != nullptr;
}

std::string CurveName(TPMI_ECC_CURVE curve) {
  switch (curve) {
    case TPM2_ECC_NIST_P192:
      return "P192";
    case TPM2_ECC_NIST_P224:
      return "P224";
    case TPM2_ECC_NIST_P256:
      return "P256";
    case TPM2_ECC_NIST_P384:
      return "P384";
    case TPM2_ECC_NIST_P521:
      return "P521";
    case TPM2_ECC_BN_P256:
      return "BN256";
    case TPM2_ECC_BN_P638:
      return "BN638";
    case TPM2_ECC_SM2_P256:
      return "SM2";
    default:
      return absl::StrFormat("curve_0x%04x", curve);
  }
}

bool IsNistCurveAtLeast256(TPMI_ECC_CURVE curve) {
  return curve == TPM2_ECC_NIST_P256 || curve == TPM2_ECC_NIST_P384 || curve == TPM2_ECC_NIST_P521;
}

void CheckNameAlg(const TPMT_PUBLIC& pub, bool allow_sha1, KeyCheckReport* report) {
  if (IsStrongHash(pub.nameAlg)) return;
  if (pub.nameAlg == TPM2_ALG_SHA1 && allow_sha1) {
    report->notes.push_back("nameAlg sha1 accepted by option allow_sha1_name_alg");
    return;
  }
  report->failures.push_back(
      absl::StrCat("nameAlg ", HashAlgName(pub.nameAlg), " is weaker than sha256"));
}

// A TPM-made RSA key's modulus is exactly keyBits long; a mismatch means the public area was not
// produced by a TPM, and the check on keyBits alone would be meaningless.
void CheckRsaSize(const TPMT_PUBLIC& pub, KeyCheckReport* report) {
  const uint32_t bits = pub.parameters.rsaDetail.keyBits;
  if (static_cast<uint32_t>(pub.unique.rsa.size) * 8 != bits) {
    report->failures.push_back(
        absl::StrCat("RSA modulus is ", pub.unique.rsa.size * 8, " bits but keyBits says ", bits));
  }
}

}  // namespace

std::string KeyCheckReport::Summary() const {
  return failures.empty() ? "ok" : absl::StrJoin(failures, "; ");
}

std::string DescribeObjectAttributes(TPMA_OBJECT attributes) {
  std::vector<std::string> names;
  TPMA_OBJECT known = 0;
  for (const auto& a : kAttributeNames) {
    known |= a.bit;
    if (attributes & a.bit) names.push_back(a.name);
  }
  if (attributes & ~known) names.push_back(absl::StrFormat("0x%08x", attributes & ~known));
  return names.empty() ? "none" : absl::StrJoin(names, "|");
}

std::string DescribeKey(const TPMT_PUBLIC& pub) {
  if (pub.type == TPM2_ALG_RSA) return absl::StrCat("RSA-", pub.parameters.rsaDetail.keyBits);
  if (pub.type == TPM2_ALG_ECC) {
    return absl::StrCat("ECC-", CurveName(pub.parameters.eccDetail.curveID));
  }
  return absl::StrFormat("type_0x%04x", pub.type);
}

KeyCheckReport CheckAkPublic(const TPMT_PUBLIC& pub, const AkCheckOptions& options) {
  KeyCheckReport report;
  const TPMA_OBJECT attrs = pub.objectAttributes;
  RequireSet(attrs, TPMA_OBJECT_FIXEDTPM, &report);
  RequireSet(attrs, TPMA_OBJECT_FIXEDPARENT, &report);
  RequireSet(attrs, TPMA_OBJECT_SENSITIVEDATAORIGIN, &report);
  RequireSet(attrs, TPMA_OBJECT_RESTRICTED, &report);
  RequireSet(attrs, TPMA_OBJECT_SIGN_ENCRYPT, &report);
  RequireClear(attrs, TPMA_OBJECT_DECRYPT, &report);
  CheckNameAlg(pub, options.allow_sha1_name_alg, &report);

  TPMI_ALG_SIG_SCHEME scheme = TPM2_ALG_NULL;
  TPMI_ALG_HASH scheme_hash = TPM2_ALG_NULL;
  if (pub.type == TPM2_ALG_RSA) {
    const TPMS_RSA_PARMS& rsa = pub.parameters.rsaDetail;
    if (rsa.symmetric.algorithm != TPM2_ALG_NULL) {
      report.failures.push_back("a signing key has a symmetric algorithm");
    }
    if (rsa.keyBits < 2048) {
      report.failures.push_back(absl::StrCat("RSA key of ", rsa.keyBits, " bits (need >= 2048)"));
    }
    CheckRsaSize(pub, &report);
    scheme = rsa.scheme.scheme;
    scheme_hash = rsa.scheme.details.anySig.hashAlg;
  } else if (pub.type == TPM2_ALG_ECC) {
    const TPMS_ECC_PARMS& ecc = pub.parameters.eccDetail;
    if (ecc.symmetric.algorithm != TPM2_ALG_NULL) {
      report.failures.push_back("a signing key has a symmetric algorithm");
    }
    if (!IsNistCurveAtLeast256(ecc.curveID)) {
      report.failures.push_back(
          absl::StrCat("ECC curve ", CurveName(ecc.curveID), " (need NIST P256, P384 or P521)"));
    }
    if (ecc.kdf.scheme != TPM2_ALG_NULL) report.failures.push_back("ECC key has a KDF");
    scheme = ecc.scheme.scheme;
    scheme_hash = ecc.scheme.details.anySig.hashAlg;
  } else {
    report.failures.push_back(absl::StrFormat("object type 0x%04x is not RSA or ECC", pub.type));
    return report;
  }

  if (scheme != TPM2_ALG_NULL) {
    if (!SchemeFitsKey(pub.type, scheme)) {
      report.failures.push_back(absl::StrCat("signing scheme ", SigSchemeName(scheme),
                                             " is not supported for ", DescribeKey(pub)));
    }
    if (scheme_hash == TPM2_ALG_SHA1 && options.allow_sha1_signing) {
      report.notes.push_back("signing hash sha1 accepted by option allow_sha1_signing");
    } else if (!IsAllowedSignatureHash(scheme_hash, /*allow_sha1=*/false)) {
      report.failures.push_back(absl::StrCat("signing scheme hash ", HashAlgName(scheme_hash),
                                             " (need sha256, sha384 or sha512)"));
    }
  } else {
    report.notes.push_back("no pinned signing scheme: the signature's scheme is checked per quote");
  }
  return report;
}

absl::StatusOr<Bytes> DefaultEkAuthPolicy(uint16_t name_alg) {
  const std::optional<size_t> size = KnownDigestSize(name_alg);
  if (!size.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("EK authPolicy: unknown nameAlg ", HashAlgName(name_alg)));
  }
  // PolicySecret: digest = H(H(zeros || TPM_CC_PolicySecret || name(TPM_RH_ENDORSEMENT)) || ref)
  // with an empty policyRef (TPM 2.0 Part 3, PolicyUpdate()).
  Bytes first(*size, 0);
  const uint8_t command_and_name[] = {0x00, 0x00, 0x01, 0x51, 0x40, 0x00, 0x00, 0x0B};
  first.insert(first.end(), std::begin(command_and_name), std::end(command_and_name));
  ASSIGN_OR_RETURN(Bytes inner, Hash(name_alg, first));
  return Hash(name_alg, inner);
}

KeyCheckReport CheckEkPublic(const TPMT_PUBLIC& pub) {
  KeyCheckReport report;
  const TPMA_OBJECT attrs = pub.objectAttributes;
  RequireSet(attrs, TPMA_OBJECT_FIXEDTPM, &report);
  RequireSet(attrs, TPMA_OBJECT_FIXEDPARENT, &report);
  RequireSet(attrs, TPMA_OBJECT_SENSITIVEDATAORIGIN, &report);
  RequireSet(attrs, TPMA_OBJECT_ADMINWITHPOLICY, &report);
  RequireSet(attrs, TPMA_OBJECT_RESTRICTED, &report);
  RequireSet(attrs, TPMA_OBJECT_DECRYPT, &report);
  RequireClear(attrs, TPMA_OBJECT_SIGN_ENCRYPT, &report);
  CheckNameAlg(pub, /*allow_sha1=*/false, &report);

  const TPMT_SYM_DEF_OBJECT* sym = nullptr;
  if (pub.type == TPM2_ALG_RSA) {
    const TPMS_RSA_PARMS& rsa = pub.parameters.rsaDetail;
    sym = &rsa.symmetric;
    if (rsa.keyBits != 2048 && rsa.keyBits != 3072 && rsa.keyBits != 4096) {
      report.failures.push_back(
          absl::StrCat("RSA key of ", rsa.keyBits, " bits (EK templates use 2048/3072/4096)"));
    }
    CheckRsaSize(pub, &report);
    if (rsa.scheme.scheme != TPM2_ALG_NULL) {
      report.failures.push_back(
          absl::StrCat("EK has scheme ", SigSchemeName(rsa.scheme.scheme), " (templates: null)"));
    }
  } else if (pub.type == TPM2_ALG_ECC) {
    const TPMS_ECC_PARMS& ecc = pub.parameters.eccDetail;
    sym = &ecc.symmetric;
    if (!IsNistCurveAtLeast256(ecc.curveID)) {
      report.failures.push_back(absl::StrCat("ECC curve ", CurveName(ecc.curveID),
                                             " (EK templates use P256, P384, P521)"));
    }
    if (ecc.scheme.scheme != TPM2_ALG_NULL) {
      report.failures.push_back(
          absl::StrCat("EK has scheme ", SigSchemeName(ecc.scheme.scheme), " (templates: null)"));
    }
    if (ecc.kdf.scheme != TPM2_ALG_NULL) report.failures.push_back("EK has a KDF");
  } else {
    report.failures.push_back(absl::StrFormat("object type 0x%04x is not RSA or ECC", pub.type));
    return report;
  }

  if (sym->algorithm != TPM2_ALG_AES || sym->mode.aes != TPM2_ALG_CFB ||
      (sym->keyBits.aes != 128 && sym->keyBits.aes != 256)) {
    report.failures.push_back(absl::StrFormat(
        "symmetric 0x%04x/%u bits/mode 0x%04x (EK templates use AES-128-CFB or AES-256-CFB)",
        sym->algorithm, sym->keyBits.aes, sym->mode.aes));
  }

  auto expected_policy = DefaultEkAuthPolicy(pub.nameAlg);
  const ByteSpan policy(pub.authPolicy.buffer, pub.authPolicy.size);
  if (!expected_policy.ok()) {
    report.notes.push_back(
        absl::StrCat("authPolicy not compared: ", expected_policy.status().message()));
  } else if (!ConstantTimeEquals(policy, *expected_policy)) {
    report.notes.push_back(absl::StrCat("authPolicy ", HexEncode(policy),
                                        " differs from the default PolicySecret(endorsement) ",
                                        HexEncode(*expected_policy)));
  }
  return report;
}

}  // namespace bootgate::attest
