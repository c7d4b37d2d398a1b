// PCR selections: TPML_PCR_SELECTION <-> an ordered list of banks <-> a set of (bank, PCR) pairs,
// the `sha256:0-9,11+sha1:0-7` text form used on command lines and in policies, and the quote's
// pcrDigest computation.
#ifndef BOOTGATE_ATTEST_TPM_PCR_SELECTION_H_
#define BOOTGATE_ATTEST_TPM_PCR_SELECTION_H_

#include <tss2/tss2_tpm2_types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/pcr/pcr_values.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

// One TPMS_PCR_SELECTION: a bank (TPM_ALG_ID of its hash) and the PCR indexes selected in it.
struct PcrBankSelection {
  uint16_t alg = 0;
  std::set<uint32_t> pcrs;

  bool operator==(const PcrBankSelection& o) const { return alg == o.alg && pcrs == o.pcrs; }
};

// Banks in TPML order, which is the order the TPM hashes them in for pcrDigest. A bank appears at
// most once; a bank may select no PCR (TPMs and tools often list every bank with an empty mask).
using PcrSelection = std::vector<PcrBankSelection>;

// The order-free view: which (bank, PCR) pairs are selected. Banks without PCRs vanish, so two
// selections are "the same" when their sets are equal.
using PcrSet = std::set<std::pair<uint16_t, uint32_t>>;

// Highest PCR index a TPML_PCR_SELECTION can carry (TPM2_PCR_SELECT_MAX bytes of bitmap).
inline constexpr uint32_t kMaxSelectablePcr = TPM2_PCR_SELECT_MAX * 8 - 1;

// Rejects a bank listed twice: the TPM would hash it twice, and the set view could not say so.
absl::StatusOr<PcrSelection> PcrSelectionFromTpml(const TPML_PCR_SELECTION& tpml);
// sizeofSelect is 3 (24 PCRs, what PC Client TPMs require) or more when a PCR above 23 is
// selected. Errors: more than TPM2_NUM_PCR_BANKS banks, a duplicate bank, a PCR index too large.
absl::StatusOr<TPML_PCR_SELECTION> PcrSelectionToTpml(const PcrSelection& selection);

PcrSet ToPcrSet(const PcrSelection& selection);
// Banks in ascending algorithm id order (a set does not remember the TPML order).
PcrSelection FromPcrSet(const PcrSet& set);
// Equality of the (bank, PCR) sets; bank order and empty banks do not matter.
bool SameSelection(const PcrSelection& a, const PcrSelection& b);
size_t SelectedPcrCount(const PcrSelection& selection);

// Parses `BANK:LIST[+BANK:LIST...]`, BANK a hash name (sha1, sha256, sha384, sha512, sm3_256...),
// LIST comma-separated indexes and inclusive ranges `a-b`, or `all` for 0-23. Strict: unknown
// banks, a bank given twice, an index above 23, a PCR listed twice, empty parts and spaces are
// errors naming the offending part.
absl::StatusOr<PcrSelection> ParsePcrSelectionSpec(absl::string_view spec);
// The inverse, compacting runs into ranges: `sha256:0-9,11,14+sha1:0-7`. Banks without PCRs are
// left out; an empty selection formats as "".
std::string FormatPcrSelectionSpec(const PcrSelection& selection);

// TPM2_Quote's pcrDigest: H_alg(concatenation of the selected PCR values, banks in selection order,
// PCR indexes ascending within a bank). `alg` is the signing scheme's hash (TPM 2.0 Part 3,
// TPM2_Quote), not the key's nameAlg. Errors name the first selected PCR that `values` lacks or
// whose value has the wrong size for its bank.
absl::StatusOr<Bytes> ComputePcrDigest(uint16_t alg, const PcrSelection& selection,
                                       const PcrValues& values);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_TPM_PCR_SELECTION_H_
