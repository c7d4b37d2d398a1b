#include "verifier/service/admin_service.h"

#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "verifier/notify/notifier.h"
#include "verifier/service/convert.h"
#include "verifier/state/node_monitor.h"

namespace bootgate::verifier {

namespace v1 = ::bootgate::v1;

namespace {

// The client certificate's subject, for the audit record of a revocation.
std::string Caller(grpc::ServerContext* context) {
  if (context == nullptr) return "unknown";
  std::shared_ptr<const grpc::AuthContext> auth = context->auth_context();
  if (!auth) return "unknown";
  std::vector<std::string> ids;
  for (const grpc::string_ref& id : auth->GetPeerIdentity()) ids.emplace_back(id.data(), id.size());
  return ids.empty() ? "unknown" : absl::StrJoin(ids, ",");
}

}  // namespace

void AdminServiceImpl::NodeWithDue(const NodeRecord& n, v1::Node* out) const {
  NodeToProto(n, out);
  if (std::optional<absl::Time> due = NextDue(n, attestation_deadline_)) {
    SetTimestamp(*due, out->mutable_next_due_at());
  }
}

grpc::Status AdminServiceImpl::ListNodes(grpc::ServerContext*, const v1::ListNodesRequest* req,
                                         v1::ListNodesResponse* resp) {
  auto nodes = ctx_.store->ListNodes(req->limit());
  if (!nodes.ok()) return ToGrpcStatus(nodes.status());
  for (const NodeRecord& n : *nodes) NodeWithDue(n, resp->add_nodes());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetNode(grpc::ServerContext*, const v1::GetNodeRequest* req,
                                       v1::Node* resp) {
  auto node = ctx_.store->GetNode(req->node_id());
  if (!node.ok()) return ToGrpcStatus(node.status());
  if (!node->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("node ", req->node_id(), " not found"));
  }
  NodeWithDue(**node, resp);
  auto transitions = ctx_.store->ListNodeTransitions(req->node_id(), 50);
  if (!transitions.ok()) return ToGrpcStatus(transitions.status());
  for (const NodeTransition& t : *transitions) NodeTransitionToProto(t, resp->add_transitions());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeNode(grpc::ServerContext* context,
                                          const v1::RevokeNodeRequest* req, v1::Node* resp) {
  if (req->node_id().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node_id is required");
  }
  if (req->reason().size() > 1024) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "reason: at most 1024 bytes");
  }
  const std::string reason = req->reason().empty()
                                 ? absl::StrCat("revoked by ", Caller(context))
                                 : absl::StrCat(req->reason(), " (by ", Caller(context), ")");
  auto node = ctx_.store->RevokeNode(req->node_id(), reason, ctx_.clock->Now());
  if (!node.ok()) return ToGrpcStatus(node.status());
  ctx_.logger->Warning("node.revoked", {{"node", node->node_id}, {"reason", node->revoke_reason}});
  if (ctx_.notifier != nullptr) ctx_.notifier->Wake();
  NodeWithDue(*node, resp);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListEnrollments(grpc::ServerContext*,
                                               const v1::ListEnrollmentsRequest* req,
                                               v1::ListEnrollmentsResponse* resp) {
  auto list = ctx_.store->ListEnrollments(req->limit());
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (const EnrollmentRecord& e : *list) EnrollmentToProto(e, resp->add_enrollments());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListAttestations(grpc::ServerContext*,
                                                const v1::ListAttestationsRequest* req,
                                                v1::ListAttestationsResponse* resp) {
  auto list = ctx_.store->ListAttestations(req->node_id(), req->limit());
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (const AttestationRecord& a : *list) AttestationToProto(a, resp->add_attestations());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::GetAttestation(grpc::ServerContext*,
                                              const v1::GetAttestationRequest* req,
                                              v1::AttestationRecord* resp) {
  auto a = ctx_.store->GetAttestation(req->attestation_id(), req->include_evidence());
  if (!a.ok()) return ToGrpcStatus(a.status());
  if (!a->has_value()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("attestation ", req->attestation_id(), " not found"));
  }
  AttestationToProto(**a, resp);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListTokens(grpc::ServerContext*, const v1::ListTokensRequest* req,
                                          v1::ListTokensResponse* resp) {
  auto list = ctx_.store->ListTokens(req->node_id(), req->limit());
  if (!list.ok()) return ToGrpcStatus(list.status());
  for (const TokenRecord& t : *list) TokenToProto(t, resp->add_tokens());
  return grpc::Status::OK;
}

void AdminServiceImpl::ActivePolicyInfo(v1::PolicyInfo* p) const {
  const std::shared_ptr<const Policy> policy = policy_->Get();
  p->set_policy_id(policy->id());
  p->set_kind(policy->kind());
  p->set_path(policy->path());
  p->set_content(policy->content());
  p->set_active(true);
  p->set_last_reload_error(policy_->last_reload_error());
  SetTimestamp(policy_->loaded_at(), p->mutable_loaded_at());
  for (const std::string& key : policy->signed_by()) p->add_signed_by(key);
}

grpc::Status AdminServiceImpl::ListPolicies(grpc::ServerContext*, const v1::ListPoliciesRequest*,
                                            v1::ListPoliciesResponse* resp) {
  ActivePolicyInfo(resp->add_policies());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::PutPolicy(grpc::ServerContext* context,
                                         const v1::PutPolicyRequest* req, v1::PolicyInfo* resp) {
  if (directory_ == nullptr) {
    return ToGrpcStatus(absl::FailedPreconditionError(
        "this verifier uses a single PCR-value policy file; PutPolicy needs policy_dir"));
  }
  PolicyFile file{req->file_name(), req->content(), req->signature()};
  absl::Status put = directory_->Put(file);
  ctx_.store
      ->AppendAudit(put.ok() ? "policy.put" : "policy.put_refused", req->file_name(),
                    put.ok() ? policy_->Get()->id() : std::string(put.message()),
                    ctx_.clock->Now())
      .IgnoreError();  // the audit line is best effort; the policy outcome is the answer
  ctx_.logger->Log(put.ok() ? LogLevel::kInfo : LogLevel::kWarning,
                   put.ok() ? "policy.put" : "policy.put_refused",
                   {{"file", req->file_name()},
                    {"peer", context != nullptr ? context->peer() : ""},
                    {"result", put.ok() ? policy_->Get()->id() : std::string(put.message())}});
  if (!put.ok()) return ToGrpcStatus(put);
  ActivePolicyInfo(resp);
  return grpc::Status::OK;
}

}  // namespace bootgate::verifier
