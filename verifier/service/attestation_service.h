// Attestation service (DESIGN.md "Attestation"): single-use nonces with a TTL, the appraisal
// pipeline (appraise/appraisal.h), the EAR JWT, and on an affirming verdict with
// request_join_token a kubeadm bootstrap token published by the issuer and returned wrapped to
// the node's TPM. The attestation record (verdict, every finding, raw evidence, token) is
// committed before the answer is sent; when the store fails, the RPC fails and nothing is handed
// out.
#ifndef BOOTGATE_VERIFIER_SERVICE_ATTESTATION_SERVICE_H_
#define BOOTGATE_VERIFIER_SERVICE_ATTESTATION_SERVICE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "attest/tpm/pcr_selection.h"
#include "bootgate/v1/attestation.grpc.pb.h"
#include "verifier/appraise/active_policy.h"
#include "verifier/appraise/appraisal.h"
#include "verifier/appraise/policy.h"
#include "verifier/service/context.h"
#include "verifier/tokens/ear.h"
#include "verifier/tokens/issuer.h"

namespace bootgate::verifier {

struct AttestationOptions {
  absl::Duration nonce_ttl = absl::Minutes(2);
  attest::PcrSelection selection;  // requested with every nonce
  absl::Duration token_ttl = absl::Hours(1);
  std::string verifier_id = "bootgate-verifier";
  size_t max_event_log_bytes = 2u << 20;
  size_t max_ima_log_bytes = 4u << 20;
};

inline constexpr size_t kNonceBytes = 32;

class AttestationServiceImpl final : public bootgate::v1::Attestation::Service {
 public:
  // Everything borrowed must outlive the service.
  AttestationServiceImpl(ServiceContext ctx, const ActivePolicy* policy, const EarSigner* ear,
                         TokenIssuer* issuer, AttestationOptions options)
      : ctx_(ctx), policy_(policy), ear_(ear), issuer_(issuer), options_(std::move(options)) {}

  grpc::Status GetChallenge(grpc::ServerContext* context,
                            const bootgate::v1::GetChallengeRequest* request,
                            bootgate::v1::Challenge* response) override;
  grpc::Status Attest(grpc::ServerContext* context, const bootgate::v1::AttestRequest* request,
                      bootgate::v1::AttestResponse* response) override;

  absl::Status Challenge(const bootgate::v1::GetChallengeRequest& request,
                         bootgate::v1::Challenge* response);
  absl::Status AttestEvidence(const bootgate::v1::AttestRequest& request,
                              bootgate::v1::AttestResponse* response);

 private:
  ServiceContext ctx_;
  const ActivePolicy* policy_;
  const EarSigner* ear_;
  TokenIssuer* issuer_;
  AttestationOptions options_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_SERVICE_ATTESTATION_SERVICE_H_
