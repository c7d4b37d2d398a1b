// PCR values per bank, the currency between replay, quotes and policy.
#ifndef BOOTGATE_ATTEST_PCR_PCR_VALUES_H_
#define BOOTGATE_ATTEST_PCR_PCR_VALUES_H_

#include <cstdint>
#include <map>

#include "attest/util/bytes.h"

namespace bootgate::attest {

// PCR index -> value for one bank.
using PcrBank = std::map<uint32_t, Bytes>;
// TPM_ALG_ID of the bank's hash -> bank.
using PcrValues = std::map<uint16_t, PcrBank>;

constexpr uint32_t kMaxPcrIndex = 23;  // PC Client platforms have 24 PCRs.

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_PCR_PCR_VALUES_H_
