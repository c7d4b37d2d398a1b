// bootgate policy from-image: golden measurements computed from an OS image's boot files, without
// booting it. This file reads the files and finds the boot chain on an ESP; the digests and the
// GoldenImage come from the pure policy/from_image.h.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/image/efi_app.h"
#include "attest/image/grub_cfg.h"
#include "attest/image/grub_image.h"
#include "attest/image/pe_image.h"
#include "attest/util/bytes.h"
#include "attest/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "policy/from_image.h"
#include "policy/loader.h"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"

namespace bootgate::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] = R"usage(Usage: bootgate policy from-image --name N --version V
         (--esp DIR | --uki FILE | --kernel FILE [--initrd FILE]... [--cmdline TEXT]
          [--grub-cfg FILE] [--entry NAME])
         [--efi FILE]... [--banks sha1,sha256,sha384] [--secure-boot on|off]
         [--kernel-measurements N] [--grub-device DEV] [--out FILE] [--json]

Computes a GoldenImage from boot files without booting them:
  PCR 4   Authenticode digests of the EFI applications in boot order (--efi, repeatable, e.g.
          shimx64.efi then grubx64.efi), then the kernel or the UKI and the kernel inside it
  PCR 8/9 with --grub-cfg: grub.cfg, the kernel and initrds as grub reads them, and the
          "kernel_cmdline:" grub measures (a linear grub.cfg only: set, insmod, search by
          UUID/label, echo, menuentry with linux/initrd; no if/for/function/source/submenu)
  PCR 9   Linux EFI stub load options (--cmdline, or a UKI's .cmdline) and initrd
  PCR 11  a UKI's systemd-stub section measurements (systemd 252-255)
--esp DIR finds the chain on a mounted or extracted ESP: \EFI\BOOT\BOOTX64.EFI is shim (then
grubx64.efi beside it and grub.cfg from /EFI/debian/x86_64-efi, /EFI/debian or beside grub, and
the kernel and initrd it names on the ESP), systemd-boot (then the one UKI in /EFI/Linux or the one
/loader/entries/*.conf entry, or loader.conf's default) or a UKI. --kernel/--initrd override the
files grub.cfg names (Debian keeps them on /boot). --entry picks the grub menuentry (title, --id or
index; default: grub.cfg's default) or the systemd-boot entry (file name).

With grub, the kernel appears --kernel-measurements times in PCR 4 (default 2: shim verifies it and
the firmware loads it on Debian 12). grub's own command sequence (PCR 8) starts with the signed
grub's built-in config, whose commands name grub's device for the ESP: with --esp and
--grub-device DEV (e.g. "(hd0,gpt1)"; "(hd0)" for an unpartitioned image) they are predicted and
the whole sequence is enforced; without it grub commands are checked for integrity only. PCR 7 databases and PCR 14 (MOK) are not determined by the
files; only secureBoot.enabled (--secure-boot, default on) is set.

Writes the GoldenImage as YAML to FILE (or stdout). --json prints the image, every predicted event
and a UKI's PCR 11 value (`systemd-measure calculate --phase=`) as JSON on stdout.

Exit codes: 0 written, 2 usage error, 3 file unreadable, unparsable or unsupported.
)usage";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "bootgate policy from-image: %s\n%s", message.c_str(), kUsage);
  return kExitUsage;
}

int InputError(const std::string& message) {
  std::fprintf(stderr, "bootgate policy from-image: %s\n", message.c_str());
  return kExitBadInput;
}

// Owns the bytes of every file read; ImageFile spans point into it.
class FileStore {
 public:
  absl::StatusOr<policy::ImageFile> Read(const std::string& path, const std::string& name) {
    absl::StatusOr<std::string> data = ReadFileToString(path);
    if (!data.ok()) return data.status();
    files_.push_back(attest::ToBytes(*data));
    return policy::ImageFile{name, files_.back()};
  }

 private:
  std::list<attest::Bytes> files_;
};

// A path under `root` matched case-insensitively component by component (FAT is case-insensitive;
// an extracted ESP keeps whatever case the files had). `relative` uses '/' separators.
std::optional<fs::path> FindCaseInsensitive(const fs::path& root, const std::string& relative) {
  fs::path cur = root;
  for (absl::string_view part : absl::StrSplit(relative, '/', absl::SkipEmpty())) {
    std::error_code ec;
    std::optional<fs::path> next;
    for (const auto& entry : fs::directory_iterator(cur, ec)) {
      if (absl::EqualsIgnoreCase(entry.path().filename().string(), part)) {
        next = entry.path();
        break;
      }
    }
    if (ec || !next.has_value()) return std::nullopt;
    cur = *next;
  }
  return cur;
}

// "/EFI/BOOT/BOOTX64.EFI" style name of a file on the ESP (informational).
std::string EspName(const fs::path& esp, const fs::path& file) {
  return "/" + fs::relative(file, esp).generic_string();
}

struct LoaderEntry {
  std::string name;
  std::string linux_path;
  std::vector<std::string> initrds;
  std::string options;
};

absl::StatusOr<LoaderEntry> ParseLoaderEntry(const std::string& name, const std::string& text) {
  LoaderEntry e;
  e.name = name;
  std::vector<std::string> options;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find_first_of(" \t");
    const std::string key(line.substr(0, sp));
    const std::string value(
        sp == absl::string_view::npos ? "" : absl::StripAsciiWhitespace(line.substr(sp)));
    if (key == "linux") {
      e.linux_path = value;
    } else if (key == "initrd") {
      e.initrds.push_back(value);
    } else if (key == "options") {
      options.push_back(value);
    } else if (key == "efi" || key == "devicetree" || key == "devicetree-overlay") {
      return absl::InvalidArgumentError(
          absl::StrCat("loader entry ", name, ": '", key, "' entries are not supported"));
    }
  }
  if (e.linux_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("loader entry ", name, " has no linux line"));
  }
  e.options = absl::StrJoin(options, " ");
  return e;
}

struct Flags {
  std::vector<std::string> efi;
  std::vector<std::string> initrd;
};

class FromImageCommand {
 public:
  int Run(const ParsedArgs& args, const Flags& repeated) {
    input_.name = args.Get("name");
    input_.version = args.Get("version");
    if (input_.name.empty() || input_.version.empty()) {
      return UsageError("--name and --version are required");
    }
    if (args.Has("banks")) {
      for (absl::string_view b : absl::StrSplit(args.Get("banks"), ',', absl::SkipEmpty())) {
        absl::StatusOr<uint16_t> alg = attest::HashAlgFromName(absl::StripAsciiWhitespace(b));
        if (!alg.ok()) return UsageError(std::string(alg.status().message()));
        input_.banks.push_back(*alg);
      }
    }
    const std::string sb = args.Get("secure-boot", "on");
    if (sb != "on" && sb != "off") return UsageError("--secure-boot takes on or off");
    input_.secure_boot = sb == "on";
    if (args.Has("kernel-measurements") &&
        !absl::SimpleAtoi(args.Get("kernel-measurements"), &input_.grub_kernel_measurements)) {
      return UsageError("--kernel-measurements takes a number");
    }
    if (args.Has("entry")) input_.grub_options.entry = args.Get("entry");

    const int modes = args.Has("esp") + args.Has("uki") + (args.Has("kernel") && !args.Has("esp"));
    if (modes != 1) return UsageError("give exactly one of --esp, --uki and --kernel");
    if (args.Has("esp") && args.Has("uki")) return UsageError("--esp and --uki exclude each other");

    for (const std::string& f : repeated.efi) {
      absl::Status s = Add(f, &input_.efi);
      if (!s.ok()) return InputError(std::string(s.message()));
    }
    absl::Status s = absl::OkStatus();
    if (args.Has("esp")) {
      s = FromEsp(args, repeated);
    } else if (args.Has("uki")) {
      s = FromUki(args, repeated);
    } else {
      s = FromKernel(args, repeated);
    }
    if (!s.ok()) {
      return s.code() == absl::StatusCode::kFailedPrecondition
                 ? UsageError(std::string(s.message()))
                 : InputError(std::string(s.message()));
    }

    absl::StatusOr<policy::FromImageResult> result = policy::GoldenImageFromFiles(input_);
    if (!result.ok()) return InputError(std::string(result.status().message()));
    return Write(args, *result);
  }

 private:
  absl::Status Add(const std::string& path, std::vector<policy::ImageFile>* out,
                   const std::string& name = "") {
    absl::StatusOr<policy::ImageFile> f = store_.Read(path, name.empty() ? path : name);
    if (!f.ok()) return f.status();
    out->push_back(*f);
    return absl::OkStatus();
  }

  absl::Status Set(const std::string& path, std::optional<policy::ImageFile>* out,
                   const std::string& name = "") {
    absl::StatusOr<policy::ImageFile> f = store_.Read(path, name.empty() ? path : name);
    if (!f.ok()) return f.status();
    *out = *f;
    return absl::OkStatus();
  }

  static absl::Status Usage(const std::string& message) {
    return absl::FailedPreconditionError(message);
  }

  absl::Status FromUki(const ParsedArgs& args, const Flags& repeated) {
    if (args.Has("grub-device")) return Usage("--grub-device needs --esp");
    if (!repeated.initrd.empty() || args.Has("cmdline") || args.Has("grub-cfg")) {
      return Usage(
          "--uki carries its own initrd and command line: no --initrd, --cmdline or "
          "--grub-cfg");
    }
    return Set(args.Get("uki"), &input_.uki);
  }

  absl::Status FromKernel(const ParsedArgs& args, const Flags& repeated) {
    if (args.Has("grub-device")) return Usage("--grub-device needs --esp");
    RETURN_IF_ERROR(Set(args.Get("kernel"), &input_.kernel));
    for (const std::string& f : repeated.initrd) RETURN_IF_ERROR(Add(f, &input_.initrds));
    if (args.Has("grub-cfg")) {
      if (args.Has("cmdline")) return Usage("with --grub-cfg the command line comes from grub.cfg");
      return Set(args.Get("grub-cfg"), &input_.grub_cfg);
    }
    if (args.Has("cmdline")) input_.cmdline = args.Get("cmdline");
    return absl::OkStatus();
  }

  // Kernel and initrds that grub.cfg names: --kernel/--initrd when given, else on the ESP.
  absl::Status GrubFiles(const ParsedArgs& args, const Flags& repeated, const fs::path& esp,
                         const std::string& cfg_text, const std::string& cfg_name) {
    absl::StatusOr<attest::GrubBootPlan> plan =
        attest::ParseGrubConfig(cfg_text, input_.grub_options);
    if (!plan.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(cfg_name, ": ", plan.status().message()));
    }
    auto on_esp = [&](const std::string& path) -> absl::StatusOr<fs::path> {
      if (absl::StartsWith(path, "(")) {
        return absl::InvalidArgumentError(
            absl::StrCat(cfg_name, " names ", path, " on a grub device: pass --kernel/--initrd"));
      }
      std::optional<fs::path> p = FindCaseInsensitive(esp, path);
      if (!p.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            cfg_name, " names ", path, ", which is not on the ESP (Debian keeps kernels on ",
            "/boot): pass --kernel and --initrd"));
      }
      return *p;
    };
    if (args.Has("kernel")) {
      RETURN_IF_ERROR(Set(args.Get("kernel"), &input_.kernel));
    } else {
      absl::StatusOr<fs::path> k = on_esp(plan->kernel_path);
      if (!k.ok()) return k.status();
      RETURN_IF_ERROR(Set(k->string(), &input_.kernel, EspName(esp, *k)));
    }
    if (!repeated.initrd.empty()) {
      for (const std::string& f : repeated.initrd) RETURN_IF_ERROR(Add(f, &input_.initrds));
    } else {
      for (const std::string& path : plan->initrd_paths) {
        absl::StatusOr<fs::path> i = on_esp(path);
        if (!i.ok()) return i.status();
        RETURN_IF_ERROR(Add(i->string(), &input_.initrds, EspName(esp, *i)));
      }
    }
    return absl::OkStatus();
  }

  absl::Status FromEsp(const ParsedArgs& args, const Flags& repeated) {
    if (!repeated.efi.empty()) return Usage("--esp finds the EFI applications itself: no --efi");
    if (args.Has("cmdline")) return Usage("--esp takes the command line from the ESP's files");
    const fs::path esp = args.Get("esp");
    std::optional<fs::path> boot = FindCaseInsensitive(esp, "EFI/BOOT/BOOTX64.EFI");
    if (!boot.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(esp.string(), ": no \\EFI\\BOOT\\BOOTX64.EFI on this ESP"));
    }
    ASSIGN_OR_RETURN(attest::EfiAppKind kind, Classify(*boot));
    if (kind != attest::EfiAppKind::kShim && (args.Has("kernel") || !repeated.initrd.empty() ||
                                              args.Has("grub-cfg") || args.Has("grub-device"))) {
      return Usage(
          "--kernel, --initrd, --grub-cfg and --grub-device apply to a shim/grub ESP only");
    }
    std::fprintf(stderr, "from-image: %s is %s\n", EspName(esp, *boot).c_str(),
                 attest::EfiAppKindName(kind).c_str());
    switch (kind) {
      case attest::EfiAppKind::kUki:
        return Set(boot->string(), &input_.uki, EspName(esp, *boot));
      case attest::EfiAppKind::kShim:
        return FromShim(args, repeated, esp, *boot);
      case attest::EfiAppKind::kSystemdBoot:
        return FromSystemdBoot(args, esp, *boot);
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            EspName(esp, *boot), " is ", attest::EfiAppKindName(kind),
            ": only shim, systemd-boot or a UKI are followed (pass --efi/--kernel/--grub-cfg)"));
    }
  }

  absl::StatusOr<attest::EfiAppKind> Classify(const fs::path& file) {
    absl::StatusOr<std::string> data = ReadFileToString(file.string());
    if (!data.ok()) return data.status();
    absl::StatusOr<attest::PeImage> pe = attest::ParsePeImage(attest::AsSpan(*data));
    if (!pe.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", pe.status().message()));
    }
    return attest::ClassifyEfiApp(*pe, attest::AsSpan(*data));
  }

  absl::Status FromShim(const ParsedArgs& args, const Flags& repeated, const fs::path& esp,
                        const fs::path& shim) {
    RETURN_IF_ERROR(Add(shim.string(), &input_.efi, EspName(esp, shim)));
    std::optional<fs::path> grub = FindCaseInsensitive(shim.parent_path(), "grubx64.efi");
    if (!grub.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("no grubx64.efi beside ", EspName(esp, shim)));
    }
    ASSIGN_OR_RETURN(attest::EfiAppKind kind, Classify(*grub));
    if (kind != attest::EfiAppKind::kGrub) {
      return absl::InvalidArgumentError(
          absl::StrCat(EspName(esp, *grub), " is not grub (", attest::EfiAppKindName(kind), ")"));
    }
    RETURN_IF_ERROR(Add(grub->string(), &input_.efi, EspName(esp, *grub)));
    // Debian's signed grub: prefix /EFI/debian, then the directory grub was started from.
    std::optional<fs::path> cfg;
    const std::string cmdpath = fs::relative(grub->parent_path(), esp).generic_string();
    const std::pair<std::string, attest::GrubCfgLocation> candidates[] = {
        {"EFI/debian/x86_64-efi/grub.cfg", attest::GrubCfgLocation::kPrefixPlatform},
        {"EFI/debian/grub.cfg", attest::GrubCfgLocation::kPrefix},
        {cmdpath + "/grub.cfg", attest::GrubCfgLocation::kCmdpath}};
    for (const auto& [candidate, location] : candidates) {
      cfg = FindCaseInsensitive(esp, candidate);
      if (cfg.has_value()) {
        input_.grub_cfg_location = location;
        break;
      }
    }
    input_.grub_cmdpath_dir = "/" + cmdpath;
    if (args.Has("grub-device")) input_.grub_device = args.Get("grub-device");
    if (args.Has("grub-cfg")) {
      if (args.Has("grub-device")) {
        return Usage("--grub-device predicts where grub finds grub.cfg on the ESP: no --grub-cfg");
      }
      cfg = fs::path(args.Get("grub-cfg"));
    }
    if (!cfg.has_value()) {
      return absl::InvalidArgumentError(
          "no grub.cfg in /EFI/debian/x86_64-efi, /EFI/debian or beside grubx64.efi");
    }
    const std::string cfg_name = args.Has("grub-cfg") ? cfg->string() : EspName(esp, *cfg);
    RETURN_IF_ERROR(Set(cfg->string(), &input_.grub_cfg, cfg_name));
    std::string text(input_.grub_cfg->data.begin(), input_.grub_cfg->data.end());
    return GrubFiles(args, repeated, esp, text, cfg_name);
  }

  absl::Status FromSystemdBoot(const ParsedArgs& args, const fs::path& esp,
                               const fs::path& sdboot) {
    RETURN_IF_ERROR(Add(sdboot.string(), &input_.efi, EspName(esp, sdboot)));
    // Candidates: UKIs in /EFI/Linux and type #1 entries in /loader/entries.
    std::vector<std::pair<std::string, fs::path>> ukis, entries;
    if (auto dir = FindCaseInsensitive(esp, "EFI/Linux"); dir.has_value()) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(*dir, ec)) {
        if (absl::EndsWithIgnoreCase(e.path().filename().string(), ".efi")) {
          ukis.emplace_back(e.path().filename().string(), e.path());
        }
      }
    }
    if (auto dir = FindCaseInsensitive(esp, "loader/entries"); dir.has_value()) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(*dir, ec)) {
        if (absl::EndsWith(e.path().filename().string(), ".conf")) {
          entries.emplace_back(e.path().filename().string(), e.path());
        }
      }
    }
    std::sort(ukis.begin(), ukis.end());
    std::sort(entries.begin(), entries.end());
    std::string want = args.Get("entry");
    if (want.empty()) {
      if (auto conf = FindCaseInsensitive(esp, "loader/loader.conf"); conf.has_value()) {
        absl::StatusOr<std::string> text = ReadFileToString(conf->string());
        if (!text.ok()) return text.status();
        for (absl::string_view line : absl::StrSplit(*text, '\n')) {
          line = absl::StripAsciiWhitespace(line);
          if (absl::ConsumePrefix(&line, "default") && !line.empty() &&
              absl::ascii_isspace(line[0])) {
            want = std::string(absl::StripAsciiWhitespace(line));
          }
        }
      }
    }
    std::vector<std::string> names;
    for (const auto& [n, p] : ukis) names.push_back(n);
    for (const auto& [n, p] : entries) names.push_back(n);
    auto pick = [&](const std::string& n) {
      return want.empty() ? (ukis.size() + entries.size() == 1)
                          : (n == want || n == want + ".conf" || n == want + ".efi");
    };
    for (const auto& [n, p] : ukis) {
      if (pick(n)) return Set(p.string(), &input_.uki, EspName(esp, p));
    }
    for (const auto& [n, p] : entries) {
      if (!pick(n)) continue;
      absl::StatusOr<std::string> text = ReadFileToString(p.string());
      if (!text.ok()) return text.status();
      ASSIGN_OR_RETURN(LoaderEntry entry, ParseLoaderEntry(n, *text));
      // A copy: C++17 lambdas cannot capture structured bindings (clang refuses).
      const std::string entry_name = n;
      auto file = [&](const std::string& path) -> absl::StatusOr<fs::path> {
        std::optional<fs::path> f = FindCaseInsensitive(esp, path);
        if (!f.has_value()) {
          return absl::InvalidArgumentError(absl::StrCat("loader entry ", entry_name, " names ",
                                                         path, ", which is not on the ESP"));
        }
        return *f;
      };
      ASSIGN_OR_RETURN(fs::path kernel, file(entry.linux_path));
      RETURN_IF_ERROR(Set(kernel.string(), &input_.kernel, EspName(esp, kernel)));
      if (entry.initrds.size() > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("loader entry ", n,
                         ": more than one initrd (systemd-boot concatenates them) is not "
                         "supported"));
      }
      for (const std::string& i : entry.initrds) {
        ASSIGN_OR_RETURN(fs::path initrd, file(i));
        RETURN_IF_ERROR(Add(initrd.string(), &input_.initrds, EspName(esp, initrd)));
      }
      if (!entry.options.empty()) input_.cmdline = entry.options;
      return absl::OkStatus();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "systemd-boot: cannot choose a boot entry", want.empty() ? "" : " '" + want + "'",
        " among [", absl::StrJoin(names, ", "), "] (pass --entry NAME)"));
  }

  int Write(const ParsedArgs& args, const policy::FromImageResult& result) {
    policy::PolicySet set;
    set.images.push_back(result.image);
    const std::string yaml = policy::SerializeYaml(set);
    if (args.Has("out")) {
      std::ofstream out(args.Get("out"), std::ios::binary | std::ios::trunc);
      out << yaml;
      out.close();
      if (!out) return InputError(absl::StrCat("cannot write ", args.Get("out")));
    }
    if (args.Has("json")) {
      nlohmann::json j;
      j["goldenImage"] = policy::ToJson(result.image);
      nlohmann::json events = nlohmann::json::array();
      for (const attest::PredictedEvent& e : result.events) {
        nlohmann::json d = nlohmann::json::object();
        for (const attest::EventDigest& g : e.digests) {
          d[attest::HashAlgName(g.alg)] = attest::HexEncode(g.digest);
        }
        events.push_back({{"pcr", e.pcr},
                          {"type", attest::EventTypeName(e.type)},
                          {"description", e.description},
                          {"digests", d}});
      }
      j["events"] = events;
      if (!result.pcr11.empty()) {
        nlohmann::json p = nlohmann::json::object();
        for (const attest::EventDigest& g : result.pcr11) {
          p[attest::HashAlgName(g.alg)] = attest::HexEncode(g.digest);
        }
        j["pcr11"] = p;
      }
      j["notes"] = result.notes;
      std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      if (!args.Has("out")) std::fputs(yaml.c_str(), stdout);
      for (const std::string& n : result.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    }
    return kExitOk;
  }

  FileStore store_;
  policy::FromImageInput input_;
};

}  // namespace

int RunPolicyFromImageCommand(const std::vector<std::string>& args) {
  // --efi and --initrd may repeat; ParseArgs takes each flag once, so collect them first.
  Flags repeated;
  std::vector<std::string> rest;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    std::vector<std::string>* target = nullptr;
    std::string flag;
    if (a == "--efi" || absl::StartsWith(a, "--efi=")) {
      target = &repeated.efi;
      flag = "--efi";
    } else if (a == "--initrd" || absl::StartsWith(a, "--initrd=")) {
      target = &repeated.initrd;
      flag = "--initrd";
    }
    if (target == nullptr) {
      rest.push_back(a);
      continue;
    }
    if (a == flag) {
      if (i + 1 >= args.size()) return UsageError(absl::StrCat(flag, " needs a value"));
      target->push_back(args[++i]);
    } else {
      target->push_back(a.substr(flag.size() + 1));
    }
  }
  absl::StatusOr<ParsedArgs> parsed =
      ParseArgs(rest,
                {"name", "version", "kernel", "cmdline", "grub-cfg", "entry", "uki", "esp", "banks",
                 "out", "secure-boot", "kernel-measurements", "grub-device"},
                {"json"});
  if (!parsed.ok()) return UsageError(std::string(parsed.status().message()));
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (!parsed->positional.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", parsed->positional[0], "'"));
  }
  FromImageCommand command;
  return command.Run(*parsed, repeated);
}

}  // namespace bootgate::cli
