// End to end rejections: verifiers (bootgate-verifier serve) and agents (bootgate-agent) as
// separate processes over TLS on free ports, real swtpms whose PCRs hold a recorded boot. Each
// rejected enrollment or attestation exits 1 naming its reason code, is recorded by the verifier
// (admin CLI) and issues no token.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/e2e_env.h"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kLog[] = "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements";
constexpr char kOtherLog[] = "qemu/qemu-ovmf-directkernel/binary_bios_measurements";
constexpr char kSelection[] = "sha256:0-7";

// A string member of a JSON object; empty when absent or not a string.
std::string Str(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string()) return "";
  return j.at(key).get<std::string>();
}

// The "code" of each finding of an attestation record.
std::vector<std::string> FindingCodes(const json& attestation) {
  std::vector<std::string> codes;
  if (!attestation.is_object() || !attestation.contains("findings")) return codes;
  const json& findings = attestation.at("findings");
  if (!findings.is_array()) return codes;
  for (const json& f : findings) codes.push_back(Str(f, "code"));
  return codes;
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// `bootgate ARGS --json` against the verifier's admin API, parsed (a JSON array).
json AdminJson(const E2eVerifier& v, std::vector<std::string> args) {
  args.push_back("--json");
  CommandResult r = v.Admin(args);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_array()) << r.out;
  return j.is_array() ? j : json::array();
}

// The first non-EV_NO_ACTION PCR 4 record of `log` and the offset of the record after it.
std::pair<size_t, size_t> Pcr4Record(const Bytes& log) {
  auto parsed = attest::ParseEventLog(log);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {0, 0};
  const auto& events = parsed->events;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    if (events[i].pcr != 4 || events[i].type == attest::kEvNoAction) continue;
    return {events[i].offset, events[i + 1].offset};
  }
  ADD_FAILURE() << "no PCR 4 record followed by another";
  return {0, 0};
}

std::string Text(const Bytes& b) { return std::string(b.begin(), b.end()); }

// Every attestation of `node` is contraindicated, names `code` and carries no token.
void ExpectRecordedRejections(const E2eVerifier& v, const std::string& node,
                              const std::string& code, size_t at_least) {
  const json list = AdminJson(v, {"attestations", "list", "--node", node});
  EXPECT_GE(list.size(), at_least) << list.dump();
  for (const json& a : list) {
    EXPECT_EQ(Str(a, "node_id"), node) << a.dump();
    EXPECT_EQ(Str(a, "verdict"), "contraindicated") << a.dump();
    EXPECT_EQ(Str(a, "token_id"), "") << a.dump();
    bool named = false;
    for (const std::string& code_found : FindingCodes(a)) {
      named = named || code_found == code;
    }
    EXPECT_TRUE(named) << code << " not in " << a.dump();
  }
}

void ExpectNoTokens(const E2eVerifier& v) {
  EXPECT_TRUE(AdminJson(v, {"tokens", "list"}).empty());
  EXPECT_EQ(E2eReadText(v.dir() + "/tokens.txt"), "");
}

std::string Both(const CommandResult& r) { return r.out + r.err; }

std::string NodeId(const std::string& state_dir) {
  std::string id = E2eReadText(state_dir + "/node_id");
  id.erase(std::remove_if(id.begin(), id.end(), ::isspace), id.end());
  return id;
}

TEST(E2eRejectionsTest, RejectedEnrollmentsAndAttestationsOverTls) {
  BOOTGATE_REQUIRE_SWTPM();
  auto started = SwtpmInstance::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<SwtpmInstance> tpm = std::move(*started);
  const std::string log = TestDataPath(kLog);
  CommandResult played =
      RunBinary("bootgate-boot-player", {"--tcti", tpm->tcti(), "--eventlog", log});
  ASSERT_EQ(played.exit_code, 0) << played.err;

  // A second TPM with the same boot played (case 4).
  auto other_started = SwtpmInstance::Start();
  ASSERT_TRUE(other_started.ok()) << other_started.status();
  std::unique_ptr<SwtpmInstance> other = std::move(*other_started);
  CommandResult other_played =
      RunBinary("bootgate-boot-player", {"--tcti", other->tcti(), "--eventlog", log});
  ASSERT_EQ(other_played.exit_code, 0) << other_played.err;

  // 1. EK from a CA the verifier does not trust (its bundle holds other vendors' roots).
  {
    SCOPED_TRACE("EK from an unknown CA");
    E2eVerifier v;
    ASSERT_NO_FATAL_FAILURE(
        v.Start(tpm->WorkPath("v-other-ca"), TestDataPath("ca-certs"), log, kSelection));
    const std::string state = tpm->WorkPath("agent-other-ca");
    CommandResult enrolled = v.Agent(tpm->tcti(), state, {"enroll"});
    EXPECT_EQ(enrolled.exit_code, 1) << Both(enrolled);
    EXPECT_THAT(Both(enrolled), HasSubstr("ENROLL_EK_CHAIN_UNTRUSTED"));
    EXPECT_FALSE(Exists(state + "/node_id"));
    EXPECT_TRUE(AdminJson(v, {"nodes", "list"}).empty());
    ExpectNoTokens(v);
  }

  // 2. PCR values outside the policy (made from another boot's replay).
  {
    SCOPED_TRACE("PCR value outside policy");
    E2eVerifier v;
    ASSERT_NO_FATAL_FAILURE(v.Start(tpm->WorkPath("v-other-policy"), tpm->ca_bundle(),
                                    TestDataPath(kOtherLog), kSelection));
    const std::string state = tpm->WorkPath("agent-other-policy");
    CommandResult enrolled = v.Agent(tpm->tcti(), state, {"enroll"});
    ASSERT_EQ(enrolled.exit_code, 0) << Both(enrolled);
    const std::string node = NodeId(state);
    ASSERT_FALSE(node.empty());
    const std::string token_file = tpm->WorkPath("policy-token");
    CommandResult joined =
        v.Agent(tpm->tcti(), state, {"join", "--eventlog", log, "--token-file", token_file});
    EXPECT_EQ(joined.exit_code, 1) << Both(joined);
    EXPECT_THAT(Both(joined), HasSubstr("POLICY_PCR_MISMATCH"));
    EXPECT_FALSE(Exists(token_file));
    CommandResult attested = v.Agent(tpm->tcti(), state, {"attest", "--eventlog", log});
    EXPECT_EQ(attested.exit_code, 1) << Both(attested);
    EXPECT_THAT(Both(attested), HasSubstr("POLICY_PCR_MISMATCH"));
    ExpectRecordedRejections(v, node, "POLICY_PCR_MISMATCH", 2);
    ExpectNoTokens(v);
  }

  // The remaining cases share one verifier whose policy matches the played boot and which trusts
  // both TPMs' EK CAs.
  const std::string both_cas = tpm->WorkPath("both-ek-cas.pem");
  E2eWriteText(both_cas, E2eReadText(tpm->ca_bundle()) + "\n" + E2eReadText(other->ca_bundle()));
  E2eVerifier v;
  ASSERT_NO_FATAL_FAILURE(v.Start(tpm->WorkPath("v"), both_cas, log, kSelection));
  const std::string state = tpm->WorkPath("agent");
  CommandResult enrolled = v.Agent(tpm->tcti(), state, {"enroll"});
  ASSERT_EQ(enrolled.exit_code, 0) << Both(enrolled);
  const std::string node = NodeId(state);
  ASSERT_FALSE(node.empty());
  CommandResult good = v.Agent(tpm->tcti(), state, {"attest", "--eventlog", log});
  ASSERT_EQ(good.exit_code, 0) << Both(good);

  // 3. The log with one whole record removed, and with one record duplicated.
  {
    SCOPED_TRACE("event removed / added");
    const Bytes bytes = ReadTestData(kLog);
    const auto [begin, end] = Pcr4Record(bytes);
    ASSERT_LT(begin, end);
    const std::string original = Text(bytes);
    const std::string removed = original.substr(0, begin) + original.substr(end);
    const std::string added =
        original.substr(0, end) + original.substr(begin, end - begin) + original.substr(end);
    for (const auto& [name, content] :
         std::vector<std::pair<std::string, std::string>>{{"removed", removed}, {"added", added}}) {
      SCOPED_TRACE(name);
      const std::string path = tpm->WorkPath(name + ".bin");
      E2eWriteText(path, content);
      const std::string token_file = tpm->WorkPath(name + "-token");
      CommandResult joined =
          v.Agent(tpm->tcti(), state, {"join", "--eventlog", path, "--token-file", token_file});
      EXPECT_EQ(joined.exit_code, 1) << Both(joined);
      EXPECT_THAT(Both(joined), HasSubstr("EVENTLOG_REPLAY_MISMATCH"));
      EXPECT_FALSE(Exists(token_file));
    }
    const json list = AdminJson(v, {"attestations", "list", "--node", node});
    int rejected = 0;
    for (const json& a : list) {
      EXPECT_EQ(Str(a, "token_id"), "") << a.dump();
      for (const std::string& code_found : FindingCodes(a)) {
        if (code_found == "EVENTLOG_REPLAY_MISMATCH") {
          EXPECT_EQ(Str(a, "verdict"), "contraindicated") << a.dump();
          ++rejected;
        }
      }
    }
    EXPECT_EQ(rejected, 2) << list.dump();
    ExpectNoTokens(v);
  }

  // 4. A quote from another TPM (same boot played) presented under the first node's id.
  {
    SCOPED_TRACE("quote from another TPM");
    const std::string other_state = other->WorkPath("agent");
    CommandResult other_enrolled = v.Agent(other->tcti(), other_state, {"enroll"});
    ASSERT_EQ(other_enrolled.exit_code, 0) << Both(other_enrolled);
    E2eWriteText(other_state + "/node_id", node);
    const size_t before = AdminJson(v, {"attestations", "list", "--node", node}).size();
    const std::string token_file = other->WorkPath("token");
    CommandResult joined = v.Agent(other->tcti(), other_state,
                                   {"join", "--eventlog", log, "--token-file", token_file});
    EXPECT_EQ(joined.exit_code, 1) << Both(joined);
    EXPECT_THAT(Both(joined), HasSubstr("QUOTE_SIGNATURE_INVALID"));
    EXPECT_THAT(Both(joined), Not(HasSubstr("affirming")));
    EXPECT_FALSE(Exists(token_file));
    const json list = AdminJson(v, {"attestations", "list", "--node", node});
    ASSERT_EQ(list.size(), before + 1) << list.dump();
    int named = 0;
    for (const json& a : list) {
      for (const std::string& code_found : FindingCodes(a)) {
        if (code_found == "QUOTE_SIGNATURE_INVALID") {
          EXPECT_EQ(Str(a, "verdict"), "contraindicated") << a.dump();
          EXPECT_EQ(Str(a, "token_id"), "") << a.dump();
          ++named;
        }
      }
    }
    EXPECT_EQ(named, 1) << list.dump();
    ExpectNoTokens(v);
  }

  // 5. A revoked node: the untouched log no longer attests, no token.
  {
    SCOPED_TRACE("revoked node");
    CommandResult revoked = v.Admin({"nodes", "revoke", node, "--reason", "e2e"});
    ASSERT_EQ(revoked.exit_code, 0) << Both(revoked);
    const std::string token_file = tpm->WorkPath("revoked-token");
    CommandResult joined =
        v.Agent(tpm->tcti(), state, {"join", "--eventlog", log, "--token-file", token_file});
    EXPECT_EQ(joined.exit_code, 1) << Both(joined);
    EXPECT_THAT(Both(joined), HasSubstr("NODE_REVOKED"));
    EXPECT_FALSE(Exists(token_file));
    CommandResult attested = v.Agent(tpm->tcti(), state, {"attest", "--eventlog", log});
    EXPECT_EQ(attested.exit_code, 1) << Both(attested);
    EXPECT_THAT(Both(attested), HasSubstr("NODE_REVOKED"));
    const json list = AdminJson(v, {"attestations", "list", "--node", node});
    int named = 0;
    for (const json& a : list) {
      for (const std::string& code_found : FindingCodes(a)) {
        if (code_found == "NODE_REVOKED") {
          EXPECT_EQ(Str(a, "verdict"), "contraindicated") << a.dump();
          EXPECT_EQ(Str(a, "token_id"), "") << a.dump();
          ++named;
        }
      }
    }
    EXPECT_EQ(named, 2) << list.dump();
    bool is_revoked = false;
    for (const json& n : AdminJson(v, {"nodes", "list"})) {
      if (Str(n, "node_id") == node)
        is_revoked = n.is_object() && n.contains("revoked") && n["revoked"] == true;
    }
    EXPECT_TRUE(is_revoked);
    ExpectNoTokens(v);
  }
}

}  // namespace
}  // namespace bootgate::testing
