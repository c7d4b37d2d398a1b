// Golden measurements computed from an OS image's files, without booting it (issue 5, "Computing
// from files"). Pure: the caller reads the files and passes their bytes.
//
// What the files determine, per boot flow (Debian 12: shim 15.x/16.x, grub 2.06, systemd 252,
// Linux 6.1):
//   - PCR 4: Authenticode of every EFI application in boot order (attest/image/authenticode.h).
//     grub -> kernel: the kernel is measured `grub_kernel_measurements` times (twice on Debian 12:
//     shim's verification and the firmware's LoadImage). UKI: the UKI, then the kernel that
//     systemd-stub loads from its .linux section. Direct kernel: the kernel once.
//   - PCR 8/9 (grub): grub.cfg, the kernel and the initrds as files (PCR 9) and the
//     "kernel_cmdline: " text (attest/image/grub_cfg.h). The signed grub first runs its built-in
//     config, whose commands name grub's runtime device for the ESP: only when `grub_device` is
//     given (and the grub image is Debian's signed layout, attest/image/grub_image.h) is the whole
//     PCR 8 command sequence predicted and enforced; otherwise GrubMeasurements::commands stays
//     absent (integrity check only).
//   - PCR 9 (Linux EFI stub, UKI or direct kernel): LoadOptions = H(UTF-16LE cmdline + NUL) and
//     "Linux initrd" = H(initrd).
//   - PCR 11 (UKI): systemd-stub's section measurements (attest/image/uki.h).
// What they do not determine and is left for a learned reference or the operator: PCR 7 (Secure
// Boot variables, authorities, SbatLevel; only `secure_boot.enabled` is set), PCR 14 (shim's MOK
// lists: `mok` stays empty) and the firmware PCRs.
#ifndef BOOTGATE_POLICY_FROM_IMAGE_H_
#define BOOTGATE_POLICY_FROM_IMAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attest/eventlog/event_log.h"
#include "attest/image/boot_events.h"
#include "attest/image/grub_cfg.h"
#include "attest/image/grub_image.h"
#include "attest/util/bytes.h"
#include "policy/model.h"

namespace bootgate::policy {

// A file's name (informational: it becomes the BootApplication / MeasuredFile name) and bytes.
// The bytes are borrowed and must outlive the call.
struct ImageFile {
  std::string name;
  attest::ByteSpan data;
};

struct FromImageInput {
  std::string name;     // GoldenImage metadata.name, required
  std::string version;  // metadata.version, required
  std::string description;
  // Banks (TPM_ALG_IDs) to compute; empty = sha1, sha256, sha384.
  std::vector<uint16_t> banks;
  // PCR 4 applications that run before the kernel or UKI, in boot order (shim, grub,
  // systemd-boot ...).
  std::vector<ImageFile> efi;
  // Exactly one of `uki` and `kernel`.
  std::optional<ImageFile> uki;
  std::optional<ImageFile> kernel;
  // Without grub_cfg: at most one (passed through LoadFile2). With grub_cfg: one per path that
  // grub.cfg's initrd command names, in that order.
  std::vector<ImageFile> initrds;
  // The kernel command line (direct kernel boot only; grub.cfg and a UKI carry their own).
  std::optional<std::string> cmdline;
  // grub.cfg; `name` is the path grub reads it from (informational).
  std::optional<ImageFile> grub_cfg;
  attest::GrubConfigOptions grub_options;
  int grub_kernel_measurements = 2;
  // grub's name for the ESP ("(hd0)", "(hd0,gpt1)"): enables the prediction of the signed grub's
  // built-in commands (the last `efi` application must be Debian's signed grub). Where grub found
  // grub.cfg, and the directory of grubx64.efi on the ESP ($cmdpath).
  std::optional<std::string> grub_device;
  attest::GrubCfgLocation grub_cfg_location = attest::GrubCfgLocation::kPrefix;
  std::string grub_cmdpath_dir = "/EFI/BOOT";
  bool secure_boot = true;
};

struct FromImageResult {
  GoldenImage image;
  // Every predicted event, in boot order.
  std::vector<attest::PredictedEvent> events;
  // A UKI's PCR 11 after systemd-stub (`systemd-measure calculate --phase=`), per bank.
  std::vector<attest::EventDigest> pcr11;
  // What the files did not determine (for the operator).
  std::vector<std::string> notes;
};

// InvalidArgument for a bad combination of inputs (naming it), a file that does not parse (naming
// the file), or a grub.cfg outside the supported subset.
absl::StatusOr<FromImageResult> GoldenImageFromFiles(const FromImageInput& input);

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_FROM_IMAGE_H_
