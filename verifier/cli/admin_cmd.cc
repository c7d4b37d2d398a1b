// Admin subcommands of the bootgate CLI: `nodes`, `attestations`, `tokens`. They talk to the
// verifier's admin API over mutual TLS (the client certificate must chain to the verifier's
// tls.ca). Connection: --server HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem, or
// --config pointing to the verifier configuration (file or `init` directory), which supplies
// admin_listen, tls.ca and admin_client.{cert,key}; explicit flags win.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "attest/crypto/hash.h"
#include "attest/util/bytes.h"
#include "bootgate/v1/admin.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "verifier/cli/args.h"
#include "verifier/cli/commands.h"
#include "verifier/config/config.h"
#include "verifier/util/files.h"

namespace bootgate::cli {
namespace {

namespace v1 = ::bootgate::v1;
using nlohmann::json;

const std::set<std::string> kConnectionFlags = {"server", "ca", "cert", "key", "config"};

constexpr char kConnectionHelp[] = R"(Connection (mutual TLS to the verifier's admin API):
  --config FILE|DIR   verifier configuration (or the `bootgate-verifier init` directory): uses
                      admin_listen, tls.ca and admin_client.cert/key from it
  --server HOST:PORT  admin API address (overrides the configuration)
  --ca FILE           CA that signed the verifier's certificate
  --cert FILE --key FILE
                      admin client certificate and key
)";

struct Connection {
  std::string server;
  std::string ca;
  std::string cert;
  std::string key;
};

absl::StatusOr<Connection> ResolveConnection(const ParsedArgs& args) {
  Connection c;
  if (args.Has("config")) {
    auto config = verifier::LoadConfigFile(args.Get("config"));
    if (!config.ok()) return config.status();
    c.server = config->admin_listen;
    c.ca = config->tls.ca;
    c.cert = config->admin_client.cert;
    c.key = config->admin_client.key;
  }
  if (args.Has("server")) c.server = args.Get("server");
  if (args.Has("ca")) c.ca = args.Get("ca");
  if (args.Has("cert")) c.cert = args.Get("cert");
  if (args.Has("key")) c.key = args.Get("key");
  if (c.server.empty() || c.ca.empty() || c.cert.empty() || c.key.empty()) {
    return absl::InvalidArgumentError(
        "need --server, --ca, --cert and --key (or --config with admin_listen, tls.ca and "
        "admin_client)");
  }
  if (c.server.size() > 2 && c.server.substr(c.server.size() - 2) == ":0") {
    return absl::InvalidArgumentError(
        "the configuration listens on port 0 (any free port): pass the bound port with --server");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<v1::Admin::Stub>> Connect(const Connection& c) {
  grpc::SslCredentialsOptions tls;
  auto ca = verifier::ReadFile(c.ca, 1 << 20);
  auto cert = verifier::ReadFile(c.cert, 1 << 20);
  auto key = verifier::ReadFile(c.key, 1 << 20);
  for (const auto* r : {&ca, &cert, &key}) {
    if (!r->ok()) return r->status();
  }
  tls.pem_root_certs = *ca;
  tls.pem_cert_chain = *cert;
  tls.pem_private_key = *key;
  grpc::ChannelArguments args;
  // GetAttestation --evidence returns event and IMA logs of several MiB.
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(c.server, grpc::SslCredentials(tls), args);
  return v1::Admin::NewStub(channel);
}

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "";
  return absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

std::string Hex(const std::string& bytes) { return attest::HexEncode(attest::AsSpan(bytes)); }

std::string VerdictName(v1::Verdict v) {
  switch (v) {
    case v1::VERDICT_AFFIRMING:
      return "affirming";
    case v1::VERDICT_CONTRAINDICATED:
      return "contraindicated";
    default:
      return "";
  }
}

std::string CheckStateName(v1::CheckState s) {
  switch (s) {
    case v1::CHECK_STATE_PASSED:
      return "passed";
    case v1::CHECK_STATE_FAILED:
      return "failed";
    case v1::CHECK_STATE_NOT_RUN:
      return "not_run";
    default:
      return "";
  }
}

json FindingsJson(const google::protobuf::RepeatedPtrField<v1::Finding>& findings) {
  json out = json::array();
  for (const v1::Finding& f : findings) out.push_back({{"code", f.code()}, {"detail", f.detail()}});
  return out;
}

json NodeJson(const v1::Node& n) {
  json j = {{"node_id", n.node_id()},
            {"ak_name", Hex(n.ak_name())},
            {"ek_public_sha256", n.ek_public_sha256()},
            {"ek_certificate_sha256", n.ek_certificate_sha256()},
            {"ek_certificate_nv_index", absl::StrCat("0x", absl::Hex(n.ek_certificate_nv_index()))},
            {"tpm_manufacturer", n.tpm_manufacturer()},
            {"tpm_model", n.tpm_model()},
            {"tpm_version", n.tpm_version()},
            {"hostname", n.hostname()},
            {"enrolled_at", Time(n.enrolled_at())},
            {"enrollment_id", n.enrollment_id()},
            {"revoked", n.revoked()},
            {"revoked_at", Time(n.revoked_at())},
            {"revoke_reason", n.revoke_reason()},
            {"last_attested_at", Time(n.last_attested_at())},
            {"last_attestation_id", n.last_attestation_id()},
            {"last_verdict", VerdictName(n.last_verdict())},
            {"state", n.state()},
            {"state_since", Time(n.state_since())},
            {"last_attempt_at", Time(n.last_attempt_at())},
            {"next_due_at", Time(n.next_due_at())},
            {"labels", json::object()}};
  for (const auto& [key, value] : n.labels()) j["labels"][key] = value;
  if (n.transitions_size() > 0) {
    json transitions = json::array();
    for (const v1::NodeTransition& t : n.transitions()) {
      transitions.push_back({{"event_id", t.event_id()},
                             {"at", Time(t.at())},
                             {"old_state", t.old_state()},
                             {"new_state", t.new_state()},
                             {"reasons", FindingsJson(t.reasons())},
                             {"attestation_id", t.attestation_id()}});
    }
    j["transitions"] = std::move(transitions);
  }
  if (n.has_last_clock()) {
    j["last_clock"] = {{"clock", n.last_clock().clock()},
                       {"reset_count", n.last_clock().reset_count()},
                       {"restart_count", n.last_clock().restart_count()},
                       {"safe", n.last_clock().safe()}};
  }
  return j;
}

json AttestationJson(const v1::AttestationRecord& a) {
  json checks = json::array();
  for (const v1::Check& c : a.checks()) {
    checks.push_back(
        {{"name", c.name()}, {"state", CheckStateName(c.state())}, {"detail", c.detail()}});
  }
  json j = {{"attestation_id", a.attestation_id()},
            {"node_id", a.node_id()},
            {"created_at", Time(a.created_at())},
            {"verdict", VerdictName(a.verdict())},
            {"findings", FindingsJson(a.findings())},
            {"checks", checks},
            {"policy_id", a.policy_id()},
            {"policy_matched", a.policy_matched()},
            {"policy_warnings", FindingsJson(a.policy_warnings())},
            {"policy_explanation", a.policy_explanation()},
            {"new_boot", a.new_boot()},
            {"token_id", a.token_id()},
            {"nonce", Hex(a.nonce())},
            {"appraisal_micros", a.appraisal_micros()},
            {"ear_jwt", a.ear_jwt()}};
  if (a.has_clock()) {
    j["clock"] = {{"clock", a.clock().clock()},
                  {"reset_count", a.clock().reset_count()},
                  {"restart_count", a.clock().restart_count()},
                  {"safe", a.clock().safe()}};
  }
  if (!a.quote().empty()) {
    // The PCR values as supplied with the quote ({"sha256": {"7": "<hex>"}}, the shape of
    // `eventlog replay --json`); the checks say whether the quote covered them.
    json pcrs = json::object();
    for (const v1::PcrBank& bank : a.pcrs()) {
      json values = json::object();
      for (const v1::PcrValue& v : bank.values()) {
        values[std::to_string(v.index())] = Hex(v.digest());
      }
      pcrs[attest::HashAlgName(static_cast<uint16_t>(bank.hash_alg()))] = std::move(values);
    }
    j["evidence"] = {{"quote", Hex(a.quote())},
                     {"signature", Hex(a.signature())},
                     {"pcrs", std::move(pcrs)},
                     {"event_log_bytes", a.event_log().size()},
                     {"ima_log_bytes", a.ima_log().size()}};
  }
  return j;
}

json TokenJson(const v1::TokenRecord& t) {
  return {{"token_id", t.token_id()},
          {"node_id", t.node_id()},
          {"attestation_id", t.attestation_id()},
          {"issued_at", Time(t.issued_at())},
          {"expires_at", Time(t.expires_at())},
          {"issuer", t.issuer()},
          {"status", t.status()},
          {"reason", t.reason()}};
}

void PrintJson(const json& j) {
  std::printf("%s\n", j.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

int RpcFailed(const char* what, const grpc::Status& s) {
  std::fprintf(stderr, "bootgate: %s: %s (%d)\n", what, s.error_message().c_str(),
               static_cast<int>(s.error_code()));
  return kExitBadInput;
}

std::unique_ptr<grpc::ClientContext> Context() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  return ctx;
}

// Parses flags, resolves the connection and returns a stub; prints usage/errors itself.
struct Invocation {
  ParsedArgs args;
  std::unique_ptr<v1::Admin::Stub> stub;
  int exit_code = -1;  // >= 0: stop with this code
};

Invocation Prepare(const std::vector<std::string>& raw, std::set<std::string> value_flags,
                   std::set<std::string> bool_flags, const char* usage, size_t positional) {
  Invocation inv;
  value_flags.insert(kConnectionFlags.begin(), kConnectionFlags.end());
  bool_flags.insert("json");
  auto parsed = ParseArgs(raw, value_flags, bool_flags);
  if (!parsed.ok() || parsed->help || parsed->positional.size() != positional) {
    FILE* out = parsed.ok() && parsed->help ? stdout : stderr;
    if (!parsed.ok()) std::fprintf(stderr, "bootgate: %s\n", parsed.status().ToString().c_str());
    std::fprintf(out, "usage: %s\n\n%s", usage, kConnectionHelp);
    inv.exit_code = parsed.ok() && parsed->help ? kExitOk : kExitUsage;
    return inv;
  }
  inv.args = *std::move(parsed);
  auto conn = ResolveConnection(inv.args);
  if (!conn.ok()) {
    std::fprintf(stderr, "bootgate: %s\n", std::string(conn.status().message()).c_str());
    inv.exit_code = kExitUsage;
    return inv;
  }
  auto stub = Connect(*conn);
  if (!stub.ok()) {
    std::fprintf(stderr, "bootgate: %s\n", std::string(stub.status().message()).c_str());
    inv.exit_code = kExitBadInput;
    return inv;
  }
  inv.stub = *std::move(stub);
  return inv;
}

uint32_t Limit(const ParsedArgs& args) {
  uint32_t limit = 0;
  if (args.Has("limit") && !absl::SimpleAtoi(args.Get("limit"), &limit)) return 0;
  return limit;
}

void PrintNodeText(const v1::Node& n) {
  std::printf("node %s%s\n", n.node_id().c_str(), n.revoked() ? "  [REVOKED]" : "");
  std::printf("  state           %s since %s\n", n.state().c_str(), Time(n.state_since()).c_str());
  std::printf("  hostname        %s\n", n.hostname().c_str());
  std::printf("  AK name         %s\n", Hex(n.ak_name()).c_str());
  std::printf("  EK public       sha256:%s\n", n.ek_public_sha256().c_str());
  std::printf("  EK certificate  sha256:%s (NV 0x%x)\n", n.ek_certificate_sha256().c_str(),
              n.ek_certificate_nv_index());
  std::printf("  TPM             %s %s %s\n", n.tpm_manufacturer().c_str(), n.tpm_model().c_str(),
              n.tpm_version().c_str());
  std::printf("  enrolled        %s (%s)\n", Time(n.enrolled_at()).c_str(),
              n.enrollment_id().c_str());
  if (n.revoked()) {
    std::printf("  revoked         %s: %s\n", Time(n.revoked_at()).c_str(),
                n.revoke_reason().c_str());
  }
  std::printf("  last attested   %s %s %s\n", Time(n.last_attested_at()).c_str(),
              n.last_attestation_id().c_str(), VerdictName(n.last_verdict()).c_str());
  std::printf("  last attempt    %s\n", Time(n.last_attempt_at()).c_str());
  if (n.has_next_due_at()) std::printf("  next due        %s\n", Time(n.next_due_at()).c_str());
  if (n.has_last_clock()) {
    std::printf("  last clock      resetCount %u restartCount %u clock %lu\n",
                n.last_clock().reset_count(), n.last_clock().restart_count(),
                static_cast<unsigned long>(n.last_clock().clock()));
  }
  if (n.transitions_size() > 0) std::printf("  history (newest first)\n");
  for (const v1::NodeTransition& t : n.transitions()) {
    std::string reasons;
    for (const v1::Finding& f : t.reasons()) absl::StrAppend(&reasons, " ", f.code());
    std::printf("    %s  %s -> %s%s%s%s\n", Time(t.at()).c_str(), t.old_state().c_str(),
                t.new_state().c_str(), reasons.c_str(), t.attestation_id().empty() ? "" : "  ",
                t.attestation_id().c_str());
  }
}

}  // namespace

int RunNodesCommand(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "bootgate nodes list [--limit N] [--json]\n"
      "       bootgate nodes show NODE_ID [--json]\n"
      "       bootgate nodes revoke NODE_ID [--reason TEXT] [--json]";
  const std::string sub = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "list") {
    Invocation inv = Prepare(rest, {"limit"}, {}, kUsage, 0);
    if (inv.exit_code >= 0) return inv.exit_code;
    v1::ListNodesRequest req;
    req.set_limit(Limit(inv.args));
    v1::ListNodesResponse resp;
    grpc::Status s = inv.stub->ListNodes(Context().get(), req, &resp);
    if (!s.ok()) return RpcFailed("ListNodes", s);
    if (inv.args.Has("json")) {
      json out = json::array();
      for (const v1::Node& n : resp.nodes()) out.push_back(NodeJson(n));
      PrintJson(out);
      return kExitOk;
    }
    std::printf("%-22s %-9s %-20s %-20s %-20s %s\n", "NODE", "STATE", "LAST ATTESTED",
                "LAST ATTEMPT", "NEXT DUE", "HOSTNAME");
    for (const v1::Node& n : resp.nodes()) {
      std::printf("%-22s %-9s %-20s %-20s %-20s %s\n", n.node_id().c_str(), n.state().c_str(),
                  Time(n.last_attested_at()).c_str(), Time(n.last_attempt_at()).c_str(),
                  Time(n.next_due_at()).c_str(), n.hostname().c_str());
    }
    return kExitOk;
  }
  if (sub == "show" || sub == "revoke") {
    Invocation inv =
        Prepare(rest, sub == "revoke" ? std::set<std::string>{"reason"} : std::set<std::string>{},
                {}, kUsage, 1);
    if (inv.exit_code >= 0) return inv.exit_code;
    v1::Node node;
    grpc::Status s;
    if (sub == "show") {
      v1::GetNodeRequest req;
      req.set_node_id(inv.args.positional[0]);
      s = inv.stub->GetNode(Context().get(), req, &node);
    } else {
      v1::RevokeNodeRequest req;
      req.set_node_id(inv.args.positional[0]);
      req.set_reason(inv.args.Get("reason"));
      s = inv.stub->RevokeNode(Context().get(), req, &node);
    }
    if (!s.ok()) return RpcFailed(sub == "show" ? "GetNode" : "RevokeNode", s);
    if (inv.args.Has("json")) {
      PrintJson(NodeJson(node));
    } else {
      PrintNodeText(node);
    }
    return kExitOk;
  }
  std::fprintf(sub == "--help" || sub == "-h" ? stdout : stderr, "usage: %s\n\n%s", kUsage,
               kConnectionHelp);
  return sub == "--help" || sub == "-h" ? kExitOk : kExitUsage;
}

int RunAttestationsCommand(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "bootgate attestations list [--node NODE_ID] [--limit N] [--json]\n"
      "       bootgate attestations show ATTESTATION_ID [--evidence] [--json]";
  const std::string sub = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "list") {
    Invocation inv = Prepare(rest, {"node", "limit"}, {}, kUsage, 0);
    if (inv.exit_code >= 0) return inv.exit_code;
    v1::ListAttestationsRequest req;
    req.set_node_id(inv.args.Get("node"));
    req.set_limit(Limit(inv.args));
    v1::ListAttestationsResponse resp;
    grpc::Status s = inv.stub->ListAttestations(Context().get(), req, &resp);
    if (!s.ok()) return RpcFailed("ListAttestations", s);
    if (inv.args.Has("json")) {
      json out = json::array();
      for (const v1::AttestationRecord& a : resp.attestations()) out.push_back(AttestationJson(a));
      PrintJson(out);
      return kExitOk;
    }
    std::printf("%-21s %-22s %-20s %-16s %-7s %s\n", "ATTESTATION", "NODE", "TIME", "VERDICT",
                "TOKEN", "FINDINGS");
    for (const v1::AttestationRecord& a : resp.attestations()) {
      std::vector<std::string> codes;
      for (const v1::Finding& f : a.findings()) codes.push_back(f.code());
      std::printf(
          "%-21s %-22s %-20s %-16s %-7s %s\n", a.attestation_id().c_str(), a.node_id().c_str(),
          Time(a.created_at()).c_str(), VerdictName(a.verdict()).c_str(),
          a.token_id().empty() ? "-" : a.token_id().c_str(), absl::StrJoin(codes, ",").c_str());
    }
    return kExitOk;
  }
  if (sub == "show") {
    Invocation inv = Prepare(rest, {}, {"evidence"}, kUsage, 1);
    if (inv.exit_code >= 0) return inv.exit_code;
    v1::GetAttestationRequest req;
    req.set_attestation_id(inv.args.positional[0]);
    req.set_include_evidence(inv.args.Has("evidence"));
    v1::AttestationRecord a;
    grpc::Status s = inv.stub->GetAttestation(Context().get(), req, &a);
    if (!s.ok()) return RpcFailed("GetAttestation", s);
    if (inv.args.Has("json")) {
      PrintJson(AttestationJson(a));
      return kExitOk;
    }
    std::printf("attestation %s  node %s  %s\n", a.attestation_id().c_str(), a.node_id().c_str(),
                Time(a.created_at()).c_str());
    std::printf("  verdict   %s\n  policy    %s\n", VerdictName(a.verdict()).c_str(),
                a.policy_id().c_str());
    if (!a.policy_matched().empty()) std::printf("  matched   %s\n", a.policy_matched().c_str());
    for (const v1::Check& c : a.checks()) {
      std::printf("  %-9s %-8s %s\n", c.name().c_str(), CheckStateName(c.state()).c_str(),
                  c.detail().c_str());
    }
    for (const v1::Finding& f : a.findings()) {
      std::printf("  finding   %s: %s\n", f.code().c_str(), f.detail().c_str());
    }
    for (const v1::Finding& f : a.policy_warnings()) {
      std::printf("  warning   %s: %s\n", f.code().c_str(), f.detail().c_str());
    }
    if (!a.token_id().empty()) std::printf("  token     %s\n", a.token_id().c_str());
    if (!a.policy_explanation().empty()) {
      std::printf("  policy explanation:\n");
      for (absl::string_view line : absl::StrSplit(a.policy_explanation(), '\n')) {
        if (!line.empty()) std::printf("    %.*s\n", static_cast<int>(line.size()), line.data());
      }
    }
    return kExitOk;
  }
  std::fprintf(sub == "--help" || sub == "-h" ? stdout : stderr, "usage: %s\n\n%s", kUsage,
               kConnectionHelp);
  return sub == "--help" || sub == "-h" ? kExitOk : kExitUsage;
}

int RunTokensCommand(const std::vector<std::string>& args) {
  constexpr char kUsage[] = "bootgate tokens list [--node NODE_ID] [--limit N] [--json]";
  const std::string sub = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  if (sub == "list") {
    Invocation inv = Prepare(rest, {"node", "limit"}, {}, kUsage, 0);
    if (inv.exit_code >= 0) return inv.exit_code;
    v1::ListTokensRequest req;
    req.set_node_id(inv.args.Get("node"));
    req.set_limit(Limit(inv.args));
    v1::ListTokensResponse resp;
    grpc::Status s = inv.stub->ListTokens(Context().get(), req, &resp);
    if (!s.ok()) return RpcFailed("ListTokens", s);
    if (inv.args.Has("json")) {
      json out = json::array();
      for (const v1::TokenRecord& t : resp.tokens()) out.push_back(TokenJson(t));
      PrintJson(out);
      return kExitOk;
    }
    std::printf("%-8s %-22s %-21s %-20s %-20s %-7s %s\n", "TOKEN", "NODE", "ATTESTATION", "ISSUED",
                "EXPIRES", "STATUS", "ISSUER");
    for (const v1::TokenRecord& t : resp.tokens()) {
      std::printf("%-8s %-22s %-21s %-20s %-20s %-7s %s%s%s\n", t.token_id().c_str(),
                  t.node_id().c_str(), t.attestation_id().c_str(), Time(t.issued_at()).c_str(),
                  Time(t.expires_at()).c_str(), t.status().c_str(), t.issuer().c_str(),
                  t.reason().empty() ? "" : ": ", t.reason().c_str());
    }
    return kExitOk;
  }
  std::fprintf(sub == "--help" || sub == "-h" ? stdout : stderr, "usage: %s\n\n%s", kUsage,
               kConnectionHelp);
  return sub == "--help" || sub == "-h" ? kExitOk : kExitUsage;
}

int RunPoliciesCommand(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "bootgate policies list [--content] [--json]\n"
      "       bootgate policies push FILE [--sig FILE.sig] [--name NAME] [--json]\n"
      "  list: the policy in force, when it was loaded, who signed it and the last reload error\n"
      "  push: add or replace one file of the verifier's policy_dir; the verifier loads and\n"
      "        verifies the whole new set first and refuses it (nothing changes) if it fails";
  const std::string sub = args.empty() ? "" : args[0];
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  auto print = [](const v1::PolicyInfo& p, bool content) {
    std::printf("policy  %s  (%s)\n  path    %s\n  loaded  %s\n", p.policy_id().c_str(),
                p.kind().c_str(), p.path().c_str(), Time(p.loaded_at()).c_str());
    for (const std::string& key : p.signed_by()) std::printf("  signed  %s\n", key.c_str());
    if (p.signed_by().empty()) std::printf("  signed  (not signed)\n");
    if (!p.last_reload_error().empty()) {
      std::printf("  LAST RELOAD FAILED (this policy stayed active): %s\n",
                  p.last_reload_error().c_str());
    }
    if (content) std::printf("%s\n", p.content().c_str());
  };
  auto to_json = [](const v1::PolicyInfo& p, bool content) {
    json j = {{"policy_id", p.policy_id()},
              {"kind", p.kind()},
              {"path", p.path()},
              {"active", p.active()},
              {"loaded_at", Time(p.loaded_at())},
              {"signed_by", json::array()},
              {"last_reload_error", p.last_reload_error()}};
    for (const std::string& key : p.signed_by()) j["signed_by"].push_back(key);
    if (content) j["content"] = p.content();
    return j;
  };
  if (sub == "list") {
    Invocation inv = Prepare(rest, {}, {"content"}, kUsage, 0);
    if (inv.exit_code >= 0) return inv.exit_code;
    v1::ListPoliciesResponse resp;
    grpc::Status s = inv.stub->ListPolicies(Context().get(), v1::ListPoliciesRequest(), &resp);
    if (!s.ok()) return RpcFailed("ListPolicies", s);
    if (inv.args.Has("json")) {
      json out = json::array();
      for (const v1::PolicyInfo& p : resp.policies()) {
        out.push_back(to_json(p, inv.args.Has("content")));
      }
      PrintJson(out);
      return kExitOk;
    }
    for (const v1::PolicyInfo& p : resp.policies()) print(p, inv.args.Has("content"));
    return kExitOk;
  }
  if (sub == "push") {
    Invocation inv = Prepare(rest, {"sig", "name"}, {}, kUsage, 1);
    if (inv.exit_code >= 0) return inv.exit_code;
    const std::string path = inv.args.positional[0];
    auto content = verifier::ReadFile(path, 4u << 20);
    if (!content.ok()) {
      std::fprintf(stderr, "bootgate: %s\n", std::string(content.status().message()).c_str());
      return kExitBadInput;
    }
    v1::PutPolicyRequest req;
    const size_t slash = path.rfind('/');
    req.set_file_name(inv.args.Has("name")
                          ? inv.args.Get("name")
                          : (slash == std::string::npos ? path : path.substr(slash + 1)));
    req.set_content(*content);
    const std::string sig_path =
        inv.args.Has("sig") ? inv.args.Get("sig") : absl::StrCat(path, ".sig");
    if (inv.args.Has("sig") || verifier::PathExists(sig_path)) {
      auto sig = verifier::ReadFile(sig_path, 64 << 10);
      if (!sig.ok()) {
        std::fprintf(stderr, "bootgate: %s\n", std::string(sig.status().message()).c_str());
        return kExitBadInput;
      }
      req.set_signature(*sig);
    }
    v1::PolicyInfo resp;
    grpc::Status s = inv.stub->PutPolicy(Context().get(), req, &resp);
    if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
        s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      std::fprintf(stderr, "bootgate: policy refused: %s\n", s.error_message().c_str());
      return kExitRejected;
    }
    if (!s.ok()) return RpcFailed("PutPolicy", s);
    if (inv.args.Has("json")) {
      PrintJson(to_json(resp, false));
    } else {
      print(resp, false);
    }
    return kExitOk;
  }
  std::fprintf(sub == "--help" || sub == "-h" ? stdout : stderr, "usage: %s\n\n%s", kUsage,
               kConnectionHelp);
  return sub == "--help" || sub == "-h" ? kExitOk : kExitUsage;
}

}  // namespace bootgate::cli
