// Fuzzes the grub.cfg reader on untrusted text. Invariants: no crash or out-of-bounds read, and an
// accepted config names a kernel and measures at least the setparams and linux commands.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "attest/image/grub_cfg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::attest;  // NOLINT(build/namespaces): fuzz entry point
  absl::string_view cfg(reinterpret_cast<const char*>(data), size);
  auto plan = ParseGrubConfig(cfg);
  if (!plan.ok()) return 0;
  if (plan->kernel_path.empty() || plan->Commands().size() < 2) std::abort();
  return 0;
}
