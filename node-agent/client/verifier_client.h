// The agent's side of the verifier's gRPC API (docs/api.md, "What the agent does"): a TLS channel
// pinned to the verifier CA, and the enroll / attest / join flows built from the Agent's TPM
// operations.
#ifndef BOOTGATE_NODE_AGENT_CLIENT_VERIFIER_CLIENT_H_
#define BOOTGATE_NODE_AGENT_CLIENT_VERIFIER_CLIENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attest/util/bytes.h"
#include "bootgate/v1/attestation.grpc.pb.h"
#include "bootgate/v1/enrollment.grpc.pb.h"
#include "node-agent/agent.h"

namespace bootgate::agent {

// True for a status produced by an RPC to the verifier (not by the TPM or local I/O).
bool IsVerifierRpcError(const absl::Status& status);

class VerifierClient {
 public:
  // `target` is HOST:PORT; `ca_path` a PEM bundle the verifier's certificate must chain to.
  static absl::StatusOr<std::unique_ptr<VerifierClient>> Connect(const std::string& target,
                                                                 const std::string& ca_path,
                                                                 int timeout_seconds = 30);

  absl::StatusOr<v1::StartEnrollmentResponse> StartEnrollment(
      const v1::StartEnrollmentRequest& request);
  absl::StatusOr<v1::FinishEnrollmentResponse> FinishEnrollment(
      const v1::FinishEnrollmentRequest& request);
  absl::StatusOr<v1::Challenge> GetChallenge(const v1::GetChallengeRequest& request);
  absl::StatusOr<v1::AttestResponse> Attest(const v1::AttestRequest& request);

 private:
  VerifierClient(std::shared_ptr<grpc::Channel> channel, int timeout_seconds);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Enrollment::Stub> enrollment_;
  std::unique_ptr<v1::Attestation::Stub> attestation_;
  int timeout_seconds_;
};

struct EnrollResult {
  bool enrolled = false;
  std::string node_id;  // when enrolled
  std::string enrollment_id;
  std::vector<v1::Finding> findings;  // when rejected
};

// StartEnrollment with every EK certificate, the EK public and the AK public (created when
// missing), ActivateCredential of the challenge, FinishEnrollment. Stores the node id in the state
// directory when enrolled.
// `labels` are the node-group labels (policies select golden images by them).
absl::StatusOr<EnrollResult> Enroll(Agent& agent, VerifierClient& client,
                                    const std::string& hostname,
                                    const std::map<std::string, std::string>& labels = {});

// GetChallenge, quote + PCR read over the challenged selection, Attest. A NONCE_EXPIRED or
// NONCE_USED answer is retried with a new challenge (a few times).
absl::StatusOr<v1::AttestResponse> Attest(Agent& agent, VerifierClient& client,
                                          const std::string& node_id, attest::ByteSpan event_log,
                                          bool request_join_token);

// "VERDICT attestation <id>" followed by one "  CODE: detail" line per finding.
std::string DescribeAttestation(const v1::AttestResponse& response);
// "affirming", "contraindicated" or "unspecified".
std::string VerdictName(v1::Verdict verdict);

// ActivateCredential on the wrapped key and AES-256-GCM decryption with the recomputed AAD.
absl::StatusOr<std::string> UnwrapJoinToken(Agent& agent, const v1::WrappedToken& wrapped,
                                            const std::string& attestation_id,
                                            const std::string& node_id);

// The AAD the verifier binds a join token to.
attest::Bytes JoinTokenAad(const std::string& attestation_id, const std::string& node_id);

// AES-256-GCM decryption; PermissionDenied when the tag does not verify.
absl::StatusOr<std::string> AesGcmDecrypt(attest::ByteSpan key, attest::ByteSpan iv,
                                          attest::ByteSpan aad, attest::ByteSpan ciphertext,
                                          attest::ByteSpan tag);

// `node_id` in the state directory (mode 0600).
inline constexpr char kNodeIdFile[] = "node_id";
absl::Status WriteNodeId(const std::string& state_dir, const std::string& node_id);
// NotFound (with a hint to enroll) when the agent has not enrolled.
absl::StatusOr<std::string> ReadNodeId(const std::string& state_dir);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_CLIENT_VERIFIER_CLIENT_H_
