#include "policy/from_image.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/image/authenticode.h"
#include "attest/image/pe_image.h"
#include "attest/image/uki.h"
#include "attest/util/status_macros.h"

namespace bootgate::policy {
namespace {

using attest::EventDigest;
using attest::PredictedEvent;

BankDigests ToBankDigests(const std::vector<EventDigest>& digests) {
  BankDigests out;
  for (const EventDigest& d : digests) out[d.alg] = d.digest;
  return out;
}

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("from-image: ", message));
}

// Prefixes a file's errors with its name.
absl::Status InFile(const ImageFile& f, const absl::Status& s) {
  return absl::Status(s.code(), absl::StrCat(f.name, ": ", s.message()));
}

class Builder {
 public:
  explicit Builder(const FromImageInput& in) : in_(in) {}

  absl::StatusOr<FromImageResult> Build() {
    RETURN_IF_ERROR(CheckInputs());
    banks_ = in_.banks;
    if (banks_.empty()) {
      banks_ = {static_cast<uint16_t>(attest::HashAlg::kSha1),
                static_cast<uint16_t>(attest::HashAlg::kSha256),
                static_cast<uint16_t>(attest::HashAlg::kSha384)};
    }
    GoldenImage& img = result_.image;
    img.metadata.name = in_.name;
    img.metadata.version = in_.version;
    img.metadata.description = in_.description.empty()
                                   ? "computed from image files (bootgate policy from-image)"
                                   : in_.description;
    img.secure_boot.enabled = in_.secure_boot;

    for (const ImageFile& f : in_.efi) RETURN_IF_ERROR(AddApplication(f));
    if (in_.uki.has_value()) {
      RETURN_IF_ERROR(AddUki(*in_.uki));
    } else if (in_.grub_cfg.has_value()) {
      RETURN_IF_ERROR(AddGrubBoot());
    } else {
      RETURN_IF_ERROR(AddDirectKernel());
    }
    result_.notes.push_back(
        "PCR 7 (PK/KEK/db/dbx, the authorities that verified the chain, SbatLevel) and PCR 14 "
        "(shim's MOK lists) depend on the machine's firmware variables, not on these files: only "
        "secureBoot.enabled is set and no PCR 14 events are listed; take them from a learned "
        "reference (bootgate policy learn) or do not enforce those PCRs.");
    return std::move(result_);
  }

 private:
  absl::Status CheckInputs() const {
    if (in_.name.empty()) return Invalid("a name is required");
    if (in_.version.empty()) return Invalid("a version is required");
    if (in_.uki.has_value() == in_.kernel.has_value()) {
      return Invalid("give exactly one of a UKI and a kernel");
    }
    if (in_.uki.has_value()) {
      if (!in_.initrds.empty() || in_.cmdline.has_value() || in_.grub_cfg.has_value()) {
        return Invalid(
            "a UKI carries its own initrd and command line: no initrd, cmdline or "
            "grub.cfg with a UKI");
      }
    }
    if (in_.grub_cfg.has_value()) {
      if (in_.cmdline.has_value()) {
        return Invalid("the kernel command line comes from grub.cfg: no cmdline with grub.cfg");
      }
      if (in_.grub_kernel_measurements < 0 || in_.grub_kernel_measurements > 2) {
        return Invalid("the kernel is measured 0, 1 or 2 times when grub boots it");
      }
    } else if (in_.initrds.size() > 1) {
      return Invalid("a directly booted kernel takes one initrd");
    }
    return absl::OkStatus();
  }

  absl::Status AddApplication(const ImageFile& f) {
    auto e = attest::EfiApplicationEvent(f.name, f.data, banks_);
    if (!e.ok()) return InFile(f, e.status());
    result_.image.boot_chain.push_back({f.name, ToBankDigests(e->digests)});
    result_.events.push_back(std::move(*e));
    return absl::OkStatus();
  }

  absl::Status AddUki(const ImageFile& f) {
    auto uki = attest::ParseUki(f.data);
    if (!uki.ok()) return InFile(f, uki.status());
    RETURN_IF_ERROR(AddApplication(f));
    auto pcr11 = attest::PredictUkiPcr11(*uki, banks_);
    if (!pcr11.ok()) return InFile(f, pcr11.status());
    for (const attest::UkiSectionMeasurement& s : pcr11->sections) {
      result_.image.uki_sections.push_back({s.name, ToBankDigests(s.content_digests)});
      result_.events.push_back(
          {11, attest::kEvIpl, absl::StrCat("systemd-stub section ", s.name), s.name_digests});
      result_.events.push_back(
          {11, attest::kEvIpl, absl::StrCat("systemd-stub section ", s.name), s.content_digests});
    }
    result_.pcr11 = pcr11->pcr11;
    // systemd-stub 252 starts the kernel from .linux with LoadImage: PCR 4 measures it.
    const attest::Bytes* linux_image = uki->Section(".linux");
    RETURN_IF_ERROR(AddApplication({absl::StrCat(f.name, ":.linux"), *linux_image}));
    if (const attest::Bytes* cmdline = uki->Section(".cmdline"); cmdline != nullptr) {
      std::string text(cmdline->begin(), cmdline->end());
      text = text.substr(0, text.find('\0'));
      RETURN_IF_ERROR(AddLoadOptions(text));
    }
    if (const attest::Bytes* initrd = uki->Section(".initrd"); initrd != nullptr) {
      RETURN_IF_ERROR(AddInitrdTag(*initrd));
    }
    return absl::OkStatus();
  }

  absl::Status AddLoadOptions(const std::string& cmdline) {
    auto e = attest::LinuxLoadOptionsEvent(cmdline, banks_);
    if (!e.ok()) return Invalid(absl::StrCat("kernel command line: ", e.status().message()));
    result_.image.kernel_cmdline = cmdline;
    result_.image.linux_load_options = ToBankDigests(e->digests);
    result_.events.push_back(std::move(*e));
    return absl::OkStatus();
  }

  absl::Status AddInitrdTag(attest::ByteSpan initrd) {
    ASSIGN_OR_RETURN(PredictedEvent e, attest::LinuxInitrdEvent(initrd, banks_));
    result_.image.linux_initrd = ToBankDigests(e.digests);
    result_.events.push_back(std::move(e));
    return absl::OkStatus();
  }

  absl::Status AddDirectKernel() {
    RETURN_IF_ERROR(AddApplication(*in_.kernel));
    if (in_.cmdline.has_value() && !in_.cmdline->empty()) {
      RETURN_IF_ERROR(AddLoadOptions(*in_.cmdline));
    }
    if (!in_.initrds.empty()) RETURN_IF_ERROR(AddInitrdTag(in_.initrds[0].data));
    return absl::OkStatus();
  }

  absl::Status AddGrubBoot() {
    const ImageFile& cfg = *in_.grub_cfg;
    absl::string_view text(reinterpret_cast<const char*>(cfg.data.data()), cfg.data.size());
    auto plan = attest::ParseGrubConfig(text, in_.grub_options);
    if (!plan.ok()) return InFile(cfg, plan.status());
    if (in_.initrds.size() != plan->initrd_paths.size()) {
      return Invalid(absl::StrCat(cfg.name, " loads ", plan->initrd_paths.size(), " initrd(s) but ",
                                  in_.initrds.size(), " were given"));
    }
    std::vector<attest::ByteSpan> initrds;
    for (const ImageFile& f : in_.initrds) initrds.push_back(f.data);
    std::optional<attest::GrubPrologue> prologue;
    if (in_.grub_device.has_value()) {
      ASSIGN_OR_RETURN(prologue, Prologue());
      for (const std::string& c : prologue->commands) {
        ASSIGN_OR_RETURN(PredictedEvent e, attest::GrubCommandEvent(c, banks_));
        result_.events.push_back(std::move(e));
      }
    }
    const std::string cfg_path = prologue.has_value() ? prologue->cfg_path : cfg.name;
    auto events =
        attest::PredictGrubEvents(*plan, cfg_path, cfg.data, in_.kernel->data, initrds, banks_);
    if (!events.ok()) return InFile(cfg, events.status());
    auto kernel_app = attest::EfiApplicationEvent(in_.kernel->name, in_.kernel->data, banks_);
    if (!kernel_app.ok()) return InFile(*in_.kernel, kernel_app.status());

    GoldenImage& img = result_.image;
    // events[0] is grub.cfg, events[i + 1] belongs to plan->steps[i].
    for (size_t i = 0; i < events->size(); ++i) {
      PredictedEvent& e = (*events)[i];
      const bool kernel_file =
          i > 0 && plan->steps[i - 1].kind == attest::GrubBootStep::Kind::kKernelFile;
      if (e.pcr == 9) img.grub.files.push_back({e.description, ToBankDigests(e.digests)});
      result_.events.push_back(std::move(e));
      if (kernel_file) {
        // The kernel's PCR 4 measurements follow grub's read of the file.
        for (int k = 0; k < in_.grub_kernel_measurements; ++k) {
          img.boot_chain.push_back({in_.kernel->name, ToBankDigests(kernel_app->digests)});
          result_.events.push_back(*kernel_app);
        }
      }
    }
    img.kernel_cmdline = plan->kernel_cmdline;
    if (prologue.has_value()) {
      std::vector<std::string> commands = prologue->commands;
      for (std::string& c : plan->Commands()) commands.push_back(std::move(c));
      img.grub.commands = std::move(commands);
    } else {
      result_.notes.push_back(absl::StrCat(
          "grub commands are checked for integrity only: the signed grub runs its built-in "
          "config (naming the runtime boot device) before ",
          cfg.name, "; give the grub device to predict them."));
    }
    return absl::OkStatus();
  }

  // The built-in commands of the signed grub, the last EFI application before the kernel.
  absl::StatusOr<attest::GrubPrologue> Prologue() const {
    if (in_.efi.empty()) return Invalid("a grub device needs the grub image among the EFI files");
    const ImageFile& grub = in_.efi.back();
    auto pe = attest::ParsePeImage(grub.data);
    if (!pe.ok()) return InFile(grub, pe.status());
    auto info = attest::ParseGrubImage(*pe, grub.data);
    if (!info.ok()) return InFile(grub, info.status());
    auto prologue = attest::DebianSignedGrubPrologue(*info, *in_.grub_device, in_.grub_cmdpath_dir,
                                                     in_.grub_cfg_location);
    if (!prologue.ok()) {
      return InFile(grub, absl::InvalidArgumentError(prologue.status().message()));
    }
    return prologue;
  }

  const FromImageInput& in_;
  std::vector<uint16_t> banks_;
  FromImageResult result_;
};

}  // namespace

absl::StatusOr<FromImageResult> GoldenImageFromFiles(const FromImageInput& input) {
  Builder builder(input);
  return builder.Build();
}

}  // namespace bootgate::policy
