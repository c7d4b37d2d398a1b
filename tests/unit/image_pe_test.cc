// PE/COFF parsing (one test per rejection), Authenticode hashing rules and systemd-stub PCR 11
// prediction on small synthetic images. Agreement with pesign and systemd-measure on real Debian
// binaries is in tests/image/debian_efi_test.cc.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "attest/crypto/hash.h"
#include "attest/image/authenticode.h"
#include "attest/image/pe_image.h"
#include "attest/image/uki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/pe_builder.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::BuildPe;
using ::bootgate::testing::kCoffOffset;
using ::bootgate::testing::kOptCheckSumOffset;
using ::bootgate::testing::kOptOffset;
using ::bootgate::testing::kOptSizeOfHeadersOffset;
using ::bootgate::testing::PeDataDirectoryOffset;
using ::bootgate::testing::PeSectionTableOffset;
using ::bootgate::testing::PeSpec;
using ::bootgate::testing::PutU16;
using ::bootgate::testing::PutU32;
using ::testing::HasSubstr;

constexpr uint16_t kSha1 = static_cast<uint16_t>(HashAlg::kSha1);
constexpr uint16_t kSha256 = static_cast<uint16_t>(HashAlg::kSha256);
constexpr uint16_t kSha384 = static_cast<uint16_t>(HashAlg::kSha384);

Bytes Filled(size_t n, uint8_t v) { return Bytes(n, v); }

PeSpec TwoSectionSpec() {
  PeSpec spec;
  spec.sections = {{".text", Filled(700, 0xC3)}, {".data", Filled(100, 0x11)}};
  spec.trailing = ToBytes("trailing!");
  spec.certificate = Filled(64, 0xCE);
  return spec;
}

void ExpectRejected(const Bytes& file, const std::string& message) {
  auto image = ParsePeImage(file);
  ASSERT_FALSE(image.ok()) << "accepted; expected: " << message;
  EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(image.status().message()), HasSubstr(message));
}

TEST(PeImageTest, ParsesPe32PlusWithSectionsAndCertificateTable) {
  PeSpec spec = TwoSectionSpec();
  Bytes file = BuildPe(spec);
  auto image = ParsePeImage(file);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->optional_header_magic, kPe32PlusMagic);
  EXPECT_EQ(image->machine, 0x8664);
  EXPECT_EQ(image->size_of_headers, 0x200u);
  EXPECT_EQ(image->checksum_offset, kOptCheckSumOffset);
  ASSERT_TRUE(image->certificate_entry_offset.has_value());
  EXPECT_EQ(*image->certificate_entry_offset, PeDataDirectoryOffset(spec, 4));
  ASSERT_EQ(image->sections.size(), 2u);
  EXPECT_EQ(image->sections[0].name, ".text");
  EXPECT_EQ(image->sections[0].virtual_size, 700u);
  EXPECT_EQ(image->sections[0].size_of_raw_data, 0x400u);
  EXPECT_EQ(image->sections[1].pointer_to_raw_data, 0x600u);
  ASSERT_TRUE(image->CertificateTable().has_value());
  EXPECT_EQ(image->CertificateTable()->size, 64u);
  EXPECT_EQ(FindPeSections(*image, ".data").size(), 1u);
}

TEST(PeImageTest, ParsesPe32) {
  PeSpec spec = TwoSectionSpec();
  spec.pe32_plus = false;
  auto image = ParsePeImage(BuildPe(spec));
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->optional_header_magic, kPe32Magic);
  EXPECT_EQ(image->number_of_rva_and_sizes, 16u);
}

TEST(PeImageTest, ResolvesLongSectionNamesFromTheStringTable) {
  PeSpec spec = TwoSectionSpec();
  spec.certificate.clear();
  Bytes file = BuildPe(spec);
  // A COFF string table after an empty symbol table: size, then ".vendor_cert\0".
  const size_t table = file.size();
  const std::string names = ".vendor_cert";
  file.resize(table + 4);
  PutU32(file, table, static_cast<uint32_t>(4 + names.size() + 1));
  file.insert(file.end(), names.begin(), names.end());
  file.push_back(0);
  PutU32(file, kCoffOffset + 8, static_cast<uint32_t>(table));  // PointerToSymbolTable
  const size_t header = PeSectionTableOffset(spec);
  std::fill(file.begin() + header, file.begin() + header + 8, 0);
  file[header] = '/';
  file[header + 1] = '4';
  file[header + 40] = '/';  // "/99" points outside the table: stays raw
  file[header + 41] = '9';
  file[header + 42] = '9';
  file[header + 43] = 0;
  auto image = ParsePeImage(file);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_EQ(image->sections[0].raw_name, "/4");
  EXPECT_EQ(image->sections[0].name, ".vendor_cert");
  EXPECT_EQ(image->sections[1].name, "/99");
  EXPECT_EQ(FindPeSections(*image, ".vendor_cert").size(), 1u);
}

TEST(PeImageRejects, TruncatedDosHeader) {
  Bytes file = BuildPe(TwoSectionSpec());
  file.resize(40);
  ExpectRejected(file, "DOS header: truncated");
}

TEST(PeImageRejects, BadMzMagic) {
  Bytes file = BuildPe(TwoSectionSpec());
  file[0] = 'Z';
  ExpectRejected(file, "bad e_magic");
}

TEST(PeImageRejects, ElfanewBeyondFile) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU32(file, 0x3C, 0x7FFFFFF0);
  ExpectRejected(file, "e_lfanew: offset 2147483632 beyond end of file");
}

TEST(PeImageRejects, BadPeSignature) {
  Bytes file = BuildPe(TwoSectionSpec());
  file[bootgate::testing::kPeOffset + 1] = 'X';
  ExpectRejected(file, "bad PE signature");
}

TEST(PeImageRejects, TruncatedCoffHeader) {
  Bytes file = BuildPe(TwoSectionSpec());
  const size_t at = file.size() - 6;  // "PE\0\0" + Machine, then the file ends
  PutU32(file, 0x3C, static_cast<uint32_t>(at));
  file[at] = 'P';
  file[at + 1] = 'E';
  file[at + 2] = 0;
  file[at + 3] = 0;
  ExpectRejected(file, "COFF header NumberOfSections: truncated");
}

TEST(PeImageRejects, TooManySections) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU16(file, kCoffOffset + 2, 97);
  ExpectRejected(file, "NumberOfSections 97 exceeds cap 96");
}

TEST(PeImageRejects, TruncatedOptionalHeader) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU16(file, kCoffOffset + 16, 0xFFFF);
  file.resize(0x300);
  ExpectRejected(file, "optional header: truncated");
}

TEST(PeImageRejects, BadOptionalHeaderMagic) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU16(file, kOptOffset, 0x107);
  ExpectRejected(file, "optional header Magic 0x107 is neither PE32");
}

TEST(PeImageRejects, OptionalHeaderTooSmallForRvaCount) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU16(file, kCoffOffset + 16, 100);
  ExpectRejected(file, "SizeOfOptionalHeader 100 too small for NumberOfRvaAndSizes");
}

TEST(PeImageRejects, TooManyDataDirectories) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU32(file, kOptOffset + 108, 17);
  ExpectRejected(file, "NumberOfRvaAndSizes 17 exceeds cap 16");
}

TEST(PeImageRejects, OptionalHeaderTooSmallForDataDirectories) {
  PeSpec spec = TwoSectionSpec();
  spec.number_of_rva_and_sizes = 6;
  Bytes file = BuildPe(spec);
  PutU32(file, kOptOffset + 108, 16);
  ExpectRejected(file, "too small for 16 data directories");
}

TEST(PeImageRejects, SectionTableBeyondFile) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU16(file, kCoffOffset + 2, 96);
  file.resize(PeSectionTableOffset(TwoSectionSpec()) + 40 * 10);
  ExpectRejected(file, "section table (96 sections) ends at offset");
}

TEST(PeImageRejects, SizeOfHeadersBeyondFile) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU32(file, kOptSizeOfHeadersOffset, static_cast<uint32_t>(file.size() + 1));
  ExpectRejected(file, "SizeOfHeaders");
}

TEST(PeImageRejects, SectionTableBeyondSizeOfHeaders) {
  Bytes file = BuildPe(TwoSectionSpec());
  PutU32(file, kOptSizeOfHeadersOffset, 0x100);
  ExpectRejected(file, "beyond SizeOfHeaders 256");
}

TEST(PeImageRejects, SectionRawDataBeyondFile) {
  Bytes file = BuildPe(TwoSectionSpec());
  // Second section header: PointerToRawData.
  PutU32(file, PeSectionTableOffset(TwoSectionSpec()) + 40 + 20, 0xFFFFFF00);
  ExpectRejected(file, "section 1 (\".data\") raw data at offset 4294967040");
}

TEST(PeImageRejects, CertificateTableBeyondFile) {
  PeSpec spec = TwoSectionSpec();
  Bytes file = BuildPe(spec);
  PutU32(file, PeDataDirectoryOffset(spec, 4) + 4, 0x10000);
  ExpectRejected(file, "Certificate Table at offset");
}

TEST(PeImageRejects, CertificateTableOverlapsHeaders) {
  PeSpec spec = TwoSectionSpec();
  Bytes file = BuildPe(spec);
  PutU32(file, PeDataDirectoryOffset(spec, 4), 0x10);
  ExpectRejected(file, "overlaps the headers");
}

// The Authenticode byte stream, written out independently of the implementation for this layout.
Bytes ExpectedAuthenticodeStream(const Bytes& file, const PeSpec& spec, size_t sections_end) {
  const size_t cert_entry = PeDataDirectoryOffset(spec, 4);
  const size_t cert_size = spec.certificate.size();
  Bytes s(file.begin(), file.begin() + kOptCheckSumOffset);
  s.insert(s.end(), file.begin() + kOptCheckSumOffset + 4, file.begin() + cert_entry);
  s.insert(s.end(), file.begin() + cert_entry + 8, file.begin() + sections_end);
  // Trailing data: everything up to the certificate table (including alignment padding).
  s.insert(s.end(), file.begin() + sections_end, file.end() - cert_size);
  return s;
}

TEST(AuthenticodeTest, HashesHeadersSectionsAndTrailingDataWithoutChecksumAndCertificate) {
  PeSpec spec = TwoSectionSpec();
  Bytes file = BuildPe(spec);
  const size_t sections_end = 0x200 + 0x400 + 0x200;
  Bytes stream = ExpectedAuthenticodeStream(file, spec, sections_end);
  const uint16_t algs[] = {kSha256, kSha1, kSha384};
  auto d = AuthenticodeDigests(file, algs);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 3u);
  for (const EventDigest& e : *d) {
    auto want = Hash(e.alg, stream);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(HexEncode(e.digest), HexEncode(*want)) << HashAlgName(e.alg);
  }
  EXPECT_EQ((*d)[0].alg, kSha256);
}

TEST(AuthenticodeTest, IgnoresChecksumCertificateEntryAndCertificate) {
  PeSpec spec = TwoSectionSpec();
  Bytes file = BuildPe(spec);
  auto base = AuthenticodeDigest(file, kSha256);
  ASSERT_TRUE(base.ok()) << base.status();
  Bytes changed = file;
  PutU32(changed, kOptCheckSumOffset, 0xDEADBEEF);
  changed[changed.size() - 1] ^= 0xFF;  // inside the certificate
  auto d = AuthenticodeDigest(changed, kSha256);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, *base);
  changed[0x300] ^= 0xFF;  // inside .text
  d = AuthenticodeDigest(changed, kSha256);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_NE(*d, *base);
}

TEST(AuthenticodeTest, SortsSectionsByFileOffset) {
  PeSpec spec = TwoSectionSpec();
  spec.certificate.clear();
  spec.trailing.clear();
  Bytes file = BuildPe(spec);
  // Swap the two section headers: same bytes hashed in the same file order.
  const size_t table = PeSectionTableOffset(spec);
  Bytes swapped = file;
  std::copy(file.begin() + table, file.begin() + table + 40, swapped.begin() + table + 40);
  std::copy(file.begin() + table + 40, file.begin() + table + 80, swapped.begin() + table);
  // The headers differ, so compare against the stream with the swapped headers.
  Bytes stream(swapped.begin(), swapped.begin() + kOptCheckSumOffset);
  stream.insert(stream.end(), swapped.begin() + kOptCheckSumOffset + 4,
                swapped.begin() + PeDataDirectoryOffset(spec, 4));
  stream.insert(stream.end(), swapped.begin() + PeDataDirectoryOffset(spec, 4) + 8, swapped.end());
  auto d = AuthenticodeDigest(swapped, kSha256);
  ASSERT_TRUE(d.ok()) << d.status();
  auto want = Hash(kSha256, stream);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(*d, *want);
}

TEST(AuthenticodeTest, FewerThanFiveDataDirectoriesHashWholeHeaders) {
  PeSpec spec = TwoSectionSpec();
  spec.number_of_rva_and_sizes = 2;  // no Certificate Table entry
  spec.certificate.clear();
  Bytes file = BuildPe(spec);
  auto image = ParsePeImage(file);
  ASSERT_TRUE(image.ok()) << image.status();
  EXPECT_FALSE(image->certificate_entry_offset.has_value());
  Bytes stream(file.begin(), file.begin() + kOptCheckSumOffset);
  stream.insert(stream.end(), file.begin() + kOptCheckSumOffset + 4, file.end());
  auto d = AuthenticodeDigest(file, kSha256);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, *Hash(kSha256, stream));
}

TEST(AuthenticodeTest, RejectsDuplicateAndUnknownAlgorithms) {
  Bytes file = BuildPe(TwoSectionSpec());
  const uint16_t dup[] = {kSha256, kSha256};
  auto d = AuthenticodeDigests(file, dup);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("sha256 requested twice"));
  const uint16_t unknown[] = {0x0999};
  d = AuthenticodeDigests(file, unknown);
  EXPECT_EQ(d.status().code(), absl::StatusCode::kUnimplemented);
}

// ---- UKI ------------------------------------------------------------------------------------

Bytes SdMagic(const std::string& version) {
  return ToBytes("#### LoaderInfo: systemd-stub " + version + " ####");
}

PeSpec UkiSpec(const std::string& version) {
  PeSpec spec;
  spec.sections = {{".text", Filled(64, 0x90)},    {".sdmagic", SdMagic(version)},
                   {".sbat", ToBytes("sbat,1\n")}, {".osrel", ToBytes("ID=debian\n")},
                   {".cmdline", ToBytes("quiet")}, {".linux", Filled(1000, 0x4C)},
                   {".initrd", Filled(300, 0x17)}};
  return spec;
}

Bytes Extend(uint16_t alg, const Bytes& pcr, ByteSpan data) {
  Bytes buf = pcr;
  Bytes d = *Hash(alg, data);
  buf.insert(buf.end(), d.begin(), d.end());
  return *Hash(alg, buf);
}

TEST(UkiTest, PredictsSystemd252SectionsInStubOrder) {
  Bytes file = BuildPe(UkiSpec("252.39-1~deb12u2"));
  auto uki = ParseUki(file);
  ASSERT_TRUE(uki.ok()) << uki.status();
  EXPECT_EQ(uki->stub_version, "252.39-1~deb12u2");
  EXPECT_EQ(uki->table, StubSectionTable::kSystemd252);
  const uint16_t algs[] = {kSha256, kSha1};
  auto p = PredictUkiPcr11(*uki, algs);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->sections.size(), 4u);  // .sbat is not measured by systemd 252
  EXPECT_EQ(p->sections[0].name, ".linux");
  EXPECT_EQ(p->sections[1].name, ".osrel");
  EXPECT_EQ(p->sections[2].name, ".cmdline");
  EXPECT_EQ(p->sections[3].name, ".initrd");
  Bytes pcr(32, 0);
  for (const auto& [name, contents] :
       std::vector<std::pair<std::string, Bytes>>{{".linux", Filled(1000, 0x4C)},
                                                  {".osrel", ToBytes("ID=debian\n")},
                                                  {".cmdline", ToBytes("quiet")},
                                                  {".initrd", Filled(300, 0x17)}}) {
    pcr = Extend(kSha256, pcr, AsSpan(absl::string_view(name.c_str(), name.size() + 1)));
    pcr = Extend(kSha256, pcr, contents);
  }
  EXPECT_EQ(HexEncode(p->pcr11[0].digest), HexEncode(pcr));
  EXPECT_EQ(p->pcr11[1].alg, kSha1);
  EXPECT_EQ(HexEncode(p->sections[0].name_digests[0].digest),
            HexEncode(*Hash(kSha256, AsSpan(absl::string_view(".linux\0", 7)))));
}

TEST(UkiTest, Systemd253MeasuresSbatAndUname) {
  Bytes file = BuildPe(UkiSpec("254.5-1"));
  auto uki = ParseUki(file);
  ASSERT_TRUE(uki.ok()) << uki.status();
  EXPECT_EQ(uki->table, StubSectionTable::kSystemd253);
  ASSERT_EQ(uki->sections.size(), 5u);
  EXPECT_EQ(uki->sections[4].first, ".sbat");
}

TEST(UkiTest, SectionMemoryIsZeroFilledToVirtualSize) {
  PeSpec spec = UkiSpec("252.39");
  spec.sections[4].virtual_size = 9;  // .cmdline "quiet" + 4 zero bytes
  auto uki = ParseUki(BuildPe(spec));
  ASSERT_TRUE(uki.ok()) << uki.status();
  ASSERT_NE(uki->Section(".cmdline"), nullptr);
  EXPECT_EQ(*uki->Section(".cmdline"), (Bytes{'q', 'u', 'i', 'e', 't', 0, 0, 0, 0}));
}

TEST(UkiTest, SectionWithZeroVirtualSizeIsAbsent) {
  PeSpec spec = UkiSpec("252.39");
  spec.sections[6].virtual_size = 0;
  auto uki = ParseUki(BuildPe(spec));
  ASSERT_TRUE(uki.ok()) << uki.status();
  EXPECT_EQ(uki->Section(".initrd"), nullptr);
}

TEST(UkiTest, ExplicitTableWithoutSdMagic) {
  PeSpec spec = UkiSpec("252");
  spec.sections.erase(spec.sections.begin() + 1);
  auto uki = ParseUki(BuildPe(spec), StubSectionTable::kSystemd252);
  ASSERT_TRUE(uki.ok()) << uki.status();
  EXPECT_EQ(uki->stub_version, "");
}

void ExpectUkiRejected(const Bytes& file, absl::StatusCode code, const std::string& message) {
  auto uki = ParseUki(file);
  ASSERT_FALSE(uki.ok());
  EXPECT_EQ(uki.status().code(), code);
  EXPECT_THAT(std::string(uki.status().message()), HasSubstr(message));
}

TEST(UkiRejects, NoSdMagicAndNoTable) {
  PeSpec spec = UkiSpec("252");
  spec.sections.erase(spec.sections.begin() + 1);
  ExpectUkiRejected(BuildPe(spec), absl::StatusCode::kInvalidArgument, "no .sdmagic section");
}

TEST(UkiRejects, UnsupportedStubVersion) {
  ExpectUkiRejected(BuildPe(UkiSpec("257.1")), absl::StatusCode::kUnimplemented,
                    "systemd-stub 257");
}

TEST(UkiRejects, UnreadableStubVersion) {
  ExpectUkiRejected(BuildPe(UkiSpec("v252")), absl::StatusCode::kInvalidArgument,
                    "cannot read the systemd-stub version");
}

TEST(UkiRejects, NotALoaderInfoString) {
  PeSpec spec = UkiSpec("252");
  spec.sections[1].data = ToBytes("hello");
  ExpectUkiRejected(BuildPe(spec), absl::StatusCode::kInvalidArgument,
                    ".sdmagic is not a systemd-stub LoaderInfo string");
}

TEST(UkiRejects, DuplicateSection) {
  PeSpec spec = UkiSpec("252.39");
  spec.sections.push_back({".linux", Filled(10, 1)});
  ExpectUkiRejected(BuildPe(spec), absl::StatusCode::kInvalidArgument,
                    "section .linux is ambiguous: 2 section headers match it");
}

TEST(UkiRejects, PrefixAmbiguousSection) {
  PeSpec spec = UkiSpec("252.39");
  spec.sections.push_back({".linuxX", Filled(10, 1)});
  ExpectUkiRejected(BuildPe(spec), absl::StatusCode::kInvalidArgument, "(.linux, .linuxX)");
}

TEST(UkiRejects, NoLinuxSection) {
  PeSpec spec = UkiSpec("252.39");
  spec.sections.erase(spec.sections.begin() + 5);
  ExpectUkiRejected(BuildPe(spec), absl::StatusCode::kInvalidArgument, "no .linux section");
}

TEST(UkiRejects, ZeroFillAboveCap) {
  PeSpec spec = UkiSpec("252.39");
  spec.sections[4].virtual_size = 0x200 + kMaxUkiZeroFillBytes + 1;  // .cmdline raw data: 0x200
  ExpectUkiRejected(BuildPe(spec), absl::StatusCode::kInvalidArgument,
                    "exceeds its raw data (512 bytes) by more than 1048576");
}

TEST(UkiRejects, NotAPeImage) {
  ExpectUkiRejected(ToBytes("not a PE file at all, long enough to pass the size check.........."),
                    absl::StatusCode::kInvalidArgument, "bad e_magic");
}

TEST(UkiPartsTest, RejectsUnmeasuredAndDuplicateSections) {
  const uint16_t algs[] = {kSha256};
  Bytes a = ToBytes("a");
  auto p =
      PredictPcr11FromParts({{".linux", a}, {".pcrsig", a}}, StubSectionTable::kSystemd252, algs);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr(".pcrsig is not measured"));
  p = PredictPcr11FromParts({{".uname", a}}, StubSectionTable::kSystemd252, algs);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr(".uname is not measured"));
  p = PredictPcr11FromParts({{".linux", a}, {".linux", a}}, StubSectionTable::kSystemd252, algs);
  EXPECT_THAT(std::string(p.status().message()), HasSubstr(".linux given twice"));
  p = PredictPcr11FromParts({{".linux", a}}, StubSectionTable::kSystemd252, {});
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("no banks requested"));
}

TEST(UkiPartsTest, PhasesExtendTheWordWithoutTerminator) {
  const uint16_t algs[] = {kSha256};
  Bytes a = ToBytes("kernel");
  auto p = PredictPcr11FromParts({{".linux", a}}, StubSectionTable::kSystemd252, algs);
  ASSERT_TRUE(p.ok()) << p.status();
  auto phased = ExtendPcr11Phases(p->pcr11, {"enter-initrd", "leave-initrd"});
  ASSERT_TRUE(phased.ok()) << phased.status();
  Bytes want = Extend(kSha256, p->pcr11[0].digest, AsSpan("enter-initrd"));
  want = Extend(kSha256, want, AsSpan("leave-initrd"));
  EXPECT_EQ((*phased)[0].digest, want);
}

}  // namespace
}  // namespace bootgate::attest
