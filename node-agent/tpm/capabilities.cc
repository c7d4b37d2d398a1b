#include "node-agent/tpm/capabilities.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {
namespace {

// Reads `count` TPM properties starting at `first`, following moreData.
absl::StatusOr<std::map<TPM2_PT, uint32_t>> ReadProperties(TpmConnection& tpm, TPM2_PT first,
                                                           uint32_t count) {
  std::map<TPM2_PT, uint32_t> props;
  TPM2_PT next = first;
  const TPM2_PT end = first + count;
  while (next < end) {
    TPMI_YES_NO more = TPM2_NO;
    EsysOut<TPMS_CAPABILITY_DATA> data;
    TSS2_RC rc = Esys_GetCapability(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_TPM_PROPERTIES, next, end - next, &more, data.out());
    RETURN_IF_ERROR(TssStatus(rc, "TPM2_GetCapability(TPM_PROPERTIES)"));
    const TPML_TAGGED_TPM_PROPERTY& list = data->data.tpmProperties;
    if (list.count == 0) break;
    for (uint32_t i = 0; i < list.count && i < TPM2_MAX_TPM_PROPERTIES; ++i) {
      props[list.tpmProperty[i].property] = list.tpmProperty[i].value;
    }
    const TPM2_PT last = list.tpmProperty[list.count - 1].property;
    if (more != TPM2_YES || last < next) break;
    next = last + 1;
  }
  return props;
}

// The four bytes of a property, big-endian, printable characters only.
std::string PropertyChars(uint32_t value) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((value >> shift) & 0xff);
    if (c >= 0x20 && c < 0x7f) out.push_back(c);
  }
  return out;
}

uint32_t Get(const std::map<TPM2_PT, uint32_t>& props, TPM2_PT pt) {
  auto it = props.find(pt);
  return it == props.end() ? 0 : it->second;
}

}  // namespace

std::string Hex32(uint32_t value) { return absl::StrFormat("0x%08x", value); }

absl::StatusOr<TpmIdentity> ReadTpmIdentity(TpmConnection& tpm) {
  ASSIGN_OR_RETURN(auto props, ReadProperties(tpm, TPM2_PT_FIXED, TPM2_PT_GROUP));
  TpmIdentity id;
  id.manufacturer_id = Get(props, TPM2_PT_MANUFACTURER);
  id.manufacturer = PropertyChars(id.manufacturer_id);
  // Each vendor string is four space-padded characters ("SW  ", " TPM"); join the words.
  std::vector<std::string> words;
  for (TPM2_PT pt : {TPM2_PT_VENDOR_STRING_1, TPM2_PT_VENDOR_STRING_2, TPM2_PT_VENDOR_STRING_3,
                     TPM2_PT_VENDOR_STRING_4}) {
    const std::string part(absl::StripAsciiWhitespace(PropertyChars(Get(props, pt))));
    if (!part.empty()) words.push_back(part);
  }
  id.vendor = absl::StrJoin(words, " ");
  id.firmware_version_1 = Get(props, TPM2_PT_FIRMWARE_VERSION_1);
  id.firmware_version_2 = Get(props, TPM2_PT_FIRMWARE_VERSION_2);
  id.spec_level = Get(props, TPM2_PT_LEVEL);
  id.spec_revision = Get(props, TPM2_PT_REVISION);
  id.spec_year = Get(props, TPM2_PT_YEAR);
  id.spec_day_of_year = Get(props, TPM2_PT_DAY_OF_YEAR);
  id.nv_buffer_max = Get(props, TPM2_PT_NV_BUFFER_MAX);
  id.pcr_count = Get(props, TPM2_PT_PCR_COUNT);
  return id;
}

absl::StatusOr<std::vector<uint16_t>> ReadActivePcrBanks(TpmConnection& tpm) {
  TPMI_YES_NO more = TPM2_NO;
  EsysOut<TPMS_CAPABILITY_DATA> data;
  TSS2_RC rc = Esys_GetCapability(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                  TPM2_CAP_PCRS, 0, 1, &more, data.out());
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_GetCapability(PCRS)"));
  std::vector<uint16_t> banks;
  const TPML_PCR_SELECTION& sel = data->data.assignedPCR;
  for (uint32_t i = 0; i < sel.count && i < TPM2_NUM_PCR_BANKS; ++i) {
    const TPMS_PCR_SELECTION& bank = sel.pcrSelections[i];
    bool any = false;
    for (uint8_t j = 0; j < bank.sizeofSelect && j < TPM2_PCR_SELECT_MAX; ++j) {
      any = any || bank.pcrSelect[j] != 0;
    }
    if (any) banks.push_back(bank.hash);
  }
  return banks;
}

absl::StatusOr<std::vector<TPM2_HANDLE>> ListHandles(TpmConnection& tpm, TPM2_HANDLE first,
                                                     TPM2_HANDLE last) {
  std::vector<TPM2_HANDLE> handles;
  TPM2_HANDLE next = first;
  while (next <= last) {
    TPMI_YES_NO more = TPM2_NO;
    EsysOut<TPMS_CAPABILITY_DATA> data;
    TSS2_RC rc =
        Esys_GetCapability(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES,
                           next, TPM2_MAX_CAP_HANDLES, &more, data.out());
    RETURN_IF_ERROR(TssStatus(rc, "TPM2_GetCapability(HANDLES)"));
    const TPML_HANDLE& list = data->data.handles;
    TPM2_HANDLE highest = next;
    for (uint32_t i = 0; i < list.count && i < TPM2_MAX_CAP_HANDLES; ++i) {
      // The TPM lists the whole handle type from `next` on; keep only our range.
      if (list.handle[i] >= first && list.handle[i] <= last) handles.push_back(list.handle[i]);
      if (list.handle[i] > highest) highest = list.handle[i];
    }
    if (more != TPM2_YES || list.count == 0 || highest >= last) break;
    next = highest + 1;
  }
  return handles;
}

absl::StatusOr<std::optional<std::set<uint32_t>>> ReadPcrsExtendableFromLocality0(
    TpmConnection& tpm) {
  TPMI_YES_NO more = TPM2_NO;
  EsysOut<TPMS_CAPABILITY_DATA> data;
  TSS2_RC rc =
      Esys_GetCapability(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                         TPM2_CAP_PCR_PROPERTIES, TPM2_PT_PCR_EXTEND_L0, 1, &more, data.out());
  RETURN_IF_ERROR(TssStatus(rc, "TPM2_GetCapability(PCR_PROPERTIES)"));
  const TPML_TAGGED_PCR_PROPERTY& list = data->data.pcrProperties;
  if (list.count == 0 || list.pcrProperty[0].tag != TPM2_PT_PCR_EXTEND_L0) return std::nullopt;
  const TPMS_TAGGED_PCR_SELECT& prop = list.pcrProperty[0];
  std::set<uint32_t> pcrs;
  for (uint32_t byte = 0; byte < prop.sizeofSelect && byte < TPM2_PCR_SELECT_MAX; ++byte) {
    for (uint32_t bit = 0; bit < 8; ++bit) {
      if ((prop.pcrSelect[byte] >> bit) & 1) pcrs.insert(byte * 8 + bit);
    }
  }
  return pcrs;
}

}  // namespace bootgate::agent
