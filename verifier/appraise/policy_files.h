// Policy files on disk: a single PCR-value policy file, or a directory of golden-image policy
// documents (*.yaml, *.yml, *.json, each optionally with a detached signature FILE.sig). Reading,
// fingerprinting (what ActivePolicy watches) and the admin API's "put one file" operation, which
// validates the whole resulting set before anything is written.
#ifndef BOOTGATE_VERIFIER_APPRAISE_POLICY_FILES_H_
#define BOOTGATE_VERIFIER_APPRAISE_POLICY_FILES_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "verifier/appraise/active_policy.h"
#include "verifier/appraise/policy.h"

namespace bootgate::verifier {

struct PolicyFile {
  std::string name;  // file name inside the directory
  std::string content;
  std::string signature;  // contents of NAME.sig, empty when there is none
};

inline constexpr size_t kMaxPolicyFileBytes = 4u << 20;
inline constexpr size_t kMaxPolicyFiles = 256;

// True for names a policy document may have: [A-Za-z0-9._-]{1,128} ending .yaml/.yml/.json.
bool IsPolicyFileName(const std::string& name);

// Every policy document of `dir` in name order, with its detached signature. Errors name the file.
// A directory without any policy document is an error (never an empty, accept-nothing set that
// looks like a configuration mistake nobody noticed).
absl::StatusOr<std::vector<PolicyFile>> ReadPolicyDirectory(const std::string& dir);

// SHA-256 over names, contents and signatures (what a reload is triggered by).
std::string FingerprintPolicyFiles(const std::vector<PolicyFile>& files);
// The same over one file's contents (the PCR-value policy).
absl::StatusOr<std::string> FingerprintFile(const std::string& path);

// Builds a policy from a directory's files (GoldenPolicy::Build bound to the trusted keys).
using PolicySetBuilder =
    std::function<absl::StatusOr<std::shared_ptr<const Policy>>(const std::vector<PolicyFile>&)>;

// The admin API's view of a policy directory.
class PolicyDirectory {
 public:
  // `active` must outlive this object.
  PolicyDirectory(std::string dir, PolicySetBuilder build, ActivePolicy* active)
      : dir_(std::move(dir)), build_(std::move(build)), active_(active) {}

  const std::string& dir() const { return dir_; }

  // Replaces or adds `file` (its signature as NAME.sig, removed when empty). The set with the new
  // file must build, else InvalidArgument with the builder's error and nothing is written. Then
  // the files are written atomically and the set is activated.
  absl::Status Put(const PolicyFile& file);

 private:
  const std::string dir_;
  const PolicySetBuilder build_;
  ActivePolicy* const active_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_APPRAISE_POLICY_FILES_H_
