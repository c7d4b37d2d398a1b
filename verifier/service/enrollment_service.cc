#include "verifier/service/enrollment_service.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/tpm/key_checks.h"
#include "attest/tpm/make_credential.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "verifier/codes.h"
#include "verifier/service/convert.h"
#include "verifier/util/os_random.h"
#include "verifier/util/x509_util.h"

namespace bootgate::verifier {

namespace v1 = ::bootgate::v1;
using attest::Bytes;

namespace {

// Request limits: far above real values (a TPMT_PUBLIC is at most ~600 bytes, EK certificates
// are 1-2 KiB), low enough that nothing unbounded is parsed.
constexpr size_t kMaxCertificates = 8;
constexpr size_t kMaxCertificateBytes = 16 * 1024;
constexpr size_t kMaxPublicBytes = 2048;
constexpr size_t kMaxHostnameBytes = 253;
constexpr size_t kSecretBytes = 32;

// Node-group labels: small and plain, since policies select golden images by them and operators
// read them in listings.
absl::Status ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  constexpr size_t kMaxLabels = 16;
  constexpr size_t kMaxLabelBytes = 63;
  if (labels.size() > kMaxLabels) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels: ", labels.size(), " labels, at most ", kMaxLabels));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty() || key.size() > kMaxLabelBytes) {
      return absl::InvalidArgumentError("labels: keys must be 1-63 bytes");
    }
    for (char c : key) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '/' || c == '-';
      if (!ok) {
        return absl::InvalidArgumentError(
            absl::StrCat("labels: key '", key, "' may only hold [a-z0-9._/-]"));
      }
    }
    if (value.size() > kMaxLabelBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("labels: value of '", key, "' is longer than 63 bytes"));
    }
    for (char c : value) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        return absl::InvalidArgumentError(
            absl::StrCat("labels: value of '", key, "' must be printable ASCII"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStart(const v1::StartEnrollmentRequest& r) {
  if (static_cast<size_t>(r.ek_certificates_size()) > kMaxCertificates ||
      static_cast<size_t>(r.intermediate_certificates_size()) > kMaxCertificates) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxCertificates, " EK and ",
                                                   kMaxCertificates, " intermediate certificates"));
  }
  for (const v1::EkCertificate& c : r.ek_certificates()) {
    if (c.der().size() > kMaxCertificateBytes) {
      return absl::InvalidArgumentError(absl::StrCat("ek_certificates: ", c.der().size(),
                                                     " bytes exceeds ", kMaxCertificateBytes));
    }
  }
  for (const std::string& c : r.intermediate_certificates()) {
    if (c.size() > kMaxCertificateBytes) {
      return absl::InvalidArgumentError(absl::StrCat("intermediate_certificates: ", c.size(),
                                                     " bytes exceeds ", kMaxCertificateBytes));
    }
  }
  if (r.ek_public().empty() || r.ek_public().size() > kMaxPublicBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ek_public: must be a TPM2B_PUBLIC of 1-", kMaxPublicBytes, " bytes"));
  }
  if (r.ak_public().empty() || r.ak_public().size() > kMaxPublicBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("ak_public: must be a TPM2B_PUBLIC of 1-", kMaxPublicBytes, " bytes"));
  }
  if (r.hostname().size() > kMaxHostnameBytes) {
    return absl::InvalidArgumentError("hostname: longer than 253 bytes");
  }
  for (char c : r.hostname()) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
      return absl::InvalidArgumentError("hostname: only printable ASCII");
    }
  }
  return ValidateLabels(r.labels());
}

// The outcome of the Start checks: a rejection reason, or the data the node will be made of.
struct StartChecks {
  std::optional<Finding> rejection;
  TPMT_PUBLIC ek = {};
};

}  // namespace

grpc::Status EnrollmentServiceImpl::StartEnrollment(grpc::ServerContext*,
                                                    const v1::StartEnrollmentRequest* request,
                                                    v1::StartEnrollmentResponse* response) {
  return ToGrpcStatus(Start(*request, response));
}

grpc::Status EnrollmentServiceImpl::FinishEnrollment(grpc::ServerContext*,
                                                     const v1::FinishEnrollmentRequest* request,
                                                     v1::FinishEnrollmentResponse* response) {
  return ToGrpcStatus(Finish(*request, response));
}

absl::Status EnrollmentServiceImpl::Start(const v1::StartEnrollmentRequest& req,
                                          v1::StartEnrollmentResponse* resp) {
  RETURN_IF_ERROR(ValidateStart(req));
  const absl::Time now = ctx_.clock->Now();
  EnrollmentRecord rec;
  ASSIGN_OR_RETURN(rec.enrollment_id, RandomId(*ctx_.rng, "enr-"));
  rec.created_at = now;
  rec.expires_at = now;
  const std::string raw = req.SerializeAsString();
  rec.request.assign(raw.begin(), raw.end());
  NodeRecord& node = rec.node;
  node.hostname = req.hostname();
  node.labels.insert(req.labels().begin(), req.labels().end());
  node.ak_public.assign(req.ak_public().begin(), req.ak_public().end());
  node.ek_public.assign(req.ek_public().begin(), req.ek_public().end());
  node.enrollment_id = rec.enrollment_id;

  // Runs the checks in DESIGN.md's order and stops at the first rejection.
  auto checks = [&]() -> absl::StatusOr<StartChecks> {
    StartChecks out;
    auto reject = [&out](const char* code, std::string detail) {
      out.rejection = Finding{code, std::move(detail)};
      return out;
    };
    auto ek = attest::ParsePublicArea(node.ek_public);
    if (!ek.ok())
      return reject(codes::kEnrollEkPublicMalformed, std::string(ek.status().message()));
    out.ek = *ek;
    auto ek_key = attest::PublicKeyFromPublicArea(*ek);
    if (!ek_key.ok()) {
      return reject(codes::kEnrollEkPublicMalformed, std::string(ek_key.status().message()));
    }
    ASSIGN_OR_RETURN(Bytes ek_marshalled, attest::MarshalPublicArea(*ek));
    node.ek_public_sha256 = Sha256Hex(ek_marshalled);

    if (req.ek_certificates().empty()) {
      return reject(codes::kEnrollEkCertMissing, "no EK certificate was sent");
    }
    attest::X509Ptr matching;
    std::vector<std::string> seen;
    for (const v1::EkCertificate& c : req.ek_certificates()) {
      auto cert = ParseDerCertificate(attest::AsSpan(c.der()), nullptr);
      if (!cert.ok()) {
        return reject(codes::kEnrollEkCertMalformed, absl::StrCat("NV 0x", absl::Hex(c.nv_index()),
                                                                  ": ", cert.status().message()));
      }
      seen.push_back(absl::StrCat("0x", absl::Hex(c.nv_index())));
      if (!matching && EVP_PKEY_eq(X509_get0_pubkey(cert->get()), ek_key->get()) == 1) {
        matching = *std::move(cert);
        node.ek_cert_nv_index = c.nv_index();
      }
    }
    if (!matching) {
      return reject(codes::kEnrollEkPublicMismatch,
                    absl::StrCat("the EK public area (", attest::DescribeKey(*ek),
                                 ") is not the key of any EK certificate sent (NV ",
                                 absl::StrJoin(seen, ", "), ")"));
    }
    ASSIGN_OR_RETURN(node.ek_cert, CertificateDer(matching.get()));
    node.ek_cert_sha256 = Sha256Hex(node.ek_cert);

    std::vector<attest::X509Ptr> intermediates;
    for (const std::string& der : req.intermediate_certificates()) {
      auto cert = ParseDerCertificate(attest::AsSpan(der), nullptr);
      if (!cert.ok()) {
        return reject(codes::kEnrollEkCertMalformed,
                      absl::StrCat("intermediate: ", cert.status().message()));
      }
      intermediates.push_back(*std::move(cert));
    }
    EkCertVerdict verdict = trust_->Verify(matching.get(), intermediates, now);
    if (!verdict.trusted()) return reject(verdict.code.c_str(), verdict.detail);
    node.tpm_manufacturer = verdict.tpm.manufacturer;
    node.tpm_model = verdict.tpm.model;
    node.tpm_version = verdict.tpm.version;

    const attest::KeyCheckReport ek_report = attest::CheckEkPublic(*ek);
    if (!ek_report.ok()) return reject(codes::kEnrollEkAttributes, ek_report.Summary());
    if (absl::Status s = attest::CheckCredentialKey(*ek); !s.ok()) {
      return reject(codes::kEnrollEkAttributes, std::string(s.message()));
    }

    auto ak = attest::ParsePublicArea(node.ak_public);
    if (!ak.ok()) return reject(codes::kEnrollAkMalformed, std::string(ak.status().message()));
    if (auto key = attest::PublicKeyFromPublicArea(*ak); !key.ok()) {
      return reject(codes::kEnrollAkMalformed, std::string(key.status().message()));
    }
    const attest::KeyCheckReport ak_report = attest::CheckAkPublic(*ak);
    if (!ak_report.ok()) {
      return reject(codes::kEnrollAkAttributes,
                    absl::StrCat(ak_report.Summary(), " (attributes ",
                                 attest::DescribeObjectAttributes(ak->objectAttributes), ")"));
    }
    ASSIGN_OR_RETURN(node.ak_name, attest::ObjectName(*ak));
    node.node_id = NodeIdForAkName(node.ak_name);

    if (allow_list_ != nullptr &&
        !allow_list_->Allows(node.ek_cert_sha256, node.ek_public_sha256)) {
      return reject(codes::kEnrollEkNotAllowed,
                    absl::StrCat("neither the EK certificate (", node.ek_cert_sha256,
                                 ") nor the EK public key (", node.ek_public_sha256,
                                 ") is on the EK allow-list"));
    }
    ASSIGN_OR_RETURN(bool revoked, ctx_.store->IsEkRevoked(node.ek_public_sha256));
    if (revoked) {
      return reject(codes::kEnrollEkRevoked,
                    absl::StrCat("a node with this EK (", node.ek_public_sha256, ") was revoked"));
    }
    return out;
  };
  ASSIGN_OR_RETURN(StartChecks result, checks());

  if (result.rejection.has_value()) {
    rec.state = EnrollmentState::kRejected;
    rec.findings.push_back(*result.rejection);
    rec.finished_at = now;
    RETURN_IF_ERROR(ctx_.store->InsertEnrollment(rec));
    ctx_.logger->Warning("enrollment.rejected", {{"enrollment", rec.enrollment_id},
                                                 {"reason", result.rejection->code},
                                                 {"detail", result.rejection->detail}});
    resp->set_enrollment_id(rec.enrollment_id);
    resp->set_status(v1::ENROLLMENT_STATUS_REJECTED);
    FindingsToProto(rec.findings, resp->mutable_findings());
    return absl::OkStatus();
  }

  ASSIGN_OR_RETURN(rec.secret, RandomBytes(*ctx_.rng, kSecretBytes));
  ASSIGN_OR_RETURN(attest::MadeCredential made,
                   attest::MakeCredential(result.ek, rec.secret, node.ak_name, *ctx_.rng));
  rec.state = EnrollmentState::kChallenged;
  rec.expires_at = now + options_.challenge_ttl;
  RETURN_IF_ERROR(ctx_.store->InsertEnrollment(rec));
  ctx_.logger->Info("enrollment.challenged", {{"enrollment", rec.enrollment_id},
                                              {"node", node.node_id},
                                              {"tpm", node.tpm_manufacturer},
                                              {"ek_cert_sha256", node.ek_cert_sha256}});
  resp->set_enrollment_id(rec.enrollment_id);
  resp->set_status(v1::ENROLLMENT_STATUS_CHALLENGED);
  resp->mutable_challenge()->set_credential_blob(
      std::string(made.credential_blob.begin(), made.credential_blob.end()));
  resp->mutable_challenge()->set_encrypted_secret(
      std::string(made.secret.begin(), made.secret.end()));
  SetTimestamp(rec.expires_at, resp->mutable_expires_at());
  resp->set_ak_name(std::string(node.ak_name.begin(), node.ak_name.end()));
  return absl::OkStatus();
}

absl::Status EnrollmentServiceImpl::Finish(const v1::FinishEnrollmentRequest& req,
                                           v1::FinishEnrollmentResponse* resp) {
  if (req.enrollment_id().empty() || req.enrollment_id().size() > 64) {
    return absl::InvalidArgumentError("enrollment_id: required, at most 64 characters");
  }
  if (req.activated_secret().size() > 64) {
    return absl::InvalidArgumentError("activated_secret: at most 64 bytes");
  }
  ASSIGN_OR_RETURN(std::optional<EnrollmentRecord> rec,
                   ctx_.store->GetEnrollment(req.enrollment_id()));
  if (!rec.has_value()) {
    return absl::NotFoundError(absl::StrCat("enrollment ", req.enrollment_id(), " not found"));
  }
  auto reject = [&](const char* code, std::string detail, bool record) -> absl::Status {
    Findings findings = {Finding{code, std::move(detail)}};
    if (record) {
      absl::Status s = ctx_.store->FinishEnrollment(rec->enrollment_id, EnrollmentState::kRejected,
                                                    findings, ctx_.clock->Now());
      if (absl::IsFailedPrecondition(s)) {
        // Finished concurrently by another call: report that instead.
        findings = {Finding{codes::kEnrollAlreadyFinished, std::string(s.message())}};
      } else if (!s.ok()) {
        return s;
      }
    }
    ctx_.logger->Warning("enrollment.rejected",
                         {{"enrollment", rec->enrollment_id}, {"reason", findings.front().code}});
    resp->set_status(v1::ENROLLMENT_STATUS_REJECTED);
    FindingsToProto(findings, resp->mutable_findings());
    return absl::OkStatus();
  };
  if (rec->state != EnrollmentState::kChallenged) {
    return reject(codes::kEnrollAlreadyFinished,
                  absl::StrCat("enrollment ", rec->enrollment_id, " is already ",
                               EnrollmentStateName(rec->state)),
                  /*record=*/false);
  }
  const absl::Time now = ctx_.clock->Now();
  if (now >= rec->expires_at) {
    return reject(
        codes::kEnrollChallengeExpired,
        absl::StrCat("the credential challenge expired at ",
                     absl::FormatTime(absl::RFC3339_sec, rec->expires_at, absl::UTCTimeZone())),
        true);
  }
  // One attempt per challenge: a wrong secret ends the enrollment (no guessing).
  if (rec->secret.empty() ||
      !attest::ConstantTimeEquals(rec->secret, attest::AsSpan(req.activated_secret()))) {
    return reject(codes::kEnrollActivationFailed,
                  "the activated secret does not match: the AK and the EK are not in the same "
                  "TPM, or the TPM does not hold this EK",
                  true);
  }
  absl::Status s =
      ctx_.store->FinishEnrollment(rec->enrollment_id, EnrollmentState::kEnrolled, {}, now);
  if (absl::IsFailedPrecondition(s)) {
    return reject(codes::kEnrollAlreadyFinished, std::string(s.message()), false);
  }
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(std::optional<NodeRecord> node, ctx_.store->GetNode(rec->node.node_id));
  if (!node.has_value()) return absl::InternalError("enrolled node not found after commit");
  ctx_.logger->Info("enrollment.enrolled",
                    {{"enrollment", rec->enrollment_id}, {"node", node->node_id}});
  resp->set_status(v1::ENROLLMENT_STATUS_ENROLLED);
  NodeToProto(*node, resp->mutable_node());
  return absl::OkStatus();
}

}  // namespace bootgate::verifier
