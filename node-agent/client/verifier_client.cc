#include "node-agent/client/verifier_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <openssl/evp.h>
#include <tss2/tss2_mu.h>

#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "node-agent/io/files.h"
#include "node-agent/tpm/capabilities.h"
#include "node-agent/tpm/ek.h"

namespace bootgate::agent {
namespace {

constexpr char kVerifierErrorPayload[] = "bootgate.agent/verifier-rpc";
constexpr size_t kMaxCaBytes = 1 << 20;
constexpr int kNonceRetries = 3;

absl::Status FromGrpc(const grpc::Status& status, const char* rpc) {
  absl::Status out(static_cast<absl::StatusCode>(status.error_code()),
                   absl::StrCat("verifier ", rpc, ": ", status.error_message()));
  out.SetPayload(kVerifierErrorPayload, absl::Cord("1"));
  return out;
}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> Call(Method method, int timeout_seconds, const Request& request,
                              const char* rpc) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(timeout_seconds));
  Response response;
  grpc::Status status = method(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, rpc);
  return response;
}

std::string ToString(attest::ByteSpan bytes) { return std::string(bytes.begin(), bytes.end()); }

// Tss2_MU_TPML_PCR_SELECTION_Unmarshal of the challenge, as a PcrSelection.
absl::StatusOr<attest::PcrSelection> ChallengeSelection(const v1::Challenge& challenge) {
  const std::string& raw = challenge.pcr_selection().tpml_pcr_selection();
  TPML_PCR_SELECTION tpml{};
  size_t offset = 0;
  if (Tss2_MU_TPML_PCR_SELECTION_Unmarshal(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(),
                                           &offset, &tpml) != TSS2_RC_SUCCESS ||
      offset != raw.size()) {
    return absl::InvalidArgumentError("verifier challenge: malformed tpml_pcr_selection");
  }
  return attest::PcrSelectionFromTpml(tpml);
}

bool HasFinding(const v1::AttestResponse& response, absl::string_view code) {
  for (const v1::Finding& f : response.findings()) {
    if (f.code() == code) return true;
  }
  return false;
}

}  // namespace

bool IsVerifierRpcError(const absl::Status& status) {
  return status.GetPayload(kVerifierErrorPayload).has_value();
}

VerifierClient::VerifierClient(std::shared_ptr<grpc::Channel> channel, int timeout_seconds)
    : channel_(std::move(channel)),
      enrollment_(v1::Enrollment::NewStub(channel_)),
      attestation_(v1::Attestation::NewStub(channel_)),
      timeout_seconds_(timeout_seconds) {}

absl::StatusOr<std::unique_ptr<VerifierClient>> VerifierClient::Connect(const std::string& target,
                                                                        const std::string& ca_path,
                                                                        int timeout_seconds) {
  if (target.empty() || target.find(':') == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("verifier address \"", target, "\" is not HOST:PORT"));
  }
  ASSIGN_OR_RETURN(attest::Bytes ca, ReadFileCapped(ca_path, kMaxCaBytes));
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ToString(ca);
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(target, grpc::SslCredentials(tls));
  return std::unique_ptr<VerifierClient>(new VerifierClient(std::move(channel), timeout_seconds));
}

absl::StatusOr<v1::StartEnrollmentResponse> VerifierClient::StartEnrollment(
    const v1::StartEnrollmentRequest& request) {
  return Call<v1::StartEnrollmentRequest, v1::StartEnrollmentResponse>(
      [this](grpc::ClientContext* c, const auto& req, auto* resp) {
        return enrollment_->StartEnrollment(c, req, resp);
      },
      timeout_seconds_, request, "StartEnrollment");
}

absl::StatusOr<v1::FinishEnrollmentResponse> VerifierClient::FinishEnrollment(
    const v1::FinishEnrollmentRequest& request) {
  return Call<v1::FinishEnrollmentRequest, v1::FinishEnrollmentResponse>(
      [this](grpc::ClientContext* c, const auto& req, auto* resp) {
        return enrollment_->FinishEnrollment(c, req, resp);
      },
      timeout_seconds_, request, "FinishEnrollment");
}

absl::StatusOr<v1::Challenge> VerifierClient::GetChallenge(const v1::GetChallengeRequest& request) {
  return Call<v1::GetChallengeRequest, v1::Challenge>(
      [this](grpc::ClientContext* c, const auto& req, auto* resp) {
        return attestation_->GetChallenge(c, req, resp);
      },
      timeout_seconds_, request, "GetChallenge");
}

absl::StatusOr<v1::AttestResponse> VerifierClient::Attest(const v1::AttestRequest& request) {
  return Call<v1::AttestRequest, v1::AttestResponse>(
      [this](grpc::ClientContext* c, const auto& req, auto* resp) {
        return attestation_->Attest(c, req, resp);
      },
      timeout_seconds_, request, "Attest");
}

absl::StatusOr<EnrollResult> Enroll(Agent& agent, VerifierClient& client,
                                    const std::string& hostname,
                                    const std::map<std::string, std::string>& labels) {
  ASSIGN_OR_RETURN(TpmIdentity identity, ReadTpmIdentity(agent.tpm()));
  ASSIGN_OR_RETURN(EkInventory inventory, ReadEkInventory(agent.tpm(), identity.nv_buffer_max));
  ASSIGN_OR_RETURN(EkPublicReport ek, agent.EkPublic());
  ASSIGN_OR_RETURN(AkState ak, agent.EnsureAk());

  v1::StartEnrollmentRequest start;
  for (const NvCertificate& cert : inventory.certificates) {
    v1::EkCertificate* out = start.add_ek_certificates();
    out->set_nv_index(cert.nv_index);
    out->set_der(ToString(cert.der));
  }
  for (const NvCertificate& cert : inventory.ca_chain) {
    start.add_intermediate_certificates(ToString(cert.der));
  }
  start.set_ek_public(ToString(ek.public_blob));
  start.set_ak_public(ToString(ak.blob.public_blob));
  start.set_hostname(hostname);
  for (const auto& [key, value] : labels) (*start.mutable_labels())[key] = value;

  ASSIGN_OR_RETURN(v1::StartEnrollmentResponse challenge, client.StartEnrollment(start));
  EnrollResult result;
  result.enrollment_id = challenge.enrollment_id();
  if (challenge.status() == v1::ENROLLMENT_STATUS_REJECTED) {
    result.findings.assign(challenge.findings().begin(), challenge.findings().end());
    return result;
  }
  if (challenge.status() != v1::ENROLLMENT_STATUS_CHALLENGED) {
    return absl::InternalError("verifier StartEnrollment: unexpected status");
  }
  ASSIGN_OR_RETURN(
      attest::Bytes secret,
      agent.ActivateCredential(attest::AsSpan(challenge.challenge().credential_blob()),
                               attest::AsSpan(challenge.challenge().encrypted_secret())));
  v1::FinishEnrollmentRequest finish;
  finish.set_enrollment_id(challenge.enrollment_id());
  finish.set_activated_secret(ToString(secret));
  ASSIGN_OR_RETURN(v1::FinishEnrollmentResponse done, client.FinishEnrollment(finish));
  if (done.status() != v1::ENROLLMENT_STATUS_ENROLLED) {
    result.findings.assign(done.findings().begin(), done.findings().end());
    return result;
  }
  result.enrolled = true;
  result.node_id = done.node().node_id();
  RETURN_IF_ERROR(WriteNodeId(agent.options().state_dir, result.node_id));
  return result;
}

absl::StatusOr<v1::AttestResponse> Attest(Agent& agent, VerifierClient& client,
                                          const std::string& node_id, attest::ByteSpan event_log,
                                          bool request_join_token) {
  v1::AttestResponse response;
  for (int attempt = 0; attempt < kNonceRetries; ++attempt) {
    v1::GetChallengeRequest get;
    get.set_node_id(node_id);
    ASSIGN_OR_RETURN(v1::Challenge challenge, client.GetChallenge(get));
    ASSIGN_OR_RETURN(attest::PcrSelection selection, ChallengeSelection(challenge));
    ASSIGN_OR_RETURN(AgentQuote quote, agent.Quote(attest::AsSpan(challenge.nonce()), selection));

    v1::AttestRequest request;
    request.set_node_id(node_id);
    request.set_nonce(challenge.nonce());
    request.set_quote(ToString(quote.quote.attest));
    request.set_signature(ToString(quote.quote.signature));
    for (const auto& [alg, values] : quote.quote.pcrs) {
      v1::PcrBank* bank = request.add_pcrs();
      bank->set_hash_alg(alg);
      for (const auto& [index, digest] : values) {
        v1::PcrValue* value = bank->add_values();
        value->set_index(index);
        value->set_digest(ToString(digest));
      }
    }
    request.set_event_log(ToString(event_log));
    request.set_request_join_token(request_join_token);
    ASSIGN_OR_RETURN(response, client.Attest(request));
    if (!HasFinding(response, "NONCE_EXPIRED") && !HasFinding(response, "NONCE_USED")) break;
  }
  return response;
}

std::string VerdictName(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_AFFIRMING:
      return "affirming";
    case v1::VERDICT_CONTRAINDICATED:
      return "contraindicated";
    default:
      return "unspecified";
  }
}

std::string DescribeAttestation(const v1::AttestResponse& response) {
  std::string out = absl::StrCat(VerdictName(response.verdict()), " (attestation ",
                                 response.attestation_id(), ")\n");
  for (const v1::Finding& f : response.findings()) {
    absl::StrAppend(&out, "  ", f.code(), ": ", f.detail(), "\n");
  }
  return out;
}

attest::Bytes JoinTokenAad(const std::string& attestation_id, const std::string& node_id) {
  const std::string aad = absl::StrCat("bootgate-join-token-v1", std::string(1, '\0'),
                                       attestation_id, std::string(1, '\0'), node_id);
  return attest::Bytes(aad.begin(), aad.end());
}

absl::StatusOr<std::string> AesGcmDecrypt(attest::ByteSpan key, attest::ByteSpan iv,
                                          attest::ByteSpan aad, attest::ByteSpan ciphertext,
                                          attest::ByteSpan tag) {
  if (key.size() != 32) return absl::InvalidArgumentError("join token key is not 32 bytes");
  if (iv.size() != 12 || tag.size() != 16) {
    return absl::InvalidArgumentError("join token: IV must be 12 bytes and tag 16 bytes");
  }
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  if (ctx == nullptr) return absl::InternalError("EVP_CIPHER_CTX_new failed");
  std::string plain(ciphertext.size(), '\0');
  int len = 0;
  int total = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(iv.size()),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                         static_cast<int>(aad.size())) != 1)) {
    return absl::InternalError("AES-256-GCM: initialisation failed");
  }
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), reinterpret_cast<uint8_t*>(plain.data()), &len,
                          ciphertext.data(), static_cast<int>(ciphertext.size())) != 1) {
      return absl::InternalError("AES-256-GCM: decryption failed");
    }
    total = len;
  }
  attest::Bytes tag_copy(tag.begin(), tag.end());
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_copy.size()),
                          tag_copy.data()) != 1) {
    return absl::InternalError("AES-256-GCM: setting the tag failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<uint8_t*>(plain.data()) + total, &len) != 1) {
    return absl::PermissionDeniedError(
        "join token does not decrypt (wrong TPM, wrong attestation or tampered ciphertext)");
  }
  plain.resize(total + len);
  return plain;
}

absl::StatusOr<std::string> UnwrapJoinToken(Agent& agent, const v1::WrappedToken& wrapped,
                                            const std::string& attestation_id,
                                            const std::string& node_id) {
  const attest::Bytes aad = JoinTokenAad(attestation_id, node_id);
  if (!wrapped.aad().empty() && ToString(aad) != wrapped.aad()) {
    return absl::PermissionDeniedError(
        "join token is bound to another attestation or node than the one requested");
  }
  ASSIGN_OR_RETURN(attest::Bytes key,
                   agent.ActivateCredential(attest::AsSpan(wrapped.credential_blob()),
                                            attest::AsSpan(wrapped.encrypted_secret())));
  return AesGcmDecrypt(key, attest::AsSpan(wrapped.iv()), aad, attest::AsSpan(wrapped.ciphertext()),
                       attest::AsSpan(wrapped.tag()));
}

absl::Status WriteNodeId(const std::string& state_dir, const std::string& node_id) {
  RETURN_IF_ERROR(MakeDirectories(state_dir, 0700));
  const std::string line = node_id + "\n";
  return WriteFileAtomic(absl::StrCat(state_dir, "/", kNodeIdFile), attest::AsSpan(line), 0600);
}

absl::StatusOr<std::string> ReadNodeId(const std::string& state_dir) {
  const std::string path = absl::StrCat(state_dir, "/", kNodeIdFile);
  absl::StatusOr<attest::Bytes> data = ReadFileCapped(path, 256);
  if (absl::IsNotFound(data.status())) {
    return absl::NotFoundError(
        absl::StrCat("not enrolled: no ", path, " (run 'bootgate-agent enroll' first)"));
  }
  if (!data.ok()) return data.status();
  std::string id(data->begin(), data->end());
  absl::StripAsciiWhitespace(&id);
  if (id.empty()) return absl::DataLossError(absl::StrCat(path, " is empty"));
  return id;
}

}  // namespace bootgate::agent
