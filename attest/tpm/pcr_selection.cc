#include "attest/tpm/pcr_selection.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

absl::StatusOr<PcrSelection> PcrSelectionFromTpml(const TPML_PCR_SELECTION& tpml) {
  if (tpml.count > TPM2_NUM_PCR_BANKS) {
    return absl::InvalidArgumentError(
        absl::StrCat("PCR selection: ", tpml.count, " banks (max ", TPM2_NUM_PCR_BANKS, ")"));
  }
  PcrSelection out;
  out.reserve(tpml.count);
  for (uint32_t i = 0; i < tpml.count; ++i) {
    const TPMS_PCR_SELECTION& s = tpml.pcrSelections[i];
    if (s.sizeofSelect > TPM2_PCR_SELECT_MAX) {
      return absl::InvalidArgumentError(absl::StrCat("PCR selection: bank ", HashAlgName(s.hash),
                                                     ": sizeofSelect ", s.sizeofSelect));
    }
    for (const PcrBankSelection& seen : out) {
      if (seen.alg == s.hash) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR selection: bank ", HashAlgName(s.hash), " listed twice"));
      }
    }
    PcrBankSelection bank;
    bank.alg = s.hash;
    for (uint32_t byte = 0; byte < s.sizeofSelect; ++byte) {
      for (uint32_t bit = 0; bit < 8; ++bit) {
        if (s.pcrSelect[byte] & (1u << bit)) bank.pcrs.insert(byte * 8 + bit);
      }
    }
    out.push_back(std::move(bank));
  }
  return out;
}

absl::StatusOr<TPML_PCR_SELECTION> PcrSelectionToTpml(const PcrSelection& selection) {
  if (selection.size() > TPM2_NUM_PCR_BANKS) {
    return absl::InvalidArgumentError(
        absl::StrCat("PCR selection: ", selection.size(), " banks (max ", TPM2_NUM_PCR_BANKS, ")"));
  }
  TPML_PCR_SELECTION tpml = {};
  tpml.count = static_cast<uint32_t>(selection.size());
  for (size_t i = 0; i < selection.size(); ++i) {
    const PcrBankSelection& bank = selection[i];
    for (size_t j = 0; j < i; ++j) {
      if (selection[j].alg == bank.alg) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR selection: bank ", HashAlgName(bank.alg), " listed twice"));
      }
    }
    TPMS_PCR_SELECTION& s = tpml.pcrSelections[i];
    s.hash = bank.alg;
    s.sizeofSelect = 3;
    for (uint32_t pcr : bank.pcrs) {
      if (pcr > kMaxSelectablePcr) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR selection: ", HashAlgName(bank.alg), ":", pcr, " out of range"));
      }
      s.sizeofSelect = std::max<uint8_t>(s.sizeofSelect, static_cast<uint8_t>(pcr / 8 + 1));
      s.pcrSelect[pcr / 8] |= static_cast<uint8_t>(1u << (pcr % 8));
    }
  }
  return tpml;
}

PcrSet ToPcrSet(const PcrSelection& selection) {
  PcrSet out;
  for (const PcrBankSelection& bank : selection) {
    for (uint32_t pcr : bank.pcrs) out.emplace(bank.alg, pcr);
  }
  return out;
}

PcrSelection FromPcrSet(const PcrSet& set) {
  PcrSelection out;
  for (const auto& [alg, pcr] : set) {
    if (out.empty() || out.back().alg != alg) out.push_back(PcrBankSelection{alg, {}});
    out.back().pcrs.insert(pcr);
  }
  return out;
}

bool SameSelection(const PcrSelection& a, const PcrSelection& b) {
  return ToPcrSet(a) == ToPcrSet(b);
}

size_t SelectedPcrCount(const PcrSelection& selection) {
  size_t n = 0;
  for (const PcrBankSelection& bank : selection) n += bank.pcrs.size();
  return n;
}

namespace {

absl::StatusOr<uint32_t> ParsePcrIndex(absl::string_view text, absl::string_view bank) {
  uint32_t value = 0;
  // SimpleAtoi tolerates surrounding spaces and a sign; the spec form allows digits only.
  const bool digits_only = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!digits_only || text.size() > 3 || !absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("PCR selection: ", bank, ": '", text, "' is not a PCR index"));
  }
  if (value > kMaxPcrIndex) {
    return absl::InvalidArgumentError(
        absl::StrCat("PCR selection: ", bank, ": PCR ", value, " out of range 0-", kMaxPcrIndex));
  }
  return value;
}

}  // namespace

absl::StatusOr<PcrSelection> ParsePcrSelectionSpec(absl::string_view spec) {
  if (spec.empty()) return absl::InvalidArgumentError("PCR selection: empty");
  PcrSelection out;
  for (absl::string_view part : absl::StrSplit(spec, '+')) {
    const size_t colon = part.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR selection: '", part, "' is not BANK:PCRS"));
    }
    const absl::string_view bank_name = part.substr(0, colon);
    const absl::string_view list = part.substr(colon + 1);
    auto alg = HashAlgFromName(bank_name);
    if (!alg.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR selection: unknown bank '", bank_name, "'"));
    }
    for (const PcrBankSelection& seen : out) {
      if (seen.alg == *alg) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR selection: bank ", bank_name, " given twice"));
      }
    }
    PcrBankSelection bank;
    bank.alg = *alg;
    if (list == "all") {
      for (uint32_t i = 0; i <= kMaxPcrIndex; ++i) bank.pcrs.insert(i);
      out.push_back(std::move(bank));
      continue;
    }
    if (list.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR selection: bank ", bank_name, " lists no PCRs"));
    }
    for (absl::string_view item : absl::StrSplit(list, ',')) {
      uint32_t first = 0;
      uint32_t last = 0;
      const size_t dash = item.find('-');
      if (dash == absl::string_view::npos) {
        ASSIGN_OR_RETURN(first, ParsePcrIndex(item, bank_name));
        last = first;
      } else {
        ASSIGN_OR_RETURN(first, ParsePcrIndex(item.substr(0, dash), bank_name));
        ASSIGN_OR_RETURN(last, ParsePcrIndex(item.substr(dash + 1), bank_name));
        if (last < first) {
          return absl::InvalidArgumentError(
              absl::StrCat("PCR selection: ", bank_name, ": empty range '", item, "'"));
        }
      }
      for (uint32_t pcr = first; pcr <= last; ++pcr) {
        if (!bank.pcrs.insert(pcr).second) {
          return absl::InvalidArgumentError(
              absl::StrCat("PCR selection: ", bank_name, ": PCR ", pcr, " listed twice"));
        }
      }
    }
    out.push_back(std::move(bank));
  }
  return out;
}

std::string FormatPcrSelectionSpec(const PcrSelection& selection) {
  std::vector<std::string> banks;
  for (const PcrBankSelection& bank : selection) {
    if (bank.pcrs.empty()) continue;
    std::vector<std::string> items;
    auto it = bank.pcrs.begin();
    while (it != bank.pcrs.end()) {
      const uint32_t first = *it;
      uint32_t last = first;
      for (++it; it != bank.pcrs.end() && *it == last + 1; ++it) last = *it;
      items.push_back(first == last ? absl::StrCat(first) : absl::StrCat(first, "-", last));
    }
    banks.push_back(absl::StrCat(HashAlgName(bank.alg), ":", absl::StrJoin(items, ",")));
  }
  return absl::StrJoin(banks, "+");
}

absl::StatusOr<Bytes> ComputePcrDigest(uint16_t alg, const PcrSelection& selection,
                                       const PcrValues& values) {
  const EVP_MD* md = EvpMdForAlg(alg);
  if (md == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("pcrDigest: hash ", HashAlgName(alg), " is not supported"));
  }
  Hasher hasher(md);
  for (const PcrBankSelection& bank : selection) {
    if (bank.pcrs.empty()) continue;
    const std::optional<size_t> size = KnownDigestSize(bank.alg);
    auto values_bank = values.find(bank.alg);
    if (!size.has_value() || values_bank == values.end()) {
      return absl::NotFoundError(
          absl::StrCat("pcrDigest: no values for bank ", HashAlgName(bank.alg)));
    }
    for (uint32_t pcr : bank.pcrs) {
      auto value = values_bank->second.find(pcr);
      if (value == values_bank->second.end()) {
        return absl::NotFoundError(
            absl::StrCat("pcrDigest: ", HashAlgName(bank.alg), ":", pcr, " not supplied"));
      }
      if (value->second.size() != *size) {
        return absl::InvalidArgumentError(absl::StrCat("pcrDigest: ", HashAlgName(bank.alg), ":",
                                                       pcr, " has ", value->second.size(),
                                                       " bytes, expected ", *size));
      }
      hasher.Update(value->second);
    }
  }
  Bytes digest;
  hasher.Final(&digest);
  return digest;
}

}  // namespace bootgate::attest
