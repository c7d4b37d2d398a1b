#include "node-agent/output/quote_files.h"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/pcr/pcr_json.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "node-agent/io/files.h"

namespace bootgate::agent {
namespace {

// Sizes of the C structures tpm2-tools dumps; the layout below is written to match them.
constexpr size_t kPcrSelectionSlotBytes = 8;  // u16 + u8 + u8[4] + 1 padding byte
constexpr size_t kPcrSelectionBytes = 4 + TPM2_NUM_PCR_BANKS * kPcrSelectionSlotBytes;
constexpr size_t kDigestSlotBytes = 2 + sizeof(TPMU_HA);  // u16 size + buffer
constexpr size_t kDigestsPerList = 8;
constexpr size_t kDigestListBytes = 4 + kDigestsPerList * kDigestSlotBytes;
static_assert(sizeof(TPML_PCR_SELECTION) == kPcrSelectionBytes, "tpm2-tools layout");
static_assert(sizeof(TPML_DIGEST) == kDigestListBytes, "tpm2-tools layout");

void PutU16Le(attest::Bytes* out, size_t offset, uint16_t v) {
  (*out)[offset] = static_cast<uint8_t>(v);
  (*out)[offset + 1] = static_cast<uint8_t>(v >> 8);
}

void PutU32Le(attest::Bytes* out, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*out)[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}

constexpr mode_t kFileMode = 0644;

}  // namespace

absl::StatusOr<attest::Bytes> SerializeTpm2ToolsPcrs(const attest::PcrSelection& selection,
                                                     const attest::PcrValues& values) {
  ASSIGN_OR_RETURN(TPML_PCR_SELECTION tpml, attest::PcrSelectionToTpml(selection));
  std::vector<const attest::Bytes*> digests;
  for (const attest::PcrBankSelection& bank : selection) {
    for (uint32_t pcr : bank.pcrs) {
      auto b = values.find(bank.alg);
      const attest::PcrBank* bank_values = b == values.end() ? nullptr : &b->second;
      auto v = bank_values == nullptr ? attest::PcrBank::const_iterator() : bank_values->find(pcr);
      if (bank_values == nullptr || v == bank_values->end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("no value for ", attest::HashAlgName(bank.alg), " PCR ", pcr));
      }
      if (v->second.size() > sizeof(TPMU_HA)) {
        return absl::InvalidArgumentError("PCR value larger than any digest");
      }
      digests.push_back(&v->second);
    }
  }
  const size_t lists = (digests.size() + kDigestsPerList - 1) / kDigestsPerList;
  attest::Bytes out(kPcrSelectionBytes + 4 + lists * kDigestListBytes, 0);

  PutU32Le(&out, 0, tpml.count);
  for (uint32_t i = 0; i < tpml.count; ++i) {
    const size_t at = 4 + i * kPcrSelectionSlotBytes;
    const TPMS_PCR_SELECTION& s = tpml.pcrSelections[i];
    PutU16Le(&out, at, s.hash);
    out[at + 2] = s.sizeofSelect;
    for (size_t j = 0; j < TPM2_PCR_SELECT_MAX; ++j) out[at + 3 + j] = s.pcrSelect[j];
  }
  PutU32Le(&out, kPcrSelectionBytes, static_cast<uint32_t>(lists));
  for (size_t l = 0; l < lists; ++l) {
    const size_t list_at = kPcrSelectionBytes + 4 + l * kDigestListBytes;
    const size_t first = l * kDigestsPerList;
    const size_t count = std::min(kDigestsPerList, digests.size() - first);
    PutU32Le(&out, list_at, static_cast<uint32_t>(count));
    for (size_t k = 0; k < count; ++k) {
      const attest::Bytes& d = *digests[first + k];
      const size_t at = list_at + 4 + k * kDigestSlotBytes;
      PutU16Le(&out, at, static_cast<uint16_t>(d.size()));
      std::copy(d.begin(), d.end(), out.begin() + static_cast<std::ptrdiff_t>(at + 2));
    }
  }
  return out;
}

absl::StatusOr<std::string> PublicKeyPem(const TPMT_PUBLIC& pub) {
  ASSIGN_OR_RETURN(attest::EvpPkeyPtr key, attest::PublicKeyFromPublicArea(pub));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return attest::OpenSslError("PEM-encode AK public key");
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int): OpenSSL's type.
  return std::string(data, static_cast<size_t>(len));
}

absl::Status WriteQuoteFiles(const std::string& dir, const AgentQuote& q) {
  RETURN_IF_ERROR(MakeDirectories(dir, 0755));
  auto write = [&](const char* name, attest::ByteSpan data) {
    return WriteFileAtomic(absl::StrCat(dir, "/", name), data, kFileMode);
  };
  ASSIGN_OR_RETURN(attest::Bytes serialized,
                   SerializeTpm2ToolsPcrs(q.quote.selection, q.quote.pcrs));
  ASSIGN_OR_RETURN(std::string pem, PublicKeyPem(q.ak_public_area));
  const std::string pcrs_json = attest::PcrValuesToJson(q.quote.pcrs).dump(2) + "\n";
  const std::string nonce_hex = attest::HexEncode(q.nonce) + "\n";

  RETURN_IF_ERROR(write("quote.msg", q.quote.attest));
  RETURN_IF_ERROR(write("quote.sig", q.quote.signature));
  RETURN_IF_ERROR(write("quote.pcrs", serialized));
  RETURN_IF_ERROR(write("pcrs.json", attest::AsSpan(pcrs_json)));
  RETURN_IF_ERROR(write("ak.pub", q.ak_public));
  RETURN_IF_ERROR(write("ak.pem", attest::AsSpan(pem)));
  RETURN_IF_ERROR(write("ak.name", q.ak_name));
  return write("nonce", attest::AsSpan(nonce_hex));
}

}  // namespace bootgate::agent
