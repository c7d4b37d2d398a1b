// Credential activation round trips: the core's software MakeCredential (what the verifier runs)
// paired with the agent's TPM2_ActivateCredential on a real software TPM, for the RSA-2048 EK
// (PolicySecret) and the high-range ECC P-384 EK (PolicySecret + PolicyOR). A credential made for
// another AK name or for another TPM's EK must not activate.
#include <openssl/rand.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "attest/crypto/random.h"
#include "attest/tpm/make_credential.h"
#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "node-agent/agent.h"
#include "node-agent/tpm/tss_error.h"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using agent::Agent;
using agent::AgentOptions;
using attest::Bytes;
using ::testing::HasSubstr;

class OpenSslRandom : public attest::RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
      return absl::UnavailableError("RAND_bytes failed");
    }
    return absl::OkStatus();
  }
};

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  OpenSslRandom rng;
  EXPECT_TRUE(rng.Fill(absl::MakeSpan(b)).ok());
  return b;
}

void WriteFile(const std::string& path, const Bytes& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

class AgentCredentialTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
  }

  std::unique_ptr<Agent> Connect(const SwtpmInstance& tpm, const std::string& ek,
                                 const std::string& state = "agent-state") {
    AgentOptions options;
    options.tcti = tpm.tcti();
    options.state_dir = tpm.WorkPath(state);
    options.ek = ek;
    auto connected = Agent::Connect(options);
    EXPECT_TRUE(connected.ok()) << connected.status();
    return connected.ok() ? std::move(*connected) : nullptr;
  }

  // What the verifier does: MakeCredential for the agent's EK public and an object name.
  attest::MadeCredential Make(Agent& a, const Bytes& secret, const Bytes& object_name) {
    auto ek = a.EkPublic();
    EXPECT_TRUE(ek.ok()) << ek.status();
    if (!ek.ok()) return {};
    OpenSslRandom rng;
    auto made = attest::MakeCredential(ek->public_area, secret, object_name, rng);
    EXPECT_TRUE(made.ok()) << made.status();
    return made.ok() ? *made : attest::MadeCredential{};
  }

  std::string LeftoverHandles() {
    std::string all;
    for (const char* cap : {"handles-transient", "handles-loaded-session"}) {
      auto run = tpm_->Tpm2({"tpm2_getcap", cap});
      if (run.ok()) all += run->out;
    }
    return all;
  }

  std::unique_ptr<SwtpmInstance> tpm_;
};

TEST_P(AgentCredentialTest, RoundTripWithSoftwareMakeCredential) {
  auto a = Connect(*tpm_, GetParam());
  ASSERT_TRUE(a);
  auto ak = a->EnsureAk();
  ASSERT_TRUE(ak.ok()) << ak.status();
  auto ek = a->EkPublic();
  ASSERT_TRUE(ek.ok()) << ek.status();
  EXPECT_EQ(std::string(ek->slot->id), GetParam() == std::string("rsa") ? "rsa2048" : "ecc-p384");

  const Bytes secret = RandomBytes(32);
  const attest::MadeCredential made = Make(*a, secret, ak->blob.name);
  auto recovered = a->ActivateCredential(made.credential_blob, made.secret);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(*recovered, secret);
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_P(AgentCredentialTest, CredentialForAnotherAkNameFails) {
  auto a = Connect(*tpm_, GetParam());
  ASSERT_TRUE(a);
  auto ak = a->EnsureAk();
  ASSERT_TRUE(ak.ok()) << ak.status();
  Bytes other_name = ak->blob.name;
  other_name.back() ^= 0x01;
  const attest::MadeCredential made = Make(*a, RandomBytes(32), other_name);
  auto recovered = a->ActivateCredential(made.credential_blob, made.secret);
  EXPECT_FALSE(recovered.ok());
  EXPECT_THAT(std::string(recovered.status().message()), HasSubstr("TPM2_ActivateCredential"));
  // Every object and session of the failed operation is gone.
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_P(AgentCredentialTest, CredentialForAnotherTpmsEkFails) {
  auto other = SwtpmInstance::Start();
  ASSERT_TRUE(other.ok()) << other.status();
  auto a = Connect(*tpm_, GetParam());
  auto b = Connect(**other, GetParam());
  ASSERT_TRUE(a && b);
  auto ak = a->EnsureAk();
  ASSERT_TRUE(ak.ok()) << ak.status();
  // Made for B's EK, with A's AK name, presented to A.
  const attest::MadeCredential made = Make(*b, RandomBytes(32), ak->blob.name);
  auto recovered = a->ActivateCredential(made.credential_blob, made.secret);
  EXPECT_FALSE(recovered.ok());
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_P(AgentCredentialTest, ActivateCommandLine) {
  const std::string state = tpm_->WorkPath("cli-state");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--tcti", tpm_->tcti(), "--state-dir", state, "--ek", GetParam()});
    return RunBinary("bootgate-agent", args);
  };
  CommandResult ak = run({"ak", "--json"});
  ASSERT_EQ(ak.exit_code, 0) << ak.err;
  auto ak_name = attest::HexDecode(nlohmann::json::parse(ak.out)["name"].get<std::string>());
  ASSERT_TRUE(ak_name.ok());
  // The verifier side learns the EK public from `info`.
  CommandResult info = run({"info", "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const std::string slot = GetParam() == std::string("rsa") ? "rsa2048" : "ecc-p384";
  Bytes ek_public;
  const nlohmann::json info_json = nlohmann::json::parse(info.out);
  for (const auto& e : info_json["ek_publics"]) {
    if (e["slot"] == slot) ek_public = attest::HexDecode(e["public"].get<std::string>()).value();
  }
  auto ek = attest::ParsePublicArea(ek_public);
  ASSERT_TRUE(ek.ok()) << ek.status();

  const Bytes secret = RandomBytes(16);
  OpenSslRandom rng;
  auto made = attest::MakeCredential(*ek, secret, *ak_name, rng);
  ASSERT_TRUE(made.ok()) << made.status();
  const std::string blob = tpm_->WorkPath("cred.blob");
  const std::string enc = tpm_->WorkPath("cred.secret");
  const std::string combined = tpm_->WorkPath("cred.tpm2tools");
  WriteFile(blob, made->credential_blob);
  WriteFile(enc, made->secret);
  WriteFile(combined, attest::EncodeTpm2ToolsCredential(*made));

  CommandResult split = run({"activate", "--credential-blob", blob, "--secret", enc});
  ASSERT_EQ(split.exit_code, 0) << split.err;
  EXPECT_EQ(absl::StripAsciiWhitespace(split.out), attest::HexEncode(secret));
  CommandResult tools = run({"activate", "--credential", combined, "--json"});
  ASSERT_EQ(tools.exit_code, 0) << tools.err;
  EXPECT_EQ(nlohmann::json::parse(tools.out)["secret"], attest::HexEncode(secret));

  // The other EK cannot open it.
  CommandResult wrong_ek =
      RunBinary("bootgate-agent",
                {"activate", "--credential", combined, "--tcti", tpm_->tcti(), "--state-dir", state,
                 "--ek", GetParam() == std::string("rsa") ? "ecc" : "rsa"});
  EXPECT_EQ(wrong_ek.exit_code, 1) << wrong_ek.err;
  EXPECT_EQ(run({"activate", "--credential-blob", blob}).exit_code, 2);
}

INSTANTIATE_TEST_SUITE_P(Eks, AgentCredentialTest, ::testing::Values("rsa", "ecc"));

TEST(AgentCredentialErrors, ActivationWithoutAnAkIsRefused) {
  BOOTGATE_REQUIRE_SWTPM();
  auto tpm = SwtpmInstance::Start();
  ASSERT_TRUE(tpm.ok()) << tpm.status();
  AgentOptions options;
  options.tcti = (*tpm)->tcti();
  options.state_dir = (*tpm)->WorkPath("empty-state");
  auto a = Agent::Connect(options);
  ASSERT_TRUE(a.ok()) << a.status();
  auto recovered = (*a)->ActivateCredential(Bytes{0, 0}, Bytes{0, 0});
  EXPECT_EQ(recovered.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(recovered.status().message()), HasSubstr("no AK"));
}

}  // namespace
}  // namespace bootgate::testing
