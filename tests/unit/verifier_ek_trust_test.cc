// EK certificate validation against a pinned bundle, with real swtpm EK certificates (critical
// TPM subjectAltName, empty-ish subject, EKU 2.23.133.8.1) from tests/data/qemu and generated
// ones for each rejection reason.
#include "verifier/enroll/ek_trust.h"

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"
#include "tests/verifier/verifier_env.h"
#include "verifier/codes.h"
#include "verifier/util/files.h"

namespace bootgate::verifier {
namespace {

using ::testing::HasSubstr;

attest::X509Ptr Der(const std::string& relative) {
  auto cert = ParseDerCertificate(testing::ReadTestData(relative), nullptr);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return cert.ok() ? *std::move(cert) : nullptr;
}

std::unique_ptr<EkTrustStore> SwtpmBundle() {
  std::vector<attest::X509Ptr> certs;
  for (const char* f : {"qemu/swtpm-localca-rootca-cert.pem", "qemu/issuercert.pem"}) {
    auto parsed = ParseCertificates(testing::ReadTestDataString(f), f);
    EXPECT_TRUE(parsed.ok());
    for (auto& c : *parsed) certs.push_back(std::move(c));
  }
  auto store = EkTrustStore::FromCertificates(std::move(certs));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// The swtpm certificates were made on 2026-11-22 and are valid until 9999.
const absl::Time kAfterIssue = absl::FromCivil(absl::CivilDay(2026, 12, 1), absl::UTCTimeZone());

TEST(EkTrustTest, RealSwtpmEkCertificatesVerify) {
  auto bundle = SwtpmBundle();
  ASSERT_NE(bundle, nullptr);
  EXPECT_EQ(bundle->roots(), 1u);
  EXPECT_EQ(bundle->intermediates(), 1u);
  for (const char* f : {"qemu/qemu-ovmf-directkernel/ek-rsa-cert.der",
                        "qemu/qemu-ovmf-directkernel/ek-ecc-cert.der"}) {
    attest::X509Ptr ek = Der(f);
    ASSERT_NE(ek, nullptr);
    EkCertVerdict v = bundle->Verify(ek.get(), {}, kAfterIssue);
    EXPECT_TRUE(v.trusted()) << f << ": " << v.code << " " << v.detail;
    EXPECT_EQ(v.tpm.manufacturer, "id:00001014");
    EXPECT_EQ(v.tpm.model, "swtpm");
    EXPECT_THAT(v.chain, HasSubstr("swtpm-localca-rootca"));
  }
}

TEST(EkTrustTest, IntermediateFromTheAgentIsUsedForPathBuilding) {
  std::vector<attest::X509Ptr> roots;
  auto root =
      ParseCertificates(testing::ReadTestDataString("qemu/swtpm-localca-rootca-cert.pem"), "root");
  roots.push_back(std::move(root->front()));
  auto bundle = EkTrustStore::FromCertificates(std::move(roots));
  ASSERT_TRUE(bundle.ok());
  attest::X509Ptr ek = Der("qemu/qemu-ovmf-directkernel/ek-rsa-cert.der");
  EXPECT_EQ((*bundle)->Verify(ek.get(), {}, kAfterIssue).code, codes::kEnrollEkChainUntrusted);
  std::vector<attest::X509Ptr> from_agent;
  auto inter = ParseCertificates(testing::ReadTestDataString("qemu/issuercert.pem"), "inter");
  from_agent.push_back(std::move(inter->front()));
  EXPECT_TRUE((*bundle)->Verify(ek.get(), from_agent, kAfterIssue).trusted());
}

TEST(EkTrustTest, AnIntermediateAloneIsNotATrustAnchor) {
  std::vector<attest::X509Ptr> certs;
  auto inter = ParseCertificates(testing::ReadTestDataString("qemu/issuercert.pem"), "inter");
  certs.push_back(std::move(inter->front()));
  auto bundle = EkTrustStore::FromCertificates(std::move(certs));
  EXPECT_EQ(bundle.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bundle.status().message()), HasSubstr("no self-signed root"));
}

TEST(EkTrustTest, ValidityUsesTheInjectedTime) {
  auto bundle = SwtpmBundle();
  attest::X509Ptr ek = Der("qemu/qemu-ovmf-directkernel/ek-rsa-cert.der");
  const absl::Time before = absl::FromCivil(absl::CivilDay(2026, 1, 1), absl::UTCTimeZone());
  EkCertVerdict v = bundle->Verify(ek.get(), {}, before);
  EXPECT_EQ(v.code, codes::kEnrollEkNotYetValid) << v.detail;
}

TEST(EkTrustTest, UnknownCaExpiredNoEkuNoSan) {
  const absl::Time now = absl::Now();
  auto ca = testing::EkCa::Create("unit", now);
  auto stranger = testing::EkCa::Create("stranger", now);
  ASSERT_TRUE(ca.ok() && stranger.ok());
  std::vector<attest::X509Ptr> certs;
  certs.push_back(attest::X509Ptr(X509_dup(ca->root())));
  certs.push_back(attest::X509Ptr(X509_dup(ca->intermediate())));
  auto bundle = EkTrustStore::FromCertificates(std::move(certs));
  ASSERT_TRUE(bundle.ok());
  auto key = GenerateRsaKey(2048);
  ASSERT_TRUE(key.ok());

  auto good = ca->IssueEkCert(key->get(), now);
  EkCertVerdict ok = (*bundle)->Verify(good->get(), {}, now);
  EXPECT_TRUE(ok.trusted()) << ok.detail;
  EXPECT_EQ(ok.tpm.manufacturer, "id:54455354");

  auto foreign = stranger->IssueEkCert(key->get(), now);
  EXPECT_EQ((*bundle)->Verify(foreign->get(), {}, now).code, codes::kEnrollEkChainUntrusted);

  EXPECT_EQ((*bundle)->Verify(good->get(), {}, now + absl::Hours(24 * 400)).code,
            codes::kEnrollEkExpired);

  testing::EkCa::EkCertOptions no_eku;
  no_eku.ek_eku = false;
  auto without_eku = ca->IssueEkCert(key->get(), now, no_eku);
  EXPECT_EQ((*bundle)->Verify(without_eku->get(), {}, now).code, codes::kEnrollEkEkuMissing);

  testing::EkCa::EkCertOptions no_san;
  no_san.tpm_san = false;
  auto without_san = ca->IssueEkCert(key->get(), now, no_san);
  EXPECT_EQ((*bundle)->Verify(without_san->get(), {}, now).code, codes::kEnrollEkSanMissing);
}

TEST(EkTrustTest, BundleFromADirectory) {
  const std::string dir = testing::MakeTempDir("ekca");
  ASSERT_TRUE(WriteNewFile(dir + "/root.pem",
                           testing::ReadTestDataString("qemu/swtpm-localca-rootca-cert.pem"))
                  .ok());
  ASSERT_TRUE(
      WriteNewFile(dir + "/inter.crt", testing::ReadTestDataString("qemu/issuercert.pem")).ok());
  ASSERT_TRUE(WriteNewFile(dir + "/README", "not a certificate").ok());
  auto bundle = EkTrustStore::Load(dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ((*bundle)->roots(), 1u);
  EXPECT_EQ((*bundle)->intermediates(), 1u);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(EkTrustStore::Load(dir).ok());
}

TEST(EkTrustTest, NvPaddingIsAcceptedOtherTrailingBytesAreNot) {
  attest::Bytes der = testing::ReadTestData("qemu/qemu-ovmf-directkernel/ek-rsa-cert.der");
  attest::Bytes padded = der;
  padded.resize(der.size() + 100, 0);
  size_t padding = 0;
  ASSERT_TRUE(ParseDerCertificate(padded, &padding).ok());
  EXPECT_EQ(padding, 100u);
  padded.back() = 1;
  EXPECT_THAT(std::string(ParseDerCertificate(padded, nullptr).status().message()),
              HasSubstr("trailing bytes"));
}

}  // namespace
}  // namespace bootgate::verifier
