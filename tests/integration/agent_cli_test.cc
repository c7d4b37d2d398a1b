// bootgate-agent against a real software TPM: `info` (EK certificates that chain to the run's CA),
// `quote` (files accepted by `bootgate quote verify` and by tpm2_checkquote, a wrong nonce
// rejected), the AK kept across restarts, and the distinct exit codes for no TPM, an unreachable
// TCTI, lockout and authorization failures.
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attest/crypto/ossl.h"
#include "attest/pcr/pcr_json.h"
#include "attest/tpm/public_area.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/swtpm_instance.h"
#include "tests/testing/test_util.h"

namespace bootgate::testing {
namespace {

using attest::Bytes;
using ::testing::HasSubstr;

constexpr char kNonce[] = "5eed0123456789abcdef0123456789ab";
constexpr char kSelection[] = "sha256:0-9,11,14+sha1:0-7";

Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot read " << path;
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string ReadText(const std::string& path) {
  const Bytes b = ReadFile(path);
  return std::string(b.begin(), b.end());
}

struct X509StoreDeleter {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct X509StoreCtxDeleter {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

class AgentCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BOOTGATE_REQUIRE_SWTPM();
    auto started = SwtpmInstance::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    tpm_ = std::move(*started);
    state_dir_ = tpm_->WorkPath("agent-state");
  }

  // Runs bootgate-agent COMMAND against this test's TPM and state directory.
  CommandResult Agent(const std::string& command, std::vector<std::string> args) {
    args.insert(args.begin(), {command, "--tcti", tpm_->tcti(), "--state-dir", state_dir_});
    return RunBinary("bootgate-agent", args);
  }

  CommandResult Quote(const std::string& out, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--nonce", kNonce, "--pcrs",       kSelection,
                                     "--out",   out,    "--no-eventlog"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Agent("quote", args);
  }

  nlohmann::json InfoJson() {
    CommandResult r = Agent("info", {"--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }

  // The transient objects and sessions left in the TPM (tpm2_getcap output lines).
  std::string LeftoverHandles() {
    std::string all;
    for (const char* cap : {"handles-transient", "handles-loaded-session"}) {
      auto run = tpm_->Tpm2({"tpm2_getcap", cap});
      EXPECT_TRUE(run.ok()) << run.status();
      if (run.ok()) all += run->out;
    }
    return all;
  }

  void ExpectChainsToCa(const std::string& pem, const std::string& what) {
    std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    attest::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(cert) << what << ": not a PEM certificate";
    std::unique_ptr<X509_STORE, X509StoreDeleter> store(X509_STORE_new());
    ASSERT_EQ(X509_STORE_load_file(store.get(), tpm_->ca_bundle().c_str()), 1);
    std::unique_ptr<X509_STORE_CTX, X509StoreCtxDeleter> ctx(X509_STORE_CTX_new());
    ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr), 1);
    EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
        << what << ": " << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    EXPECT_EQ(sk_X509_num(X509_STORE_CTX_get0_chain(ctx.get())), 3) << "EK, intermediate, root";
  }

  std::unique_ptr<SwtpmInstance> tpm_;
  std::string state_dir_;
};

TEST_F(AgentCliTest, InfoReportsBothEkCertificatesChainingToTheRunsCa) {
  nlohmann::json info = InfoJson();
  EXPECT_EQ(info["tpm"]["manufacturer"], "IBM");
  EXPECT_EQ(info["active_pcr_banks"], nlohmann::json({"sha1", "sha256"}));

  std::map<std::string, nlohmann::json> certs;
  for (const auto& c : info["ek_certificates"]) certs[c["nv_index"].get<std::string>()] = c;
  ASSERT_EQ(certs.size(), 2u) << info["ek_certificates"].dump(2);
  ASSERT_TRUE(certs.count("0x01c00002"));
  ASSERT_TRUE(certs.count("0x01c00016")) << "the high-range ECC P-384 certificate";
  EXPECT_EQ(certs["0x01c00002"]["slot"], "rsa2048");
  EXPECT_EQ(certs["0x01c00002"]["key"], "RSA-2048");
  EXPECT_EQ(certs["0x01c00016"]["slot"], "ecc-p384");
  EXPECT_EQ(certs["0x01c00016"]["key"], "EC-secp384r1");
  for (auto& [index, cert] : certs) {
    EXPECT_FALSE(cert.contains("error")) << cert.dump();
    EXPECT_THAT(cert["issuer"].get<std::string>(), HasSubstr("CN="));
    EXPECT_FALSE(cert["not_after"].get<std::string>().empty());
    ExpectChainsToCa(cert["pem"].get<std::string>(), index);
  }
  EXPECT_TRUE(info["ek_ca_chain"].empty());

  // Both EKs are the persistent ones, and they are the certified keys.
  std::map<std::string, nlohmann::json> eks;
  for (const auto& e : info["ek_publics"]) eks[e["slot"].get<std::string>()] = e;
  ASSERT_EQ(eks.size(), 2u) << info["ek_publics"].dump(2);
  EXPECT_EQ(eks["rsa2048"]["source"], "persistent 0x81010001");
  EXPECT_EQ(eks["ecc-p384"]["source"], "persistent 0x81010016");
  EXPECT_EQ(eks["rsa2048"]["matches_certificate"], true);
  EXPECT_EQ(eks["ecc-p384"]["matches_certificate"], true);
  EXPECT_EQ(eks["ecc-p384"]["key"], "ECC-P384");
  EXPECT_TRUE(info["ek_errors"].empty()) << info["ek_errors"].dump();

  EXPECT_EQ(info["ak"]["present"], false);
  EXPECT_EQ(LeftoverHandles(), "");

  CommandResult text = Agent("info", {});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("0x01c00016 (ecc-p384, H-3): EC-secp384r1"));
}

TEST_F(AgentCliTest, QuoteVerifiesWithBootgateAndTpm2Checkquote) {
  const std::string out = tpm_->WorkPath("quote");
  CommandResult q = Quote(out);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  for (const char* f : {"quote.msg", "quote.sig", "quote.pcrs", "pcrs.json", "ak.pub", "ak.pem",
                        "ak.name", "nonce"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  }
  EXPECT_EQ(absl::StripAsciiWhitespace(ReadText(out + "/nonce")), kNonce);
  auto pcrs = attest::ParsePcrValuesJson(ReadText(out + "/pcrs.json"));
  ASSERT_TRUE(pcrs.ok()) << pcrs.status();
  EXPECT_EQ((*pcrs)[TPM2_ALG_SHA256].size(), 12u);
  EXPECT_EQ((*pcrs)[TPM2_ALG_SHA1].size(), 8u);
  auto ak = attest::ParsePublicArea(ReadFile(out + "/ak.pub"));
  ASSERT_TRUE(ak.ok()) << ak.status();
  EXPECT_EQ(attest::ObjectName(*ak).value(), ReadFile(out + "/ak.name"));

  const std::vector<std::string> verify = {
      "quote",       "verify",           "--ak",   out + "/ak.pub",   "--quote", out + "/quote.msg",
      "--signature", out + "/quote.sig", "--pcrs", out + "/pcrs.json"};
  auto with_nonce = [&](const std::string& nonce) {
    std::vector<std::string> args = verify;
    args.insert(args.end(), {"--nonce", nonce, "--json"});
    return args;
  };
  CommandResult ok = RunBinary("bootgate", with_nonce(kNonce));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  nlohmann::json verdict = nlohmann::json::parse(ok.out, nullptr, false);
  ASSERT_FALSE(verdict.is_discarded()) << ok.out;
  CommandResult wrong = RunBinary("bootgate", with_nonce("5eed0123456789abcdef0123456789ac"));
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out << wrong.err;
  EXPECT_THAT(wrong.out, HasSubstr("nonce"));

  // tpm2_checkquote takes the AK as PEM; ak.pub (a TPM2B_PUBLIC) works too.
  for (const std::string& key : {out + "/ak.pem", out + "/ak.pub"}) {
    auto check = tpm_->RunTpm2({"tpm2_checkquote", "-u", key, "-m", out + "/quote.msg", "-s",
                                out + "/quote.sig", "-f", out + "/quote.pcrs", "-g", "sha256", "-q",
                                kNonce});
    ASSERT_TRUE(check.ok()) << check.status();
    EXPECT_EQ(check->exit_code, 0) << key << ": " << check->err;
    auto bad = tpm_->RunTpm2({"tpm2_checkquote", "-u", key, "-m", out + "/quote.msg", "-s",
                              out + "/quote.sig", "-f", out + "/quote.pcrs", "-g", "sha256", "-q",
                              "5eed0123456789abcdef0123456789ac"});
    ASSERT_TRUE(bad.ok()) << bad.status();
    EXPECT_NE(bad->exit_code, 0) << key << ": a wrong nonce must be rejected";
  }
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_F(AgentCliTest, QuotePcrsFileIsByteIdenticalToTpm2Quote) {
  const std::string out = tpm_->WorkPath("quote");
  ASSERT_EQ(Quote(out).exit_code, 0);
  // Same selection quoted by tpm2-tools with its own AK: the PCR file format must not differ.
  ASSERT_TRUE(tpm_->Tpm2({"tpm2_createak", "-C", "0x81010001", "-c", "tools_ak.ctx", "-G", "rsa",
                          "-g", "sha256", "-s", "rsassa"})
                  .ok());
  auto quote =
      tpm_->Tpm2({"tpm2_quote", "-c", "tools_ak.ctx", "-l",
                  "sha256:0,1,2,3,4,5,6,7,8,9,11,14+sha1:0,1,2,3,4,5,6,7", "-q", kNonce, "-m",
                  "tools.msg", "-s", "tools.sig", "-o", "tools.pcrs", "-g", "sha256"});
  ASSERT_TRUE(quote.ok()) << quote.status();
  EXPECT_TRUE(tpm_->FlushAll().ok());
  EXPECT_EQ(ReadFile(out + "/quote.pcrs"), ReadFile(tpm_->WorkPath("tools.pcrs")));
}

TEST_F(AgentCliTest, EccAkQuotesVerify) {
  CommandResult ak = Agent("ak", {"--ak-alg", "ecc", "--json"});
  ASSERT_EQ(ak.exit_code, 0) << ak.err;
  nlohmann::json j = nlohmann::json::parse(ak.out);
  EXPECT_EQ(j["key"], "ECC-P256");
  EXPECT_EQ(j["attributes"],
            "fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign");

  const std::string out = tpm_->WorkPath("quote-ecc");
  CommandResult q = Quote(out, {"--ak-alg", "ecc"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  CommandResult ok = RunBinary("bootgate", {"quote", "verify", "--ak", out + "/ak.pub", "--quote",
                                            out + "/quote.msg", "--signature", out + "/quote.sig",
                                            "--nonce", kNonce, "--pcrs", out + "/pcrs.json"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("ecdsa-sha256"));
  auto check =
      tpm_->RunTpm2({"tpm2_checkquote", "-u", out + "/ak.pem", "-m", out + "/quote.msg", "-s",
                     out + "/quote.sig", "-f", out + "/quote.pcrs", "-g", "sha256", "-q", kNonce});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->err;

  // An explicit request for the other algorithm does not silently use this AK.
  CommandResult rsa = Quote(tpm_->WorkPath("quote-rsa"), {"--ak-alg", "rsa"});
  EXPECT_EQ(rsa.exit_code, 1);
  EXPECT_THAT(rsa.err, HasSubstr("use another --state-dir"));
}

TEST_F(AgentCliTest, AkSurvivesAgentRestart) {
  CommandResult first = Agent("ak", {"--json"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string name = nlohmann::json::parse(first.out)["name"];
  for (const char* f : {"ak.pub", "ak.priv", "ak.name", "ak.parent"}) {
    struct stat st;
    ASSERT_EQ(stat((state_dir_ + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  struct stat dir_st;
  ASSERT_EQ(stat(state_dir_.c_str(), &dir_st), 0);
  EXPECT_EQ(dir_st.st_mode & 0777, 0700u);

  // New processes, same state directory: the same AK, loaded again rather than recreated.
  CommandResult second = Agent("ak", {"--json"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(nlohmann::json::parse(second.out)["name"], name);
  const std::string out = tpm_->WorkPath("quote");
  ASSERT_EQ(Quote(out).exit_code, 0);
  EXPECT_EQ(attest::HexEncode(ReadFile(out + "/ak.name")), name);
  EXPECT_EQ(InfoJson()["ak"]["name"], name);
  EXPECT_EQ(LeftoverHandles(), "");

  // A damaged state directory is reported, not silently replaced.
  std::ofstream(state_dir_ + "/ak.name", std::ios::trunc) << "garbage";
  CommandResult damaged = Agent("ak", {});
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_THAT(damaged.err, HasSubstr("is not the name of"));
}

TEST_F(AgentCliTest, EventLogsAreCopiedIntoTheQuoteDirectory) {
  const std::string log = TestDataPath("qemu/qemu-ovmf-directkernel/binary_bios_measurements");
  const std::string ima = TestDataPath("eventlogs/keylime__binary_bios_measurements");
  const std::string out = tpm_->WorkPath("quote");
  CommandResult q = Agent("quote", {"--nonce", kNonce, "--pcrs", "sha256:0", "--out", out,
                                    "--eventlog", log, "--ima-log", ima, "--json"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(ReadFile(out + "/eventlog.bin"), ReadFile(log));
  EXPECT_EQ(ReadFile(out + "/ima.log"), ReadFile(ima));
  EXPECT_THAT(nlohmann::json::parse(q.out)["files"].dump(), HasSubstr("eventlog.bin"));

  CommandResult missing = Agent("quote", {"--nonce", kNonce, "--pcrs", "sha256:0", "--out", out,
                                          "--eventlog", tpm_->WorkPath("no-such-log")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no-such-log"));
}

TEST_F(AgentCliTest, ConfigFileSuppliesTctiAndStateDir) {
  const std::string config = tpm_->WorkPath("agent.json");
  std::ofstream(config) << nlohmann::json({{"tcti", tpm_->tcti()}, {"state_dir", state_dir_}});
  CommandResult r = RunBinary("bootgate-agent", {"ak", "--config", config, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["state_dir"], state_dir_);

  std::ofstream(config, std::ios::trunc) << R"({"tcti": "x", "colour": "blue"})";
  CommandResult bad = RunBinary("bootgate-agent", {"info", "--config", config});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("colour"));
}

TEST_F(AgentCliTest, RejectsBadRequestsWithUsageErrors) {
  const std::string out = tpm_->WorkPath("q");
  auto quote = [&](const std::string& nonce, const std::string& pcrs) {
    return Agent("quote", {"--nonce", nonce, "--pcrs", pcrs, "--out", out, "--no-eventlog"});
  };
  EXPECT_EQ(quote("abc", "sha256:0").exit_code, 2);                  // odd-length hex
  EXPECT_EQ(quote(std::string(130, 'a'), "sha256:0").exit_code, 2);  // 65 bytes
  EXPECT_EQ(quote(kNonce, "sha256:0-24").exit_code, 2);
  CommandResult inactive = quote(kNonce, "sha384:0");
  EXPECT_EQ(inactive.exit_code, 1);
  EXPECT_THAT(inactive.err, HasSubstr("sha384 is not active"));
  EXPECT_EQ(Agent("quote", {"--nonce", kNonce}).exit_code, 2);
  EXPECT_EQ(Agent("info", {"extra"}).exit_code, 2);
  EXPECT_EQ(RunBinary("bootgate-agent", {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_F(AgentCliTest, HelpDocumentsEveryCommandAndTheExitCodes) {
  CommandResult top = RunBinary("bootgate-agent", {"--help"});
  EXPECT_EQ(top.exit_code, 0);
  for (const char* c : {"info", "ak", "quote", "activate"}) {
    EXPECT_THAT(top.out, HasSubstr(c));
    CommandResult help = RunBinary("bootgate-agent", {c, "--help"});
    EXPECT_EQ(help.exit_code, 0) << c;
    EXPECT_THAT(help.out, HasSubstr(absl::StrCat("Usage: bootgate-agent ", c))) << c;
    EXPECT_THAT(help.out, HasSubstr("--tcti")) << c;
  }
  for (const char* code : {"3  no TPM", "4  the TCTI", "5  the TPM is in dictionary-attack",
                           "6  the TPM rejected an authorization"}) {
    EXPECT_THAT(top.out, HasSubstr(code));
  }
}

TEST_F(AgentCliTest, NoTpmAndUnreachableTctiHaveTheirOwnExitCodes) {
  CommandResult no_tpm =
      RunBinary("bootgate-agent", {"info", "--tcti", "device:" + tpm_->WorkPath("no-tpm-here")});
  EXPECT_EQ(no_tpm.exit_code, 3) << no_tpm.err;
  EXPECT_THAT(no_tpm.err, HasSubstr("no TPM"));

  const std::string tcti = tpm_->tcti();
  ASSERT_TRUE(tpm_->Stop().ok());
  CommandResult gone = RunBinary("bootgate-agent", {"info", "--tcti", tcti});
  EXPECT_EQ(gone.exit_code, 4) << gone.err;
  EXPECT_THAT(gone.err, HasSubstr("cannot reach the TPM"));
  // One line, no tpm2-tss log noise.
  EXPECT_EQ(std::count(gone.err.begin(), gone.err.end(), '\n'), 1) << gone.err;
}

TEST_F(AgentCliTest, LockoutHasItsOwnExitCode) {
  ASSERT_EQ(Agent("ak", {}).exit_code, 0);
  // One failed authorization of a DA-protected key (a password-protected primary) with maxTries 1
  // puts the TPM in lockout; the AK is DA-protected too, so the quote's authorization fails.
  ASSERT_TRUE(
      tpm_->Tpm2({"tpm2_dictionarylockout", "-s", "-n", "1", "-t", "600", "-l", "600"}).ok());
  ASSERT_TRUE(tpm_->Tpm2({"tpm2_createprimary", "-C", "o", "-p", "pw", "-c", "p.ctx"}).ok());
  auto wrong =
      tpm_->RunTpm2({"tpm2_create", "-C", "p.ctx", "-P", "wrong", "-u", "k.pub", "-r", "k.priv"});
  ASSERT_TRUE(wrong.ok());
  ASSERT_NE(wrong->exit_code, 0);
  ASSERT_TRUE(tpm_->FlushAll().ok());
  auto props = tpm_->Tpm2({"tpm2_getcap", "properties-variable"});
  ASSERT_TRUE(props.ok());
  ASSERT_THAT(props->out, HasSubstr("inLockout:                 1"));

  CommandResult q = Quote(tpm_->WorkPath("quote"));
  EXPECT_EQ(q.exit_code, 5) << q.err;
  EXPECT_THAT(q.err, HasSubstr("lockout"));
  EXPECT_EQ(LeftoverHandles(), "");
}

TEST_F(AgentCliTest, AuthorizationFailureHasItsOwnExitCode) {
  // With an endorsement password the agent's PolicySecret(TPM_RH_ENDORSEMENT) (empty auth) fails.
  ASSERT_TRUE(tpm_->Tpm2({"tpm2_changeauth", "-c", "e", "not-empty"}).ok());
  CommandResult ak = Agent("ak", {});
  EXPECT_EQ(ak.exit_code, 6) << ak.err;
  EXPECT_THAT(ak.err, HasSubstr("TPM rejected the authorization"));
  EXPECT_EQ(LeftoverHandles(), "");
}

}  // namespace
}  // namespace bootgate::testing
