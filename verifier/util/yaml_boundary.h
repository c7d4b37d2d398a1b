// yaml-cpp reports errors by throwing. bootgate's own code does not throw, so every use of
// yaml-cpp (configuration and policy files) runs inside CatchYaml, the one place its exceptions
// are caught and turned into a Status.
#ifndef BOOTGATE_VERIFIER_UTIL_YAML_BOUNDARY_H_
#define BOOTGATE_VERIFIER_UTIL_YAML_BOUNDARY_H_

#include <yaml-cpp/yaml.h>

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace bootgate::verifier {

// Runs `fn` (returning absl::Status or absl::StatusOr<T>) and converts a yaml-cpp exception into
// InvalidArgument naming `what` (the file) and the line/column yaml-cpp reports.
template <typename Fn>
auto CatchYaml(absl::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.msg));
    return absl::InvalidArgumentError(
        absl::StrCat(what, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_YAML_BOUNDARY_H_
