#include "node-agent/tpm/ek.h"

#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/tpm/key_checks.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/capabilities.h"
#include "node-agent/tpm/marshal.h"
#include "node-agent/tpm/nv.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {
namespace {

using attest::Bytes;

constexpr EkKeyFamily kRsa = EkKeyFamily::kRsa;
constexpr EkKeyFamily kEcc = EkKeyFamily::kEcc;
constexpr uint16_t kSha256 = TPM2_ALG_SHA256;
constexpr uint16_t kSha384 = TPM2_ALG_SHA384;
constexpr uint16_t kSha512 = TPM2_ALG_SHA512;

// id, template, family, certificate, persistent handle, has template, high range, nameAlg, AES
// bits, RSA bits, curve.
constexpr EkSlot kSlots[] = {
    {"rsa2048", "L-1", kRsa, 0x01C00002, 0x81010001, true, false, kSha256, 128, 2048, 0},
    {"ecc-p256", "L-2", kEcc, 0x01C0000A, 0x81010002, true, false, kSha256, 128, 0,
     TPM2_ECC_NIST_P256},
    {"rsa2048-high", "H-1", kRsa, 0x01C00012, 0x81010012, true, true, kSha256, 128, 2048, 0},
    {"ecc-p256-high", "H-2", kEcc, 0x01C00014, 0x81010014, true, true, kSha256, 128, 0,
     TPM2_ECC_NIST_P256},
    {"ecc-p384", "H-3", kEcc, 0x01C00016, 0x81010016, true, true, kSha384, 256, 0,
     TPM2_ECC_NIST_P384},
    {"ecc-p521", "H-4", kEcc, 0x01C00018, 0x81010018, true, true, kSha512, 256, 0,
     TPM2_ECC_NIST_P521},
    {"sm2-p256", "H-5", kEcc, 0x01C0001A, 0x8101001A, false, true, TPM2_ALG_SM3_256, 128, 0,
     TPM2_ECC_SM2_P256},
    {"rsa3072", "H-6", kRsa, 0x01C0001C, 0x8101001C, true, true, kSha384, 256, 3072, 0},
    {"rsa4096", "H-7", kRsa, 0x01C0001E, 0x8101001E, true, true, kSha384, 256, 4096, 0},
};

constexpr uint32_t kEkChainFirst = 0x01C00100;
constexpr uint32_t kEkChainLast = 0x01C001FF;
// Certificates per chain index, far above real chains (2-4).
constexpr size_t kMaxChainCertsPerIndex = 16;

// TPM2_CC_PolicyOR, big-endian, as it enters a policy digest.
constexpr uint8_t kCcPolicyOr[] = {0x00, 0x00, 0x01, 0x71};

// PolicyAuthorizeNV digests of the EK policy NV indexes (EK Credential Profile 2.4, "Computing
// PolicyC"; 0x01C07F01 / 02 / 03 for SHA-256 / 384 / 512).
absl::StatusOr<Bytes> PolicyCConstant(uint16_t name_alg) {
  const char* hex = nullptr;
  switch (name_alg) {
    case TPM2_ALG_SHA256:
      hex = "3767e2edd43ff45a3a7e1eaefcef78643dca964632e7aad82c673a30d8633fde";
      break;
    case TPM2_ALG_SHA384:
      hex =
          "d6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc"
          "2b3593d165";
      break;
    case TPM2_ALG_SHA512:
      hex =
          "589ee1e146544716e8deafe6db247b01b81e9f9c7dd16b814aa159138749105fba5388dd1dea702f3524"
          "0c184933121e2c61b8f50d3ef91393a49a38c3f73fc8";
      break;
    default:
      return absl::UnimplementedError(
          absl::StrCat("no EK PolicyC for name algorithm ", attest::HashAlgName(name_alg)));
  }
  return attest::HexDecode(hex);
}

// Fills `digest` (a TPM2B_DIGEST) from bytes.
absl::Status SetDigest(TPM2B_DIGEST* digest, const Bytes& value) {
  if (value.size() > sizeof(digest->buffer)) {
    return absl::InternalError("policy digest too large");
  }
  digest->size = static_cast<uint16_t>(value.size());
  std::memcpy(digest->buffer, value.data(), value.size());
  return absl::OkStatus();
}

Bytes DigestBytes(const TPM2B_DIGEST& d) { return Bytes(d.buffer, d.buffer + d.size); }

// The certificate's public key equals the public area's key.
absl::StatusOr<bool> CertificateMatches(const NvCertificate& cert, const TPMT_PUBLIC& pub) {
  const uint8_t* p = cert.der.data();
  attest::X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(cert.der.size())));  // NOLINT
  if (x509 == nullptr) return attest::OpenSslError("EK certificate");
  ASSIGN_OR_RETURN(attest::EvpPkeyPtr key, attest::PublicKeyFromPublicArea(pub));
  const EVP_PKEY* cert_key = X509_get0_pubkey(x509.get());
  return cert_key != nullptr && EVP_PKEY_eq(cert_key, key.get()) == 1;
}

// Splits an NV index's content into DER certificates, ignoring trailing padding (zeros or 0xff).
std::vector<Bytes> SplitDerCertificates(const Bytes& data, std::string* error) {
  std::vector<Bytes> certs;
  size_t offset = 0;
  while (offset < data.size() && certs.size() < kMaxChainCertsPerIndex) {
    if (data[offset] != 0x30) break;  // not a SEQUENCE: padding
    const uint8_t* start = data.data() + offset;
    const uint8_t* p = start;
    attest::X509Ptr x509(d2i_X509(nullptr, &p, static_cast<long>(data.size() - offset)));  // NOLINT
    if (x509 == nullptr) {
      *error = std::string(
          attest::OpenSslError(absl::StrCat("X.509 certificate at offset ", offset)).message());
      break;
    }
    certs.emplace_back(start, p);
    offset += static_cast<size_t>(p - start);
  }
  if (certs.empty() && error->empty()) *error = "no DER certificate";
  return certs;
}

}  // namespace

absl::Span<const EkSlot> EkSlots() { return kSlots; }

const EkSlot* FindEkSlotById(absl::string_view id) {
  for (const EkSlot& slot : kSlots) {
    if (id == slot.id) return &slot;
  }
  return nullptr;
}

const EkSlot* FindEkSlotByCertIndex(uint32_t nv_index) {
  for (const EkSlot& slot : kSlots) {
    if (slot.cert_index == nv_index) return &slot;
  }
  return nullptr;
}

absl::StatusOr<Bytes> EkPolicyA(uint16_t name_alg) { return attest::DefaultEkAuthPolicy(name_alg); }

absl::StatusOr<Bytes> EkPolicyC(uint16_t name_alg) { return PolicyCConstant(name_alg); }

absl::StatusOr<Bytes> EkPolicyB(uint16_t name_alg) {
  ASSIGN_OR_RETURN(Bytes a, EkPolicyA(name_alg));
  ASSIGN_OR_RETURN(Bytes c, EkPolicyC(name_alg));
  // PolicyOR: H(zero digest || TPM_CC_PolicyOR || digest A || digest C).
  Bytes input(a.size(), 0);
  input.insert(input.end(), std::begin(kCcPolicyOr), std::end(kCcPolicyOr));
  input.insert(input.end(), a.begin(), a.end());
  input.insert(input.end(), c.begin(), c.end());
  return attest::Hash(name_alg, input);
}

absl::StatusOr<TPMT_PUBLIC> EkTemplate(const EkSlot& slot) {
  if (!slot.has_template) {
    return absl::UnimplementedError(
        absl::StrCat("EK ", slot.id, " (", slot.template_name, "): template not supported"));
  }
  TPMT_PUBLIC t{};
  t.nameAlg = slot.name_alg;
  t.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                       TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                       TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  Bytes policy;
  if (slot.high_range) {
    t.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
    ASSIGN_OR_RETURN(policy, EkPolicyB(slot.name_alg));
  } else {
    ASSIGN_OR_RETURN(policy, EkPolicyA(slot.name_alg));
  }
  RETURN_IF_ERROR(SetDigest(&t.authPolicy, policy));

  TPMT_SYM_DEF_OBJECT sym{};
  sym.algorithm = TPM2_ALG_AES;
  sym.keyBits.aes = slot.sym_bits;
  sym.mode.aes = TPM2_ALG_CFB;
  if (slot.family == EkKeyFamily::kRsa) {
    t.type = TPM2_ALG_RSA;
    t.parameters.rsaDetail.symmetric = sym;
    t.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    t.parameters.rsaDetail.keyBits = slot.rsa_bits;
    t.parameters.rsaDetail.exponent = 0;
    // Low range: a zero-filled modulus-sized unique field; high range: empty.
    t.unique.rsa.size = slot.high_range ? 0 : slot.rsa_bits / 8;
  } else {
    t.type = TPM2_ALG_ECC;
    t.parameters.eccDetail.symmetric = sym;
    t.parameters.eccDetail.scheme.scheme = TPM2_ALG_NULL;
    t.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    t.parameters.eccDetail.curveID = slot.ecc_curve;
    // Low range: 32 zero bytes each for x and y; high range: empty.
    t.unique.ecc.x.size = slot.high_range ? 0 : 32;
    t.unique.ecc.y.size = slot.high_range ? 0 : 32;
  }
  return t;
}

const NvCertificate* EkInventory::CertificateFor(const EkSlot& slot) const {
  for (const NvCertificate& cert : certificates) {
    if (cert.slot == &slot) return &cert;
  }
  return nullptr;
}

bool EkInventory::HasPersistent(TPM2_HANDLE handle) const {
  return std::find(persistent_handles.begin(), persistent_handles.end(), handle) !=
         persistent_handles.end();
}

bool EkInventory::Present(const EkSlot& slot) const {
  return CertificateFor(slot) != nullptr || HasPersistent(slot.persistent_handle);
}

absl::StatusOr<EkInventory> ReadEkInventory(TpmConnection& tpm, uint32_t nv_chunk_size) {
  EkInventory inv;
  ASSIGN_OR_RETURN(std::vector<TPM2_HANDLE> nv_indexes,
                   ListHandles(tpm, TPM2_NV_INDEX_FIRST, TPM2_NV_INDEX_LAST));
  ASSIGN_OR_RETURN(inv.persistent_handles,
                   ListHandles(tpm, TPM2_PERSISTENT_FIRST, TPM2_PERSISTENT_LAST));
  for (TPM2_HANDLE index : nv_indexes) {
    const EkSlot* slot = FindEkSlotByCertIndex(index);
    const bool in_chain = index >= kEkChainFirst && index <= kEkChainLast;
    if (slot == nullptr && !in_chain) continue;
    absl::StatusOr<Bytes> read = ReadNvIndex(tpm, index, nv_chunk_size);
    if (!read.ok()) {
      // One unreadable index (e.g. platform-only read access) must not hide the others; a TPM
      // that stopped answering must not be reported as a certificate problem.
      if (GetTpmErrorKind(read.status()) == TpmErrorKind::kTctiUnreachable) return read.status();
      NvCertificate unreadable{index, slot, {}, std::string(read.status().message())};
      (slot != nullptr ? inv.certificates : inv.ca_chain).push_back(std::move(unreadable));
      continue;
    }
    const Bytes& data = *read;
    std::string error;
    std::vector<Bytes> ders = SplitDerCertificates(data, &error);
    if (slot != nullptr) {
      NvCertificate cert{index, slot, {}, error};
      cert.der = ders.empty() ? data : ders.front();
      inv.certificates.push_back(std::move(cert));
      continue;
    }
    for (Bytes& der : ders) inv.ca_chain.push_back({index, nullptr, std::move(der), ""});
    if (!error.empty()) inv.ca_chain.push_back({index, nullptr, {}, error});
  }
  return inv;
}

absl::StatusOr<const EkSlot*> ResolveEkSlot(absl::string_view selector,
                                            const EkInventory& inventory) {
  if (selector == "rsa" || selector == "ecc") {
    const EkKeyFamily family = selector == "rsa" ? EkKeyFamily::kRsa : EkKeyFamily::kEcc;
    for (const EkSlot& slot : kSlots) {
      if (slot.family == family && slot.has_template && inventory.Present(slot)) return &slot;
    }
    return FindEkSlotById(family == EkKeyFamily::kRsa ? "rsa2048" : "ecc-p256");
  }
  const EkSlot* slot = FindEkSlotById(selector);
  if (slot == nullptr) {
    std::string ids = "rsa, ecc";
    for (const EkSlot& s : kSlots) absl::StrAppend(&ids, ", ", s.id);
    return absl::InvalidArgumentError(
        absl::StrCat("unknown EK \"", selector, "\" (one of: ", ids, ")"));
  }
  return slot;
}

namespace {

absl::StatusOr<LoadedEk> FinishLoadedEk(const EkSlot& slot, const EkInventory& inventory,
                                        const TPM2B_PUBLIC& pub, ScopedTr handle,
                                        std::string source) {
  LoadedEk ek;
  ek.slot = &slot;
  ek.public_area = pub.publicArea;
  ASSIGN_OR_RETURN(ek.public_blob,
                   MarshalTss(pub, &Tss2_MU_TPM2B_PUBLIC_Marshal, "EK TPM2B_PUBLIC"));
  ASSIGN_OR_RETURN(ek.name, attest::ObjectName(pub.publicArea));
  ek.source = std::move(source);
  const NvCertificate* cert = inventory.CertificateFor(slot);
  // An unreadable certificate says nothing about the key.
  if (cert != nullptr && cert->parse_error.empty()) {
    ASSIGN_OR_RETURN(bool match, CertificateMatches(*cert, pub.publicArea));
    ek.matches_certificate = match;
  }
  ek.handle = std::move(handle);
  return ek;
}

absl::StatusOr<LoadedEk> OpenPersistentEk(TpmConnection& tpm, const EkSlot& slot,
                                          const EkInventory& inventory) {
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc = Esys_TR_FromTPMPublic(tpm.esys(), slot.persistent_handle, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &raw);
  ScopedTr handle(tpm.esys(), raw, ScopedTr::Release::kClose);
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("open EK ", Hex32(slot.persistent_handle))));
  EsysOut<TPM2B_PUBLIC> pub;
  rc = Esys_ReadPublic(tpm.esys(), handle.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                       pub.out(), nullptr, nullptr);
  RETURN_IF_ERROR(
      TssStatus(rc, absl::StrCat("TPM2_ReadPublic(", Hex32(slot.persistent_handle), ")")));
  return FinishLoadedEk(slot, inventory, *pub, std::move(handle),
                        absl::StrCat("persistent ", Hex32(slot.persistent_handle)));
}

absl::StatusOr<LoadedEk> CreateEk(TpmConnection& tpm, const EkSlot& slot,
                                  const EkInventory& inventory) {
  ASSIGN_OR_RETURN(TPMT_PUBLIC tmpl, EkTemplate(slot));
  TPM2B_PUBLIC in_public{};
  in_public.publicArea = tmpl;
  TPM2B_SENSITIVE_CREATE in_sensitive{};
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcr{};
  ESYS_TR raw = ESYS_TR_NONE;
  EsysOut<TPM2B_PUBLIC> out_public;
  EsysOut<TPM2B_CREATION_DATA> creation_data;
  EsysOut<TPM2B_DIGEST> creation_hash;
  EsysOut<TPMT_TK_CREATION> creation_ticket;
  TSS2_RC rc = Esys_CreatePrimary(tpm.esys(), ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD,
                                  ESYS_TR_NONE, ESYS_TR_NONE, &in_sensitive, &in_public,
                                  &outside_info, &creation_pcr, &raw, out_public.out(),
                                  creation_data.out(), creation_hash.out(), creation_ticket.out());
  ScopedTr handle(tpm.esys(), raw, ScopedTr::Release::kFlush);
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("TPM2_CreatePrimary(EK ", slot.id, ")")));
  return FinishLoadedEk(slot, inventory, *out_public, std::move(handle),
                        absl::StrCat("created from template ", slot.template_name));
}

}  // namespace

absl::StatusOr<LoadedEk> LoadEk(TpmConnection& tpm, const EkSlot& slot,
                                const EkInventory& inventory) {
  if (inventory.HasPersistent(slot.persistent_handle)) {
    ASSIGN_OR_RETURN(LoadedEk persistent, OpenPersistentEk(tpm, slot, inventory));
    // A persistent key that is not the certified one (e.g. a stale key left by a tool) must not
    // stand in for the EK.
    if (persistent.matches_certificate.value_or(true)) return persistent;
  }
  return CreateEk(tpm, slot, inventory);
}

absl::StatusOr<ScopedTr> StartEkPolicySession(TpmConnection& tpm, const TPMT_PUBLIC& ek) {
  const Bytes auth_policy = DigestBytes(ek.authPolicy);
  ASSIGN_OR_RETURN(Bytes policy_a, EkPolicyA(ek.nameAlg));
  bool needs_or = false;
  if (auth_policy != policy_a) {
    absl::StatusOr<Bytes> policy_b = EkPolicyB(ek.nameAlg);
    if (!policy_b.ok() || auth_policy != *policy_b) {
      return absl::UnimplementedError(absl::StrCat(
          "EK authPolicy ", attest::HexEncode(auth_policy),
          " is neither PolicySecret(TPM_RH_ENDORSEMENT) nor the TCG high-range PolicyOR"));
    }
    needs_or = true;
  }

  TPMT_SYM_DEF symmetric{};
  symmetric.algorithm = TPM2_ALG_NULL;
  ESYS_TR raw = ESYS_TR_NONE;
  TSS2_RC rc =
      Esys_StartAuthSession(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                            ESYS_TR_NONE, nullptr, TPM2_SE_POLICY, &symmetric, ek.nameAlg, &raw);
  ScopedTr session(tpm.esys(), raw, ScopedTr::Release::kFlush);
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_StartAuthSession(policy)"));

  EsysOut<TPM2B_TIMEOUT> timeout;
  EsysOut<TPMT_TK_AUTH> ticket;
  rc = Esys_PolicySecret(tpm.esys(), ESYS_TR_RH_ENDORSEMENT, session.get(), ESYS_TR_PASSWORD,
                         ESYS_TR_NONE, ESYS_TR_NONE, nullptr, nullptr, nullptr, 0, timeout.out(),
                         ticket.out());
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_PolicySecret(TPM_RH_ENDORSEMENT)"));

  if (needs_or) {
    ASSIGN_OR_RETURN(Bytes policy_c, EkPolicyC(ek.nameAlg));
    TPML_DIGEST branches{};
    branches.count = 2;
    RETURN_IF_ERROR(SetDigest(&branches.digests[0], policy_a));
    RETURN_IF_ERROR(SetDigest(&branches.digests[1], policy_c));
    rc = Esys_PolicyOR(tpm.esys(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                       &branches);
    RETURN_IF_ERROR(TssStatus(rc, "TPM2_PolicyOR(EK PolicyA, PolicyC)"));
  }
  return session;
}

}  // namespace bootgate::agent
