// A reader for simple, linear grub.cfg files that predicts what grub 2.06 (Debian 12's signed
// grubx64.efi) measures while it runs the file and boots one menu entry.
//
// Supported subset (anything else is rejected with an error naming the line, never guessed):
//   - comments (#...), blank lines, commands separated by newlines or ';', backslash line
//     continuation; words with '...' (literal), "..." (with $var and \" \\ \$ escapes) and
//     backslash escapes;
//   - variables: $name and ${name} that the file itself set with `set`, plus grub_cpu=x86_64 and
//     grub_platform=efi and any the caller supplies; a variable grub only knows at run time (one
//     set by `search --set`, $root, $prefix ...) is an error when used; an unquoted variable's
//     value is split into separate arguments at blanks, a quoted one is not;
//   - top-level commands: set NAME=VALUE, insmod, search / search.fs_uuid / search.fs_label by
//     filesystem UUID or label (not by file: grub may measure a probed file), echo, serial,
//     terminal_input, terminal_output, and menuentry TITLE [--class C|--users U|--hotkey K|--id I|
//     --unrestricted ...] { ... };
//   - inside a menuentry: the same simple commands (no nested menuentry) plus exactly one
//     linux/linuxefi PATH [ARGS...] followed by at most one initrd/initrdefi PATH...;
//   - the entry booted: GrubConfigOptions::entry, else the `default` variable (index, title or
//     --id), else entry 0.
// Rejected: if/for/while/until/function/source/configfile/submenu/load_env/test ('[') and any
// other command, pipes and redirections, nested blocks.
//
// What grub measures (checked against a live Debian 12 boot): each executed command as
// "grub_cmd: " + its arguments after expansion joined by single spaces (a menuentry definition
// includes its block's source text, "{" to "}"); running an entry first executes
// "setparams TITLE [ARGS...]"; `linux` then reads the kernel (PCR 9, H(file)) and measures
// "kernel_cmdline: " + the loader command line (GrubLoaderCmdline of PATH and ARGS); `initrd`
// reads each initrd (PCR 9). grub.cfg itself is measured (PCR 9, H(file)) when grub reads it.
// Commands of grub's built-in config that run before grub.cfg (Debian's signed grub probes
// $prefix and `source`s grub.cfg) depend on the runtime device name and are not predicted here.
#ifndef BOOTGATE_ATTEST_IMAGE_GRUB_CFG_H_
#define BOOTGATE_ATTEST_IMAGE_GRUB_CFG_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "attest/image/boot_events.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

inline constexpr size_t kMaxGrubCfgBytes = 1024 * 1024;
inline constexpr size_t kMaxGrubCommands = 4096;
inline constexpr size_t kMaxGrubWordsPerCommand = 1024;

struct GrubConfigOptions {
  // The entry to boot: a title, an --id, or a 0-based index. Default: grub.cfg's `default`.
  std::optional<std::string> entry;
  // Variables known before grub.cfg runs (name -> value).
  std::map<std::string, std::string> variables;
};

struct GrubBootStep {
  enum class Kind {
    kCommand,        // PCR 8 "grub_cmd: " + text
    kKernelFile,     // PCR 9 H(kernel file), text = path
    kKernelCmdline,  // PCR 8 "kernel_cmdline: " + text
    kInitrdFile,     // PCR 9 H(initrd file), text = path
  };
  Kind kind = Kind::kCommand;
  std::string text;
};

struct GrubBootPlan {
  std::string entry_title;
  std::string kernel_path;                // as written in grub.cfg, after expansion
  std::vector<std::string> kernel_args;   // the `linux` arguments after the path
  std::vector<std::string> initrd_paths;  // in load order
  std::string kernel_cmdline;             // the "kernel_cmdline: " text
  // Measurements after grub read grub.cfg, in order.
  std::vector<GrubBootStep> steps;

  // The "grub_cmd: " texts in order.
  std::vector<std::string> Commands() const;
};

// Runs grub.cfg (see the supported subset above). InvalidArgument errors name the line:
// "grub.cfg line 7: 'if' is not supported ...".
absl::StatusOr<GrubBootPlan> ParseGrubConfig(absl::string_view cfg,
                                             const GrubConfigOptions& options = {});

// The events of a plan: PCR 9 grub.cfg (description `cfg_path`, as grub names it), then every
// step with the kernel's and initrds' digests. `initrds` in plan.initrd_paths order.
absl::StatusOr<std::vector<PredictedEvent>> PredictGrubEvents(const GrubBootPlan& plan,
                                                              absl::string_view cfg_path,
                                                              ByteSpan cfg, ByteSpan kernel,
                                                              const std::vector<ByteSpan>& initrds,
                                                              absl::Span<const uint16_t> algs);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_IMAGE_GRUB_CFG_H_
