// The agent library on a raw swtpm socket (no resource manager): 1,000 consecutive quotes must
// not leak a single transient object or session (a leak ends in TPM_RC_OBJECT_MEMORY, 0x902,
// after three), failures must clean up as well, and the AK must survive a restart.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "attest/quote/quote_verifier.h"
#include "attest/tpm/pcr_selection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/agent.h"
#include "node-agent/tpm/ak.h"
#include "node-agent/tpm/ek.h"
#include "node-agent/tpm/pcr.h"
#include "node-agent/tpm/quote.h"
#include "node-agent/tpm/tss_error.h"
#include "tests/integration/swtpm_instance.h"

namespace bootgate::testing {
namespace {

using agent::Agent;
using agent::AgentOptions;
using attest::Bytes;
using ::testing::HasSubstr;

class AgentQuoteLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
    options_.tcti = tpm_->tcti();
    options_.state_dir = tpm_->WorkPath("agent-state");
  }

  std::unique_ptr<Agent> Connect() {
    auto a = Agent::Connect(options_);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? std::move(*a) : nullptr;
  }

  std::string LeftoverHandles() {
    std::string all;
    for (const char* cap : {"handles-transient", "handles-loaded-session"}) {
      auto run = tpm_->Tpm2({"tpm2_getcap", cap});
      EXPECT_TRUE(run.ok()) << run.status();
      if (run.ok()) all += run->out;
    }
    return all;
  }

  std::unique_ptr<SwtpmInstance> tpm_;
  AgentOptions options_;
};

TEST_F(AgentQuoteLoopTest, ThousandQuotesLeakNothing) {
  auto a = Connect();
  ASSERT_TRUE(a);
  auto selection = attest::ParsePcrSelectionSpec("sha256:0-9,11,14+sha1:0-7");
  ASSERT_TRUE(selection.ok());
  Bytes nonce(20, 0);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    nonce[0] = static_cast<uint8_t>(i);
    nonce[1] = static_cast<uint8_t>(i >> 8);
    auto q = a->Quote(nonce, *selection);
    ASSERT_TRUE(q.ok()) << "quote " << i << ": " << q.status();
    if (i % 250 == 0) {
      // Spot-check the evidence with the verifier core.
      attest::QuoteInput input;
      input.ak_public = q->ak_public;
      input.attest = q->quote.attest;
      input.signature = q->quote.signature;
      input.nonce = nonce;
      input.requested_selection = &*selection;
      input.pcr_values = &q->quote.pcrs;
      attest::QuoteResult result = attest::VerifyQuote(input);
      EXPECT_TRUE(result.verdict) << "quote " << i;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "1000 quotes in " << seconds << " s (" << seconds << " ms/quote)\n";
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_F(AgentQuoteLoopTest, FailuresFlushEverything) {
  auto a = Connect();
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->EnsureAk().ok());
  // Each failure happens after the EK session and the AK were loaded.
  for (int i = 0; i < 10; ++i) {
    auto bad = a->ActivateCredential(Bytes{0x00, 0x02, 0xaa, 0xbb}, Bytes{0x00, 0x01, 0x01});
    EXPECT_FALSE(bad.ok());
    auto inactive = a->Quote(Bytes(8, 1), *attest::ParsePcrSelectionSpec("sha512:0"));
    EXPECT_FALSE(inactive.ok());
    auto too_long = a->Quote(Bytes(65, 1), *attest::ParsePcrSelectionSpec("sha256:0"));
    EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(LeftoverHandles(), "");
  // And the TPM still has room for work.
  EXPECT_TRUE(a->Quote(Bytes(8, 2), *attest::ParsePcrSelectionSpec("sha256:0")).ok());
}

TEST_F(AgentQuoteLoopTest, AkSurvivesRestart) {
  Bytes name;
  {
    auto a = Connect();
    ASSERT_TRUE(a);
    auto ak = a->EnsureAk();
    ASSERT_TRUE(ak.ok()) << ak.status();
    name = ak->blob.name;
    EXPECT_EQ(ak->blob.parent_slot, "rsa2048");
  }
  auto b = Connect();
  ASSERT_TRUE(b);
  auto info = b->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  ASSERT_TRUE(info->ak.present);
  EXPECT_EQ(info->ak.blob.name, name);
  auto q = b->Quote(Bytes(16, 7), *attest::ParsePcrSelectionSpec("sha256:0-7"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->ak_name, name);
}

TEST_F(AgentQuoteLoopTest, PcrReadCoversSelectionsLargerThanOneCall) {
  auto conn = agent::TpmConnection::Open(tpm_->tcti());
  ASSERT_TRUE(conn.ok()) << conn.status();
  auto all = attest::ParsePcrSelectionSpec("sha256:all+sha1:all");
  ASSERT_TRUE(all.ok());
  // TPM2_PCR_Read returns at most 8 digests per call; 48 PCRs need 6.
  auto read = agent::ReadPcrs(**conn, *all);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->values[TPM2_ALG_SHA256].size(), 24u);
  EXPECT_EQ(read->values[TPM2_ALG_SHA1].size(), 24u);
  EXPECT_TRUE(read->consistent);
  // DRTM PCRs read all ones on swtpm, like the PC Client reset value.
  EXPECT_EQ(read->values[TPM2_ALG_SHA256][17], attest::PcrResetValue(TPM2_ALG_SHA256, 17));

  // PCR 12 (16 and 23 are "no increment" PCRs: extending them leaves pcrUpdateCounter alone).
  ASSERT_TRUE(agent::ExtendPcr(**conn, 12, {{TPM2_ALG_SHA256, Bytes(32, 0xab)}}).ok());
  auto after = agent::ReadPcrs(**conn, *all);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->update_counter, read->update_counter);
  EXPECT_NE(after->values[TPM2_ALG_SHA256][12], read->values[TPM2_ALG_SHA256][12]);
  EXPECT_EQ(after->values[TPM2_ALG_SHA1][12], read->values[TPM2_ALG_SHA1][12]);
}

TEST_F(AgentQuoteLoopTest, ExtendBetweenQuoteAndReadIsDetected) {
  // The layers under Agent::Quote, with an extend where a racing process would put it.
  auto conn = agent::TpmConnection::Open(tpm_->tcti());
  ASSERT_TRUE(conn.ok()) << conn.status();
  agent::TpmConnection& tpm = **conn;
  auto inventory = agent::ReadEkInventory(tpm, 1024);
  ASSERT_TRUE(inventory.ok()) << inventory.status();
  auto slot = agent::ResolveEkSlot("rsa", *inventory);
  ASSERT_TRUE(slot.ok());
  auto ek = agent::LoadEk(tpm, **slot, *inventory);
  ASSERT_TRUE(ek.ok()) << ek.status();
  auto blob = agent::CreateAk(tpm, *ek, agent::AkAlg::kEccP256);
  ASSERT_TRUE(blob.ok()) << blob.status();
  auto ak = agent::LoadAk(tpm, *ek, *blob);
  ASSERT_TRUE(ak.ok()) << ak.status();

  const auto selection = *attest::ParsePcrSelectionSpec("sha256:0-15+sha1:0-15");
  auto quote = agent::TakeQuote(tpm, ak->get(), Bytes(8, 9), selection);
  ASSERT_TRUE(quote.ok()) << quote.status();
  auto unchanged = agent::ReadQuotedPcrs(tpm, *quote);
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_TRUE(unchanged->matches);

  ASSERT_TRUE(agent::ExtendPcr(tpm, 10, {{TPM2_ALG_SHA1, Bytes(20, 1)}}).ok());
  auto raced = agent::ReadQuotedPcrs(tpm, *quote);
  ASSERT_TRUE(raced.ok()) << raced.status();
  EXPECT_FALSE(raced->matches);

  // The retrying entry point takes a fresh pair.
  auto retaken = agent::QuoteAndReadPcrs(tpm, ak->get(), Bytes(8, 9), selection, 3);
  ASSERT_TRUE(retaken.ok()) << retaken.status();
  EXPECT_EQ(retaken->attempts, 1);
  EXPECT_EQ(retaken->pcrs[TPM2_ALG_SHA1][10], raced->values[TPM2_ALG_SHA1][10]);
}

}  // namespace
}  // namespace bootgate::testing
