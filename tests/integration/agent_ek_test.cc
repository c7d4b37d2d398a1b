// Endorsement keys on a real software TPM: the TCG default templates reproduce the EKs swtpm
// persisted (so a TPM without persistent EKs gets the certified key), the policy constants are the
// profile's, an EK that exists only as a template works end to end, and an EK CA chain stored in
// NV (0x01C00100...) is found.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "attest/crypto/ossl.h"
#include "attest/tpm/key_checks.h"
#include "attest/tpm/make_credential.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "node-agent/agent.h"
#include "node-agent/io/files.h"
#include "node-agent/tpm/ek.h"
#include "node-agent/tpm/nv.h"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using ::testing::HasSubstr;

class FixedRandom : public attest::RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 7 + 1);
    return absl::OkStatus();
  }
};

class AgentEkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
    auto conn = agent::TpmConnection::Open(tpm_->tcti());
    ASSERT_TRUE(conn.ok()) << conn.status();
    conn_ = std::move(*conn);
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
  std::unique_ptr<agent::TpmConnection> conn_;
};

TEST(EkPolicies, MatchTheEkCredentialProfile) {
  EXPECT_EQ(attest::HexEncode(*agent::EkPolicyA(TPM2_ALG_SHA256)),
            "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa");
  EXPECT_EQ(attest::HexEncode(*agent::EkPolicyB(TPM2_ALG_SHA256)),
            "ca3d0a99a2b93906f7a3342414efcfb3a385d44cd1fd459089d19b5071c0b7a0");
  EXPECT_EQ(attest::HexEncode(*agent::EkPolicyB(TPM2_ALG_SHA384)),
            "b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc0"
            "00f3f80e12");
  EXPECT_EQ(attest::HexEncode(*agent::EkPolicyB(TPM2_ALG_SHA512)),
            "b8221ca69e8550a4914de3faa6a18c072cc01208073a928d5d66d59ef79e49a429c41a6b269571d57edb25"
            "fbdb1838425608b413cd616a5f6db5b6071af99bea");
  EXPECT_FALSE(agent::EkPolicyB(TPM2_ALG_SHA1).ok());
}

TEST(EkSlots, CoverTheLowAndHighRange) {
  std::vector<uint32_t> indexes;
  for (const agent::EkSlot& slot : agent::EkSlots()) indexes.push_back(slot.cert_index);
  EXPECT_THAT(indexes,
              ::testing::ElementsAre(0x01C00002, 0x01C0000A, 0x01C00012, 0x01C00014, 0x01C00016,
                                     0x01C00018, 0x01C0001A, 0x01C0001C, 0x01C0001E));
  for (const agent::EkSlot& slot : agent::EkSlots()) {
    EXPECT_EQ(agent::EkTemplate(slot).ok(), slot.has_template) << slot.id;
  }
}

TEST_F(AgentEkTest, DefaultTemplatesReproduceThePersistentEks) {
  auto inventory = agent::ReadEkInventory(*conn_, 1024);
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  agent::EkInventory without_persistent = *inventory;
  without_persistent.persistent_handles.clear();
  for (const char* id : {"rsa2048", "ecc-p384"}) {
    const agent::EkSlot* slot = agent::FindEkSlotById(id);
    auto persistent = agent::LoadEk(*conn_, *slot, *inventory);
    ASSERT_TRUE(persistent.ok()) << persistent.status();
    EXPECT_THAT(persistent->source, HasSubstr("persistent"));
    auto created = agent::LoadEk(*conn_, *slot, without_persistent);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_THAT(created->source, HasSubstr("created from template"));
    EXPECT_EQ(created->name, persistent->name) << id;
    EXPECT_EQ(created->matches_certificate, std::optional<bool>(true)) << id;
    attest::KeyCheckReport report = attest::CheckEkPublic(created->public_area);
    EXPECT_TRUE(report.ok()) << id << ": " << report.Summary();
    EXPECT_TRUE(attest::CheckCredentialKey(created->public_area).ok()) << id;
  }
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_F(AgentEkTest, TemplateOnlyEkWorksEndToEnd) {
  // swtpm has no ECC P-256 EK: it is created from template L-2 for every use and flushed.
  agent::AgentOptions options;
  options.tcti = tpm_->tcti();
  options.state_dir = tpm_->WorkPath("state-p256");
  options.ek = "ecc-p256";
  conn_.reset();  // one connection at a time on a raw swtpm socket
  auto a = agent::Agent::Connect(options);
  ASSERT_TRUE(a.ok()) << a.status();
  auto ek = (*a)->EkPublic();
  ASSERT_TRUE(ek.ok()) << ek.status();
  EXPECT_EQ(ek->source, "created from template L-2");
  EXPECT_FALSE(ek->matches_certificate.has_value());
  auto ak = (*a)->EnsureAk();
  ASSERT_TRUE(ak.ok()) << ak.status();
  EXPECT_EQ(ak->blob.parent_slot, "ecc-p256");

  const Bytes secret(32, 0x42);
  FixedRandom rng;
  auto made = attest::MakeCredential(ek->public_area, secret, ak->blob.name, rng);
  ASSERT_TRUE(made.ok()) << made.status();
  auto recovered = (*a)->ActivateCredential(made->credential_blob, made->secret);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_EQ(*recovered, secret);
  auto quote = (*a)->Quote(Bytes(16, 5), *attest::ParsePcrSelectionSpec("sha256:0-7"));
  ASSERT_TRUE(quote.ok()) << quote.status();
  a->reset();
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_F(AgentEkTest, NvReadsInChunks) {
  auto whole = agent::ReadNvIndex(*conn_, 0x01C00002, 1024);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto chunked = agent::ReadNvIndex(*conn_, 0x01C00002, 100);
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  EXPECT_EQ(*chunked, *whole);
  EXPECT_GT(whole->size(), 800u);
  auto missing = agent::ReadNvIndex(*conn_, 0x01C0000A, 1024);
  EXPECT_FALSE(missing.ok());
}

TEST_F(AgentEkTest, EkCaChainInNvIsReported) {
  // The run's CA certificates, one per chain index (0x01C00100, 0x01C00101), each followed by
  // padding as TPM vendors leave it.
  auto pem = agent::ReadFileCapped(tpm_->ca_bundle(), 1 << 20);
  ASSERT_TRUE(pem.ok()) << pem.status();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), &BIO_free);
  conn_.reset();  // tpm2-tools needs the socket
  int count = 0;
  while (attest::X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
    uint8_t* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    ASSERT_GT(len, 0);
    Bytes padded(der, der + len);
    OPENSSL_free(der);
    padded.resize(padded.size() + 16, count == 0 ? 0xff : 0x00);
    const std::string file = tpm_->WorkPath("chain" + std::to_string(count) + ".der");
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(padded.data()),
               static_cast<std::streamsize>(padded.size()));
    const std::string index = count == 0 ? "0x01c00100" : "0x01c00101";
    ASSERT_TRUE(tpm_->Tpm2({"tpm2_nvdefine", index, "-C", "o", "-s", std::to_string(padded.size()),
                            "-a", "ownerread|ownerwrite|authread|no_da"})
                    .ok());
    ASSERT_TRUE(tpm_->Tpm2({"tpm2_nvwrite", index, "-C", "o", "-i", file}).ok());
    ++count;
  }
  ASSERT_EQ(count, 2);

  auto r = RunBinary("bootgate-agent", {"info", "--json", "--tcti", tpm_->tcti(), "--state-dir",
                                        tpm_->WorkPath("state")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json info = nlohmann::json::parse(r.out);
  ASSERT_EQ(info["ek_ca_chain"].size(), 2u) << info["ek_ca_chain"].dump(2);
  EXPECT_EQ(info["ek_ca_chain"][0]["nv_index"], "0x01c00100");
  EXPECT_EQ(info["ek_ca_chain"][1]["nv_index"], "0x01c00101");
  // The intermediate (the EK certificates' issuer) and the self-signed root, in either order.
  std::set<std::string> subjects;
  int self_signed = 0;
  for (const auto& cert : info["ek_ca_chain"]) {
    EXPECT_FALSE(cert.contains("error")) << cert.dump();
    subjects.insert(cert["subject"].get<std::string>());
    self_signed += cert["subject"] == cert["issuer"] ? 1 : 0;
  }
  EXPECT_EQ(self_signed, 1);
  EXPECT_TRUE(subjects.count(info["ek_certificates"][0]["issuer"].get<std::string>()));
}

TEST_F(AgentEkTest, UnreadableOrBrokenCertificatesAreReportedNotFatal) {
  conn_.reset();
  // 0x01C0000A readable by the platform only; 0x01C00012 holds no certificate.
  ASSERT_TRUE(tpm_->Tpm2({"tpm2_nvdefine", "0x01c0000a", "-C", "p", "-s", "64", "-a",
                          "ppread|ppwrite|platformcreate|no_da"})
                  .ok());
  ASSERT_TRUE(tpm_->Tpm2({"tpm2_nvdefine", "0x01c00012", "-C", "o", "-s", "32", "-a",
                          "ownerread|ownerwrite|authread|no_da"})
                  .ok());
  std::ofstream(tpm_->WorkPath("junk.bin"), std::ios::binary) << std::string(32, 'x');
  ASSERT_TRUE(
      tpm_->Tpm2({"tpm2_nvwrite", "0x01c00012", "-C", "o", "-i", tpm_->WorkPath("junk.bin")}).ok());

  auto r = RunBinary("bootgate-agent", {"info", "--json", "--tcti", tpm_->tcti(), "--state-dir",
                                        tpm_->WorkPath("state")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json info = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> certs;
  for (const auto& c : info["ek_certificates"]) certs[c["nv_index"].get<std::string>()] = c;
  ASSERT_EQ(certs.size(), 4u) << info["ek_certificates"].dump(2);
  EXPECT_THAT(certs["0x01c0000a"]["error"].get<std::string>(),
              HasSubstr("neither OWNERREAD nor AUTHREAD"));
  EXPECT_THAT(certs["0x01c00012"]["error"].get<std::string>(), HasSubstr("no DER certificate"));
  EXPECT_FALSE(certs["0x01c00002"].contains("error"));
  EXPECT_FALSE(certs["0x01c00016"].contains("error"));
  // The persistent EKs are still the certified ones.
  for (const auto& e : info["ek_publics"]) {
    if (e["slot"] == "rsa2048" || e["slot"] == "ecc-p384") {
      EXPECT_THAT(e["source"].get<std::string>(), HasSubstr("persistent"));
    }
  }
}

}  // namespace
}  // namespace bootgate::testing
