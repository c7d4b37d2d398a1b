#include "verifier/pki/dev_pki.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "verifier/config/config.h"
#include "verifier/util/files.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier {

namespace {

constexpr const char* kOutputs[] = {
    "ca.pem",    "ca.key",          "server.pem",          "server.key",   "admin.pem",
    "admin.key", "ear-signing.key", "ear-signing.pub.pem", "verifier.yaml"};

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat("mkdir ", path, ": ", std::strerror(errno)));
  }
  if (!IsDirectory(path))
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a directory"));
  return absl::OkStatus();
}

}  // namespace

absl::Status InitVerifierDirectory(const std::string& dir, const InitOptions& options,
                                   const Clock& clock) {
  RETURN_IF_ERROR(MakeDir(dir));
  for (const char* name : kOutputs) {
    const std::string path = absl::StrCat(dir, "/", name);
    if (PathExists(path)) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists: init never overwrites; use an empty directory"));
    }
  }
  const absl::Time now = clock.Now();
  const absl::Time not_before = now - absl::Hours(1);  // tolerate small clock skew

  ASSIGN_OR_RETURN(attest::EvpPkeyPtr ca_key, GenerateEcP256Key());
  CertSpec ca_spec;
  ca_spec.common_name = "bootgate development CA";
  ca_spec.not_before = not_before;
  ca_spec.not_after = now + absl::Hours(24 * 365 * 10);
  ca_spec.is_ca = true;
  ca_spec.key_usage = "critical,keyCertSign,cRLSign";
  ASSIGN_OR_RETURN(attest::X509Ptr ca,
                   IssueCertificate(ca_spec, ca_key.get(), nullptr, ca_key.get()));

  ASSIGN_OR_RETURN(attest::EvpPkeyPtr server_key, GenerateEcP256Key());
  CertSpec server_spec;
  server_spec.common_name = "bootgate-verifier";
  server_spec.not_before = not_before;
  server_spec.not_after = now + absl::Hours(24 * 365 * 2);
  server_spec.key_usage = "critical,digitalSignature";
  server_spec.extended_key_usage = {"serverAuth"};
  server_spec.dns_names = {"localhost"};
  server_spec.ip_addresses = {"127.0.0.1", "::1"};
  ASSIGN_OR_RETURN(attest::X509Ptr server,
                   IssueCertificate(server_spec, server_key.get(), ca.get(), ca_key.get()));

  ASSIGN_OR_RETURN(attest::EvpPkeyPtr admin_key, GenerateEcP256Key());
  CertSpec admin_spec;
  admin_spec.common_name = "bootgate-admin";
  admin_spec.not_before = not_before;
  admin_spec.not_after = now + absl::Hours(24 * 365 * 2);
  admin_spec.key_usage = "critical,digitalSignature";
  admin_spec.extended_key_usage = {"clientAuth"};
  ASSIGN_OR_RETURN(attest::X509Ptr admin,
                   IssueCertificate(admin_spec, admin_key.get(), ca.get(), ca_key.get()));

  ASSIGN_OR_RETURN(attest::EvpPkeyPtr ear_key, GenerateEcP256Key());

  std::string ek_ca = options.ek_ca;
  if (ek_ca.empty()) {
    RETURN_IF_ERROR(MakeDir(absl::StrCat(dir, "/ek-ca")));
    ek_ca = "ek-ca";
  }

  struct Output {
    const char* name;
    std::string data;
    int mode;
  };
  std::vector<Output> outputs;
  ASSIGN_OR_RETURN(std::string ca_pem, CertificatePem(ca.get()));
  ASSIGN_OR_RETURN(std::string ca_key_pem, PrivateKeyPem(ca_key.get()));
  ASSIGN_OR_RETURN(std::string server_pem, CertificatePem(server.get()));
  ASSIGN_OR_RETURN(std::string server_key_pem, PrivateKeyPem(server_key.get()));
  ASSIGN_OR_RETURN(std::string admin_pem, CertificatePem(admin.get()));
  ASSIGN_OR_RETURN(std::string admin_key_pem, PrivateKeyPem(admin_key.get()));
  ASSIGN_OR_RETURN(std::string ear_key_pem, PrivateKeyPem(ear_key.get()));
  ASSIGN_OR_RETURN(std::string ear_pub_pem, PublicKeyPem(ear_key.get()));
  outputs.push_back({"ca.pem", ca_pem, 0644});
  outputs.push_back({"ca.key", ca_key_pem, 0600});
  outputs.push_back({"server.pem", server_pem, 0644});
  outputs.push_back({"server.key", server_key_pem, 0600});
  outputs.push_back({"admin.pem", admin_pem, 0644});
  outputs.push_back({"admin.key", admin_key_pem, 0600});
  outputs.push_back({"ear-signing.key", ear_key_pem, 0600});
  outputs.push_back({"ear-signing.pub.pem", ear_pub_pem, 0644});
  outputs.push_back({"verifier.yaml", DevConfigYaml(ek_ca), 0644});
  for (const Output& o : outputs) {
    RETURN_IF_ERROR(WriteNewFile(absl::StrCat(dir, "/", o.name), o.data, o.mode));
  }
  return absl::OkStatus();
}

}  // namespace bootgate::verifier
