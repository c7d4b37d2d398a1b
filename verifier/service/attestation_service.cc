#include "verifier/service/attestation_service.h"

#include <tss2/tss2_tpm2_types.h>

#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/pcr/pcr_json.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "verifier/codes.h"
#include "verifier/metrics/metrics.h"
#include "verifier/notify/notifier.h"
#include "verifier/service/convert.h"
#include "verifier/tokens/join_token.h"
#include "verifier/util/os_random.h"

namespace bootgate::verifier {

namespace v1 = ::bootgate::v1;
using attest::Bytes;

namespace {

// TPMS_ATTEST and TPMT_SIGNATURE are far below these (a quote is ~150 bytes, an RSA-4096
// signature 518).
constexpr size_t kMaxQuoteBytes = 4096;
constexpr size_t kMaxSignatureBytes = 4096;
constexpr size_t kMaxNonceBytes = 64;

absl::Status ValidateAttest(const v1::AttestRequest& r, const AttestationOptions& o) {
  if (!IsValidNodeId(r.node_id())) {
    return absl::InvalidArgumentError("node_id: expected node-<16 hex digits>");
  }
  if (r.nonce().empty() || r.nonce().size() > kMaxNonceBytes) {
    return absl::InvalidArgumentError(absl::StrCat("nonce: 1-", kMaxNonceBytes, " bytes"));
  }
  if (r.quote().empty() || r.quote().size() > kMaxQuoteBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("quote: a TPMS_ATTEST of 1-", kMaxQuoteBytes, " bytes"));
  }
  if (r.signature().empty() || r.signature().size() > kMaxSignatureBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature: a TPMT_SIGNATURE of 1-", kMaxSignatureBytes, " bytes"));
  }
  if (r.event_log().size() > o.max_event_log_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("event_log: ", r.event_log().size(),
                                                   " bytes exceeds the limit of ",
                                                   o.max_event_log_bytes));
  }
  if (r.ima_log().size() > o.max_ima_log_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ima_log: ", r.ima_log().size(), " bytes exceeds the limit of ", o.max_ima_log_bytes));
  }
  return absl::OkStatus();
}

Bytes ToBytes(const std::string& s) { return Bytes(s.begin(), s.end()); }
std::string ToString(const Bytes& b) { return std::string(b.begin(), b.end()); }

}  // namespace

grpc::Status AttestationServiceImpl::GetChallenge(grpc::ServerContext*,
                                                  const v1::GetChallengeRequest* request,
                                                  v1::Challenge* response) {
  return ToGrpcStatus(Challenge(*request, response));
}

grpc::Status AttestationServiceImpl::Attest(grpc::ServerContext*, const v1::AttestRequest* request,
                                            v1::AttestResponse* response) {
  return ToGrpcStatus(AttestEvidence(*request, response));
}

absl::Status AttestationServiceImpl::Challenge(const v1::GetChallengeRequest& req,
                                               v1::Challenge* resp) {
  if (req.node_id().empty() && req.ak_name().empty()) {
    return absl::InvalidArgumentError("node_id or ak_name is required");
  }
  if (req.node_id().size() > 64 || req.ak_name().size() > 2 + 64) {
    return absl::InvalidArgumentError("node_id at most 64 characters, ak_name at most 66 bytes");
  }
  std::optional<NodeRecord> node;
  if (!req.node_id().empty()) {
    ASSIGN_OR_RETURN(node, ctx_.store->GetNode(req.node_id()));
  } else {
    ASSIGN_OR_RETURN(node, ctx_.store->GetNodeByAkName(attest::AsSpan(req.ak_name())));
  }
  if (!node.has_value()) return absl::NotFoundError("no such node: enroll first");
  if (!req.ak_name().empty() && node->ak_name != ToBytes(req.ak_name())) {
    return absl::InvalidArgumentError("node_id and ak_name name different nodes");
  }
  // Revoked nodes still get a challenge: their attestation is then recorded as NODE_REVOKED.
  const absl::Time now = ctx_.clock->Now();
  NonceRecord nonce;
  ASSIGN_OR_RETURN(nonce.nonce, RandomBytes(*ctx_.rng, kNonceBytes));
  nonce.node_id = node->node_id;
  nonce.selection = attest::FormatPcrSelectionSpec(options_.selection);
  nonce.issued_at = now;
  nonce.expires_at = now + options_.nonce_ttl;
  RETURN_IF_ERROR(ctx_.store->InsertNonce(nonce));
  resp->set_node_id(node->node_id);
  resp->set_nonce(ToString(nonce.nonce));
  RETURN_IF_ERROR(SelectionToProto(options_.selection, resp->mutable_pcr_selection()));
  SetTimestamp(nonce.expires_at, resp->mutable_expires_at());
  return absl::OkStatus();
}

absl::Status AttestationServiceImpl::AttestEvidence(const v1::AttestRequest& req,
                                                    v1::AttestResponse* resp) {
  RETURN_IF_ERROR(ValidateAttest(req, options_));
  auto pcrs = PcrBanksFromProto(req.pcrs());
  if (!pcrs.ok()) return pcrs.status();
  // Wall-clock measurement only (reported, never decided on).
  const auto started = std::chrono::steady_clock::now();
  const absl::Time now = ctx_.clock->Now();

  AppraisalInput in;
  in.claimed_node_id = req.node_id();
  ASSIGN_OR_RETURN(in.nonce, ctx_.store->ConsumeNonce(attest::AsSpan(req.nonce()), now));
  if (in.nonce.state != NonceState::kUnknown) {
    ASSIGN_OR_RETURN(in.node, ctx_.store->GetNode(in.nonce.record.node_id));
  }
  in.quote = attest::AsSpan(req.quote());
  in.signature = attest::AsSpan(req.signature());
  in.pcrs = &*pcrs;
  in.event_log = attest::AsSpan(req.event_log());
  if (in.node.has_value()) in.policy_context.labels = in.node->labels;
  in.policy_context.now = now;
  // One policy snapshot for the whole appraisal: a reload meanwhile does not change it.
  const std::shared_ptr<const Policy> policy = policy_->Get();
  Appraisal appraisal = Appraiser(policy.get()).Appraise(in);

  AttestationRecord rec;
  ASSIGN_OR_RETURN(rec.attestation_id, RandomId(*ctx_.rng, "att-"));
  rec.node_id = req.node_id();
  rec.created_at = now;
  rec.verdict = appraisal.verdict;
  rec.findings = appraisal.findings;
  rec.checks_json = StagesToJson(appraisal.stages);
  rec.policy_id = appraisal.policy_id;
  rec.policy_matched = appraisal.policy_matched;
  rec.policy_warnings = appraisal.policy_warnings;
  rec.policy_explanation = appraisal.policy_explanation;
  rec.clock = appraisal.clock;
  rec.new_boot = appraisal.new_boot;
  rec.nonce = ToBytes(req.nonce());
  rec.quote = ToBytes(req.quote());
  rec.signature = ToBytes(req.signature());
  rec.pcrs_json = attest::PcrValuesToJson(*pcrs).dump();
  rec.event_log = ToBytes(req.event_log());
  rec.ima_log = ToBytes(req.ima_log());

  // The EAR reflects the appraisal; it is signed before any token exists.
  EarInput ear;
  ear.verifier_id = options_.verifier_id;
  ear.issued_at = now;
  ear.nonce = rec.nonce;
  ear.node_id = rec.node_id;
  ear.status = appraisal.verdict;
  ear.policy_id = appraisal.policy_id;
  ear.attestation_id = rec.attestation_id;
  ear.findings = appraisal.findings;
  ear.new_boot = appraisal.new_boot;
  if (in.node.has_value()) {
    ear.ak_name = in.node->ak_name;
    ear.ek_public_sha256 = in.node->ek_public_sha256;
    ear.tpm_manufacturer = in.node->tpm_manufacturer;
  }
  ASSIGN_OR_RETURN(rec.ear_jwt, ear_->Sign(BuildEarClaims(ear)));

  std::optional<TokenRecord> token;
  std::optional<WrappedJoinToken> wrapped;
  if (appraisal.affirming() && req.request_join_token()) {
    token.emplace();
    token->node_id = rec.node_id;
    token->attestation_id = rec.attestation_id;
    token->issued_at = now;
    token->expires_at = now + options_.token_ttl;
    token->issuer = issuer_->Describe();
    absl::Status failure;
    auto bootstrap = GenerateBootstrapToken(*ctx_.rng);
    if (!bootstrap.ok()) return bootstrap.status();
    token->token_id = bootstrap->id;
    const std::string token_text = bootstrap->ToString();
    // Wrapped before it is published, so a published token is always deliverable.
    auto ek = attest::ParsePublicArea(in.node->ek_public);
    if (!ek.ok()) {
      failure = ek.status();
    } else {
      auto w = WrapJoinToken(*ek, in.node->ak_name, token_text,
                             JoinTokenAad(rec.attestation_id, rec.node_id), *ctx_.rng);
      if (w.ok()) {
        wrapped = *std::move(w);
        failure = issuer_->Publish(
            IssueRequest{token_text, options_.token_ttl, rec.node_id, token->expires_at});
      } else {
        failure = w.status();
      }
    }
    if (failure.ok()) {
      token->status = "issued";
      rec.token_id = token->token_id;
    } else {
      wrapped.reset();
      token->status = "failed";
      token->reason = std::string(failure.message());
      rec.findings.push_back(Finding{codes::kTokenIssuerFailed,
                                     absl::StrCat(issuer_->Describe(), ": ", failure.message())});
    }
  }
  rec.appraisal_micros = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::steady_clock::now() - started)
                             .count();

  // Durable before the answer leaves: no record, no answer (and no token handed out).
  absl::Status stored =
      ctx_.store->RecordAttestation(rec, token ? &*token : nullptr, appraisal.node_clock);
  if (!stored.ok()) {
    ctx_.logger->Error("attestation.store_failed",
                       {{"attestation", rec.attestation_id}, {"error", stored.ToString()}});
    return absl::UnavailableError(
        absl::StrCat("the attestation could not be recorded: ", stored.message()));
  }

  if (ctx_.metrics != nullptr) {
    ctx_.metrics->RecordAttestation(rec.verdict,
                                    rec.findings.empty() ? "none" : rec.findings.front().code,
                                    static_cast<double>(rec.appraisal_micros) / 1e6);
    if (token.has_value()) ctx_.metrics->RecordToken(token->status);
  }
  // The store may have recorded a state change with its notifications.
  if (ctx_.notifier != nullptr) ctx_.notifier->Wake();

  std::vector<std::string> codes_list;
  for (const Finding& f : rec.findings) codes_list.push_back(f.code);
  ctx_.logger->Log(appraisal.affirming() ? LogLevel::kInfo : LogLevel::kWarning, "attestation",
                   {{"attestation", rec.attestation_id},
                    {"node", rec.node_id},
                    {"verdict", rec.verdict},
                    {"findings", absl::StrJoin(codes_list, ",")},
                    {"policy", rec.policy_id},
                    {"matched", rec.policy_matched},
                    {"new_boot", rec.new_boot ? "true" : "false"},
                    {"token", rec.token_id},
                    {"micros", absl::StrCat(rec.appraisal_micros)}});

  resp->set_attestation_id(rec.attestation_id);
  resp->set_verdict(VerdictToProto(rec.verdict));
  FindingsToProto(rec.findings, resp->mutable_findings());
  StagesToProto(appraisal.stages, resp->mutable_checks());
  resp->set_ear_jwt(rec.ear_jwt);
  resp->set_policy_id(rec.policy_id);
  resp->set_policy_matched(rec.policy_matched);
  FindingsToProto(rec.policy_warnings, resp->mutable_policy_warnings());
  if (rec.clock) ClockToProto(*rec.clock, resp->mutable_clock());
  resp->set_new_boot(rec.new_boot);
  if (wrapped.has_value()) {
    v1::WrappedToken* t = resp->mutable_join_token();
    t->set_token_id(token->token_id);
    t->set_credential_blob(ToString(wrapped->credential_blob));
    t->set_encrypted_secret(ToString(wrapped->encrypted_secret));
    t->set_ciphertext(ToString(wrapped->ciphertext));
    t->set_iv(ToString(wrapped->iv));
    t->set_tag(ToString(wrapped->tag));
    t->set_aad(ToString(wrapped->aad));
    SetTimestamp(token->expires_at, t->mutable_expires_at());
  }
  return absl::OkStatus();
}

}  // namespace bootgate::verifier
