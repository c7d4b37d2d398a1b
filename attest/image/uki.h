// Unified kernel images (UKI): a systemd-stub PE binary with the kernel, initrd, command line and
// more in PE sections. systemd-stub measures into PCR 11, for each section it knows, in the order
// of its own section table and skipping .pcrsig: EV_IPL H(".name\0"), then EV_IPL H(contents),
// where the contents are the section as loaded in memory (VirtualSize bytes: the raw data, zero
// filled when VirtualSize exceeds SizeOfRawData). A section whose VirtualSize is 0 is absent.
//
// The section table depends on the stub version (read from the stub's .sdmagic section):
//   systemd 252 (Debian 12): .linux .osrel .cmdline .initrd .splash .dtb .pcrpkey
//   systemd 253-255:         .linux .osrel .cmdline .initrd .splash .dtb .uname .sbat .pcrpkey
// Later stubs add .ucode and multi-profile UKIs, which change what is measured; they are refused
// rather than guessed. systemd-stub finds a section by comparing the first strlen(name) bytes of
// the 8-byte section name, the last match winning: a UKI in which two section headers match one
// measured name (".linux" twice, or ".linux" and ".linuxX") is refused as ambiguous.
#ifndef BOOTGATE_ATTEST_IMAGE_UKI_H_
#define BOOTGATE_ATTEST_IMAGE_UKI_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attest/eventlog/event_log.h"
#include "attest/image/pe_image.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

enum class StubSectionTable {
  kSystemd252,  // systemd 252
  kSystemd253,  // systemd 253-255
};

// The measured section names in measurement order.
std::vector<std::string> MeasuredUkiSections(StubSectionTable table);
// The table for a systemd version number (e.g. 252). Unimplemented for versions outside 252-255.
absl::StatusOr<StubSectionTable> StubSectionTableForVersion(int systemd_version);

// One section's two PCR 11 events, digests per requested bank in request order.
struct UkiSectionMeasurement {
  std::string name;                          // ".linux"
  std::vector<EventDigest> name_digests;     // H(".linux\0")
  std::vector<EventDigest> content_digests;  // H(section contents)
};

struct Pcr11Prediction {
  std::vector<UkiSectionMeasurement> sections;  // in measurement order
  // PCR 11 after systemd-stub, starting from all zeros, per bank in request order. This is
  // `systemd-measure calculate --phase=` (the empty phase path).
  std::vector<EventDigest> pcr11;
};

// A parsed UKI: the stub version and the measured sections' in-memory contents.
struct UkiContents {
  PeImage pe;
  std::string stub_version;  // "252.39-1~deb12u2", or "" when the image has no .sdmagic
  StubSectionTable table = StubSectionTable::kSystemd252;
  // Present measured sections in measurement order, with their contents.
  std::vector<std::pair<std::string, Bytes>> sections;

  // The contents of a measured section, or nullptr when absent.
  const Bytes* Section(absl::string_view name) const;
};

// Parses a UKI file. The section table comes from `table` when given, else from the stub's
// .sdmagic version; a UKI without .sdmagic needs `table`. Error (InvalidArgument) when the file is
// not a PE image, has no .linux section, has ambiguous section names, or a measured section's
// memory size exceeds kMaxUkiSectionBytes or its raw data by more than kMaxUkiZeroFillBytes (so
// that a small file cannot make the parser allocate gigabytes of zero fill).
inline constexpr uint32_t kMaxUkiSectionBytes = 1024u * 1024 * 1024;
inline constexpr uint32_t kMaxUkiZeroFillBytes = 1024u * 1024;
absl::StatusOr<UkiContents> ParseUki(ByteSpan file,
                                     std::optional<StubSectionTable> table = std::nullopt);

// PCR 11 prediction for a parsed UKI.
absl::StatusOr<Pcr11Prediction> PredictUkiPcr11(const UkiContents& uki,
                                                absl::Span<const uint16_t> algs);

// PCR 11 prediction from separate parts (name -> contents), as `systemd-measure calculate
// --linux= --osrel= ...` computes it; parts are measured in the table's order whatever their order
// here. Error for a name the table does not measure (including .pcrsig) or a duplicate name.
absl::StatusOr<Pcr11Prediction> PredictPcr11FromParts(
    const std::vector<std::pair<std::string, ByteSpan>>& parts, StubSectionTable table,
    absl::Span<const uint16_t> algs);

// Extends the boot-phase words that systemd-pcrphase measures later (e.g. "enter-initrd") into a
// PCR 11 value: pcr = H(pcr || H(word)). `pcr11` as returned in Pcr11Prediction::pcr11.
absl::StatusOr<std::vector<EventDigest>> ExtendPcr11Phases(const std::vector<EventDigest>& pcr11,
                                                           const std::vector<std::string>& phases);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_UKI_H_
