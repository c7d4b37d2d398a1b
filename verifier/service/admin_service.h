// Admin service (mutual TLS only; served on its own port): inventory, records, revocation, the
// active policy.
#ifndef BOOTGATE_VERIFIER_SERVICE_ADMIN_SERVICE_H_
#define BOOTGATE_VERIFIER_SERVICE_ADMIN_SERVICE_H_

#include "absl/time/time.h"
#include "bootgate/v1/admin.grpc.pb.h"
#include "verifier/appraise/active_policy.h"
#include "verifier/appraise/policy_files.h"
#include "verifier/service/context.h"

namespace bootgate::verifier {

class AdminServiceImpl final : public bootgate::v1::Admin::Service {
 public:
  // `directory` is null unless the verifier runs with policy_dir (then PutPolicy works).
  // `attestation_deadline` (nodes.attestation_deadline) gives each node's next_due_at.
  AdminServiceImpl(ServiceContext ctx, const ActivePolicy* policy, PolicyDirectory* directory,
                   absl::Duration attestation_deadline = absl::Hours(1))
      : ctx_(ctx),
        policy_(policy),
        directory_(directory),
        attestation_deadline_(attestation_deadline) {}

  grpc::Status ListNodes(grpc::ServerContext*, const bootgate::v1::ListNodesRequest* request,
                         bootgate::v1::ListNodesResponse* response) override;
  grpc::Status GetNode(grpc::ServerContext*, const bootgate::v1::GetNodeRequest* request,
                       bootgate::v1::Node* response) override;
  grpc::Status RevokeNode(grpc::ServerContext* context,
                          const bootgate::v1::RevokeNodeRequest* request,
                          bootgate::v1::Node* response) override;
  grpc::Status ListEnrollments(grpc::ServerContext*,
                               const bootgate::v1::ListEnrollmentsRequest* request,
                               bootgate::v1::ListEnrollmentsResponse* response) override;
  grpc::Status ListAttestations(grpc::ServerContext*,
                                const bootgate::v1::ListAttestationsRequest* request,
                                bootgate::v1::ListAttestationsResponse* response) override;
  grpc::Status GetAttestation(grpc::ServerContext*,
                              const bootgate::v1::GetAttestationRequest* request,
                              bootgate::v1::AttestationRecord* response) override;
  grpc::Status ListTokens(grpc::ServerContext*, const bootgate::v1::ListTokensRequest* request,
                          bootgate::v1::ListTokensResponse* response) override;
  grpc::Status ListPolicies(grpc::ServerContext*, const bootgate::v1::ListPoliciesRequest* request,
                            bootgate::v1::ListPoliciesResponse* response) override;
  grpc::Status PutPolicy(grpc::ServerContext* context,
                         const bootgate::v1::PutPolicyRequest* request,
                         bootgate::v1::PolicyInfo* response) override;

 private:
  void NodeWithDue(const NodeRecord& node, bootgate::v1::Node* out) const;

  ServiceContext ctx_;
  void ActivePolicyInfo(bootgate::v1::PolicyInfo* out) const;

  const ActivePolicy* policy_;
  PolicyDirectory* directory_;
  absl::Duration attestation_deadline_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_SERVICE_ADMIN_SERVICE_H_
