// The `{"sha256": {"0": "hex", ...}, "sha1": {...}}` shape used by `bootgate eventlog replay`,
// `bootgate quote verify --pcrs` and the corpus's expected-pcrs files.
#ifndef BOOTGATE_ATTEST_PCR_PCR_JSON_H_
#define BOOTGATE_ATTEST_PCR_PCR_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/pcr/pcr_values.h"
#include "nlohmann/json.hpp"

namespace bootgate::attest {

// Bank names as in HashAlgName (sha1, sha256, ...), PCR indexes as decimal strings, lower-case
// hex values.
nlohmann::json PcrValuesToJson(const PcrValues& pcrs);
// Strict: unknown bank names, non-decimal or out-of-range indexes, bad hex and values of the wrong
// length for the bank are errors naming the bank and index.
absl::StatusOr<PcrValues> PcrValuesFromJson(const nlohmann::json& j);
absl::StatusOr<PcrValues> ParsePcrValuesJson(absl::string_view text);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_PCR_PCR_JSON_H_
