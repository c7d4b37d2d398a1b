#include "verifier/appraise/policy_files.h"

#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/util/bytes.h"
#include "attest/util/status_macros.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {

namespace {

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Sha256Hex(absl::string_view data) {
  absl::StatusOr<attest::Bytes> digest =
      attest::Hash(static_cast<uint16_t>(attest::HashAlg::kSha256), attest::AsSpan(data));
  // SHA-256 is always available in OpenSSL; an error here is a broken library.
  return digest.ok() ? attest::HexEncode(*digest) : std::string("unavailable");
}

}  // namespace

bool IsPolicyFileName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return absl::EndsWith(name, ".yaml") || absl::EndsWith(name, ".yml") ||
         absl::EndsWith(name, ".json");
}

absl::StatusOr<std::vector<PolicyFile>> ReadPolicyDirectory(const std::string& dir) {
  if (!IsDirectory(dir)) {
    return absl::NotFoundError(absl::StrCat("policy_dir ", dir, " is not a directory"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> paths, ListFiles(dir));
  std::vector<PolicyFile> files;
  for (const std::string& path : paths) {
    const std::string name = BaseName(path);
    if (!IsPolicyFileName(name)) continue;  // FILE.sig, editor backups, READMEs
    if (files.size() == kMaxPolicyFiles) {
      return absl::ResourceExhaustedError(
          absl::StrCat("policy_dir ", dir, ": more than ", kMaxPolicyFiles, " policy files"));
    }
    PolicyFile file;
    file.name = name;
    absl::StatusOr<std::string> content = ReadFile(path, kMaxPolicyFileBytes);
    if (!content.ok()) {
      return absl::Status(content.status().code(),
                          absl::StrCat(path, ": ", content.status().message()));
    }
    file.content = *std::move(content);
    const std::string sig_path = absl::StrCat(path, ".sig");
    if (PathExists(sig_path)) {
      absl::StatusOr<std::string> sig = ReadFile(sig_path, 64 << 10);
      if (!sig.ok()) {
        return absl::Status(sig.status().code(),
                            absl::StrCat(sig_path, ": ", sig.status().message()));
      }
      file.signature = *std::move(sig);
    }
    files.push_back(std::move(file));
  }
  if (files.empty()) {
    return absl::NotFoundError(
        absl::StrCat("policy_dir ", dir, " holds no policy file (*.yaml, *.yml, *.json)"));
  }
  return files;
}

std::string FingerprintPolicyFiles(const std::vector<PolicyFile>& files) {
  std::string all;
  for (const PolicyFile& f : files) {
    // Length-prefixed so that moving bytes between fields changes the digest.
    absl::StrAppend(&all, f.name.size(), ":", f.name, f.content.size(), ":", f.content,
                    f.signature.size(), ":", f.signature);
  }
  return Sha256Hex(all);
}

absl::StatusOr<std::string> FingerprintFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string content, ReadFile(path, kMaxPolicyFileBytes));
  return Sha256Hex(content);
}

absl::Status PolicyDirectory::Put(const PolicyFile& file) {
  if (!IsPolicyFileName(file.name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "file_name '", file.name, "': must be [A-Za-z0-9._-]{1,128} ending .yaml, .yml or .json"));
  }
  if (file.content.size() > kMaxPolicyFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("content: more than ", kMaxPolicyFileBytes, " bytes"));
  }
  ASSIGN_OR_RETURN(std::vector<PolicyFile> files, ReadPolicyDirectory(dir_));
  bool replaced = false;
  for (PolicyFile& f : files) {
    if (f.name == file.name) {
      f = file;
      replaced = true;
    }
  }
  if (!replaced) files.push_back(file);
  absl::StatusOr<std::shared_ptr<const Policy>> candidate = build_(files);
  if (!candidate.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the policy set with ", file.name, " does not load: ", candidate.status().message()));
  }
  const std::string path = absl::StrCat(dir_, "/", file.name);
  const std::string sig_path = absl::StrCat(path, ".sig");
  // Signature first: a watcher that sees the new content also sees its signature (a reload that
  // catches the window in between fails verification and keeps the old set active).
  if (!file.signature.empty()) {
    RETURN_IF_ERROR(WriteFileAtomic(sig_path, file.signature, 0644));
  } else if (PathExists(sig_path) && std::remove(sig_path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot remove ", sig_path));
  }
  RETURN_IF_ERROR(WriteFileAtomic(path, file.content, 0644));
  return active_->Reload();
}

}  // namespace bootgate::verifier
