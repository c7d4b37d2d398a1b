// Reading and writing golden-measurement documents (docs/policy.md).
//
// Files are YAML (JSON is accepted: it is read through the same parser) holding one or more
// documents separated by `---`, each `{apiVersion: bootgate.dev/v1, kind, metadata, spec}`.
// Parsing is strict: unknown fields, missing required fields, digests of the wrong length for
// their bank and values of the wrong type are errors that name the document and the field path
// ("document 2 (GoldenImage debian-12): spec.bootChain[1].digests.sha256: 31 bytes, a sha256
// digest has 32"). There is no fallback: a set that does not load is an error.
//
// Canonical bytes (what is signed, and what the policy version id hashes) are compact JSON with
// sorted keys of every non-signature document, ordered by kind, name and version: independent of
// formatting, key order, comments and document order in the file.
#ifndef BOOTGATE_POLICY_LOADER_H_
#define BOOTGATE_POLICY_LOADER_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "policy/model.h"

namespace bootgate::policy {

// Caps applied before and while parsing (real policies are far below them).
inline constexpr size_t kMaxPolicyBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxPolicyNodes = 1000000;  // YAML nodes after alias expansion
inline constexpr size_t kMaxPolicyDepth = 64;
inline constexpr size_t kMaxPolicyDocuments = 10000;

// Parses every document of one file. `source` names the file in errors. Checks each document's
// schema; does not check references between documents (ValidatePolicySet does).
absl::StatusOr<PolicySet> ParsePolicyDocuments(absl::string_view text,
                                               absl::string_view source = "policy");

// Appends `more`'s documents to `*set` (several files loaded as one set).
void MergePolicySets(PolicySet more, PolicySet* set);

// Whole-set checks that evaluation relies on: exactly one Policy; unique (kind, name, version);
// every image and platform a group names exists; known quirks and warnOnly codes; every digest
// of a referenced image/platform present for every enforced bank; notBefore < notAfter.
absl::Status ValidatePolicySet(const PolicySet& set);

// Lookups by name and version (nullptr when absent).
const GoldenImage* FindImage(const PolicySet& set, const std::string& name,
                             const std::string& version);
const PlatformReference* FindPlatform(const PolicySet& set, const std::string& name,
                                      const std::string& version);

// Documents as JSON values (the canonical form: absent optionals are left out).
nlohmann::json ToJson(const GoldenImage& image);
nlohmann::json ToJson(const PlatformReference& platform);
nlohmann::json ToJson(const Policy& policy);
nlohmann::json ToJson(const PolicySignature& signature);

// The signed bytes: canonical JSON of every document except signatures.
std::string CanonicalBytes(const PolicySet& set);
// "<policy name>@sha256:<first 16 hex of SHA-256(CanonicalBytes)>"; the policy name is the
// set's Policy's (or "documents" when there is none).
std::string PolicyVersionId(const PolicySet& set);

// Multi-document YAML: Policy first, then images, platforms and (if `with_signatures`) embedded
// signatures. ParsePolicyDocuments(SerializeYaml(s)) has the same CanonicalBytes as s.
std::string SerializeYaml(const PolicySet& set, bool with_signatures = true);
// One PolicySignature document (the detached FILE.sig format).
std::string SerializeSignatureYaml(const PolicySignature& signature);
// A detached signature file: exactly one PolicySignature document.
absl::StatusOr<PolicySignature> ParseDetachedSignature(absl::string_view text,
                                                       absl::string_view source = "signature");

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_LOADER_H_
