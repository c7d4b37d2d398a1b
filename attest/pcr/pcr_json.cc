#include "attest/pcr/pcr_json.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

nlohmann::json PcrValuesToJson(const PcrValues& pcrs) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [alg, bank] : pcrs) {
    nlohmann::json b = nlohmann::json::object();
    for (const auto& [index, value] : bank) b[std::to_string(index)] = HexEncode(value);
    out[HashAlgName(alg)] = std::move(b);
  }
  return out;
}

absl::StatusOr<PcrValues> PcrValuesFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("PCR values: expected a JSON object");
  PcrValues out;
  for (const auto& [bank_name, bank] : j.items()) {
    ASSIGN_OR_RETURN(uint16_t alg, HashAlgFromName(bank_name));
    if (!bank.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PCR values: bank ", bank_name, " is not an object"));
    }
    const size_t size = *KnownDigestSize(alg);
    PcrBank& dst = out[alg];
    for (const auto& [index_str, value] : bank.items()) {
      uint32_t index = 0;
      if (!absl::SimpleAtoi(index_str, &index) || index > kMaxPcrIndex) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR values: bank ", bank_name, ": bad PCR index '", index_str, "'"));
      }
      if (!value.is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("PCR values: ", bank_name, ":", index, " is not a hex string"));
      }
      auto bytes = HexDecode(value.get<std::string>());
      if (!bytes.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("PCR values: ", bank_name, ":", index,
                                                       ": ", bytes.status().message()));
      }
      if (bytes->size() != size) {
        return absl::InvalidArgumentError(absl::StrCat("PCR values: ", bank_name, ":", index,
                                                       ": ", bytes->size(), " bytes, expected ",
                                                       size));
      }
      dst[index] = *std::move(bytes);
    }
  }
  return out;
}

absl::StatusOr<PcrValues> ParsePcrValuesJson(absl::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError("PCR values: not valid JSON");
  return PcrValuesFromJson(j);
}

}  // namespace bootgate::attest
