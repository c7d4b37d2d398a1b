// Event-data decoders on real events, device-path rendering, and decoders fed malformed data.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/device_path.h"
#include "attest/eventlog/efi_types.h"
#include "attest/eventlog/event_data.h"
#include "attest/eventlog/event_log.h"
#include "attest/eventlog/event_render.h"
#include "attest/eventlog/event_types.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_util.h"

namespace bootgate::attest {
namespace {

using ::bootgate::testing::ReadTestData;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kShimGrub[] = "qemu/qemu-ovmf-secureboot-shim-grub/binary_bios_measurements";
constexpr char kUki[] = "qemu/qemu-ovmf-uki-systemdstub/binary_bios_measurements";
constexpr char kDirectKernel[] = "qemu/qemu-ovmf-directkernel/binary_bios_measurements";
constexpr char kKeylimeSb[] = "eventlogs/keylime__binary_bios_measurements-secureboot";
constexpr char kKeylime[] = "eventlogs/keylime__binary_bios_measurements";
constexpr char kSp800155[] = "eventlogs/go-tpm-tools__eventlogwithsp800155.bin";
constexpr char kSbCert[] = "eventlogs/go-attestation__sb_cert_eventlog";
constexpr char kGlinux[] = "eventlogs/go-tpm-tools__glinux-alex.bin";

UnverifiedEventLog MustParse(const std::string& path) {
  auto log = ParseEventLog(ReadTestData(path));
  EXPECT_TRUE(log.ok()) << path << ": " << log.status();
  return log.ok() ? *std::move(log) : UnverifiedEventLog{};
}

template <typename T>
T MustDecode(const Event& e) {
  absl::StatusOr<EventDetails> d = DecodeEventData(e);
  EXPECT_TRUE(d.ok()) << "event " << e.index << ": " << d.status();
  if (!d.ok() || !std::holds_alternative<T>(*d)) {
    ADD_FAILURE() << "event " << e.index << " decoded to another kind";
    return T{};
  }
  return std::get<T>(*std::move(d));
}

std::vector<const Event*> OfType(const UnverifiedEventLog& log, uint32_t type) {
  std::vector<const Event*> out;
  for (const Event& e : log.events) {
    if (e.type == type) out.push_back(&e);
  }
  return out;
}

std::string Str(absl::string_view s) { return std::string(s); }

// ---- Secure Boot variables -------------------------------------------------------------------

TEST(Decoders, DbAndDbxSignatureListsInTheSecureBootLog) {
  const UnverifiedEventLog log = MustParse(kKeylimeSb);
  auto db = MustDecode<UefiVariableEvent>(log.events[7]);
  EXPECT_EQ(db.variable.name, "db");
  EXPECT_EQ(db.variable.vendor, kEfiImageSecurityDatabaseGuid);
  ASSERT_TRUE(db.signature_lists.has_value());
  ASSERT_EQ(db.signature_lists->size(), 4u);
  std::vector<std::string> subjects;
  for (const auto& list : *db.signature_lists) {
    EXPECT_EQ(list.type, kEfiCertX509Guid);
    ASSERT_EQ(list.signatures.size(), 1u);
    EXPECT_EQ(GuidName(list.signatures[0].owner), "Microsoft");
    auto x509 = SummarizeX509(list.signatures[0].data);
    ASSERT_TRUE(x509.ok()) << x509.status();
    subjects.push_back(x509->subject);
  }
  EXPECT_THAT(subjects[0], HasSubstr("CN=Microsoft Windows Production PCA 2011"));
  EXPECT_THAT(subjects[1], HasSubstr("CN=Windows UEFI CA 2023"));

  auto dbx = MustDecode<UefiVariableEvent>(log.events[8]);
  EXPECT_EQ(dbx.variable.name, "dbx");
  ASSERT_TRUE(dbx.signature_lists.has_value());
  ASSERT_EQ(dbx.signature_lists->size(), 1u);
  const EfiSignatureList& hashes = (*dbx.signature_lists)[0];
  EXPECT_EQ(hashes.type, kEfiCertSha256Guid);
  EXPECT_EQ(hashes.signatures.size(), 371u);
  for (const auto& s : hashes.signatures) EXPECT_EQ(s.data.size(), 32u);
  EXPECT_EQ(DescribeEvent(log.events[8]),
            "dbx [EFI_IMAGE_SECURITY_DATABASE]: 1 signature list(s): EFI_CERT_SHA256 x371");
}

TEST(Decoders, SecureBootFlagAndPkKek) {
  const UnverifiedEventLog log = MustParse(kShimGrub);
  auto sb = MustDecode<UefiVariableEvent>(log.events[4]);
  EXPECT_EQ(sb.variable.name, "SecureBoot");
  EXPECT_EQ(sb.variable.vendor, kEfiGlobalVariableGuid);
  EXPECT_EQ(sb.flag, std::optional<uint8_t>(1));

  auto pk = MustDecode<UefiVariableEvent>(log.events[5]);
  ASSERT_TRUE(pk.signature_lists.has_value());
  auto x509 = SummarizeX509((*pk.signature_lists)[0].signatures[0].data);
  ASSERT_TRUE(x509.ok());
  EXPECT_EQ(x509->subject,
            "O=Debian, CN=Debian UEFI Secure Boot (PK/KEK key), "
            "emailAddress=debian-devel@lists.debian.org");
  EXPECT_EQ(x509->sha256_fingerprint.size(), 32u);
  EXPECT_THAT(x509->not_before, ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z"));

  // OVMF without enrolled keys: empty PK.
  auto empty_pk = MustDecode<UefiVariableEvent>(MustParse(kUki).events[5]);
  ASSERT_TRUE(empty_pk.signature_lists.has_value());
  EXPECT_TRUE(empty_pk.signature_lists->empty());
}

TEST(Decoders, VariableAuthorityEvents) {
  const UnverifiedEventLog log = MustParse(kShimGrub);
  // Firmware: the db entry that verified shim.
  auto db = MustDecode<UefiVariableEvent>(log.events[22]);
  EXPECT_EQ(db.variable.name, "db");
  ASSERT_TRUE(db.signature_data.has_value());
  EXPECT_EQ(GuidName(db.signature_data->owner), "Microsoft");
  EXPECT_THAT(Str(SummarizeX509(db.signature_data->data)->subject),
              HasSubstr("CN=Microsoft Corporation UEFI CA 2011"));
  // shim: SbatLevel is text, MokListRT is an EFI_SIGNATURE_DATA.
  auto sbat = MustDecode<UefiVariableEvent>(log.events[26]);
  EXPECT_EQ(sbat.variable.name, "SbatLevel");
  EXPECT_EQ(sbat.text, std::optional<std::string>("sbat,1,2025021800\\nshim,4\\ngrub,5\\n"));
  auto mok = MustDecode<UefiVariableEvent>(log.events[28]);
  EXPECT_EQ(mok.variable.name, "MokListRT");
  ASSERT_TRUE(mok.signature_data.has_value());
  EXPECT_EQ(mok.signature_data->owner, kShimLockGuid);
  EXPECT_EQ(SummarizeX509(mok.signature_data->data)->subject, "CN=Debian Secure Boot CA");
}

TEST(Decoders, ShimQuirksInTheSbCertLog) {
  const UnverifiedEventLog log = MustParse(kSbCert);
  // shim's own image loads: LengthOfDevicePath 0 and 9 bytes of struct padding.
  auto image = MustDecode<ImageLoadEvent>(log.events[11]);
  EXPECT_TRUE(image.device_path.empty());
  EXPECT_EQ(image.padding_bytes, 9u);
  EXPECT_EQ(image.image_length, 0u);
  // shim's "Shim" authority: a bare certificate with 6 bytes after VariableData.
  auto shim = MustDecode<UefiVariableEvent>(log.events[12]);
  EXPECT_EQ(shim.variable.name, "Shim");
  EXPECT_EQ(shim.variable.padding_bytes, 6u);
  ASSERT_TRUE(shim.certificate.has_value());
  EXPECT_THAT(SummarizeX509(*shim.certificate)->subject,
              HasSubstr("CN=Canonical Ltd. Master Certificate Authority"));
  // Strictness elsewhere: the same padding on a DRIVER_CONFIG variable is an error.
  Event e = log.events[12];
  e.type = kEvEfiVariableDriverConfig;
  auto strict = DecodeEventData(e);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(Str(strict.status().message()),
              HasSubstr("VariableDataLength 1080 but 1086 bytes follow the name"));
}

// ---- Boot variables and device paths -----------------------------------------------------------

TEST(Decoders, BootOrderAndLoadOptions) {
  const UnverifiedEventLog log = MustParse(kUki);
  auto order = MustDecode<UefiVariableEvent>(log.events[10]);
  EXPECT_EQ(order.variable.name, "BootOrder");
  ASSERT_TRUE(order.boot_order.has_value());
  EXPECT_THAT(*order.boot_order, ElementsAre(1, 0, 2));

  auto boot1 = MustDecode<UefiVariableEvent>(log.events[11]);
  ASSERT_TRUE(boot1.load_option.has_value());
  EXPECT_EQ(boot1.load_option->description, "UEFI Non-Block Boot Device");
  EXPECT_THAT(boot1.load_option->device_paths, ElementsAre("PciRoot(0x0)/Pci(0x2,0x0)"));
  EXPECT_EQ(boot1.load_option->attributes, 1u);
  EXPECT_EQ(boot1.load_option->optional_data.size(), 16u);

  auto ui = MustDecode<UefiVariableEvent>(log.events[12]);
  EXPECT_THAT(ui.load_option->device_paths,
              ElementsAre("Fv(7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1)/"
                          "FvFile(462caa21-7614-4503-836e-8ab6f4662331)"));
}

TEST(Decoders, LoadOptionWithTwoDevicePaths) {
  // A PXE option: the MAC/IPv4 path, then a vendor path (FilePathList holds both).
  const UnverifiedEventLog log = MustParse(kGlinux);
  auto pxe = MustDecode<UefiVariableEvent>(log.events[24]);
  ASSERT_TRUE(pxe.load_option.has_value());
  ASSERT_EQ(pxe.load_option->device_paths.size(), 2u);
  EXPECT_EQ(pxe.load_option->device_paths[0],
            "PciRoot(0x0)/Pci(0x1f,0x6)/MAC(a4ae1114f9e0,0x0)/"
            "IPv4(0.0.0.0,0x0,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)");
  EXPECT_THAT(pxe.load_option->device_paths[1], StartsWith("VenHw("));
}

TEST(Decoders, ImageLoadDevicePathsOfQemuBoots) {
  auto uki = MustDecode<ImageLoadEvent>(MustParse(kUki).events[22]);
  EXPECT_EQ(uki.device_path_text, "PciRoot(0x0)/Pci(0x2,0x0)/\\EFI\\BOOT\\BOOTX64.EFI");
  EXPECT_EQ(uki.image_location, 0x3cdf6018u);
  EXPECT_EQ(uki.image_length, 0x1186761u);
  // systemd-stub loads the kernel from memory through a vendor media path.
  auto kernel = MustDecode<ImageLoadEvent>(MustParse(kUki).events[31]);
  EXPECT_EQ(kernel.device_path_text, "VenMedia(55c5d1f8-04cd-46b5-8a20-e56cbb3052d0)");

  auto grub = MustDecode<ImageLoadEvent>(MustParse(kShimGrub).events[29]);
  EXPECT_EQ(grub.device_path_text, "\\EFI\\BOOT\\grubx64.efi");

  // NVMe and HD nodes on real hardware.
  auto nvme = MustDecode<ImageLoadEvent>(MustParse(kKeylime).events[52]);
  EXPECT_EQ(nvme.device_path_text,
            "PciRoot(0x0)/Pci(0x6,0x0)/Pci(0x0,0x0)/NVMe(0x1,50-37-d1-21-b2-38-25-00)/"
            "HD(1,GPT,b8f6bee9-bc10-4c72-b34a-6db8fd8f772c,0x800,0x80000)/"
            "\\EFI\\fedora\\shimx64.efi");
}

TEST(Decoders, DirectKernelBootDriverPath) {
  const UnverifiedEventLog log = MustParse(kDirectKernel);
  bool found = false;
  for (const Event* e : OfType(log, kEvEfiBootServicesApplication)) {
    auto image = MustDecode<ImageLoadEvent>(*e);
    if (!image.device_path.empty()) found = true;
  }
  EXPECT_TRUE(found);
}

// ---- Boot loaders ------------------------------------------------------------------------------

TEST(Decoders, GrubCommandsAndFilesInTheShimGrubBoot) {
  const UnverifiedEventLog log = MustParse(kShimGrub);
  std::vector<std::string> commands;
  std::vector<std::string> files;
  std::vector<std::string> cmdlines;
  for (const Event* e : OfType(log, kEvIpl)) {
    auto ipl = MustDecode<IplEvent>(*e);
    if (ipl.kind == IplKind::kGrubCommand) {
      EXPECT_EQ(e->pcr, 8u);
      commands.push_back(ipl.text);
    } else if (ipl.kind == IplKind::kKernelCmdline) {
      cmdlines.push_back(ipl.text);
    } else if (e->pcr == 9) {
      files.push_back(ipl.text);
    }
  }
  EXPECT_THAT(commands,
              ::testing::Contains("linux /vmlinuz console=ttyS0 panic=-1 ima_policy=tcb"));
  EXPECT_THAT(commands, ::testing::Contains("initrd /initrd.img"));
  EXPECT_THAT(commands, ::testing::Contains("source (hd0)/EFI/debian/grub.cfg"));
  EXPECT_THAT(cmdlines, ElementsAre("/vmlinuz console=ttyS0 panic=-1 ima_policy=tcb"));
  EXPECT_THAT(files, ElementsAre("(hd0)/EFI/debian/grub.cfg", "/vmlinuz", "/initrd.img"));
  // The multi-line menuentry command keeps its newlines, escaped.
  EXPECT_THAT(commands, ::testing::Contains(HasSubstr("menuentry measured {\\n  linux")));
}

TEST(Decoders, SystemdStubSectionsInTheUkiBoot) {
  const UnverifiedEventLog log = MustParse(kUki);
  std::vector<std::string> sections;
  for (const Event* e : OfType(log, kEvIpl)) {
    auto ipl = MustDecode<IplEvent>(*e);
    EXPECT_EQ(ipl.kind, IplKind::kSystemdSection);
    EXPECT_TRUE(ipl.utf16);
    EXPECT_EQ(e->pcr, 11u);
    sections.push_back(ipl.text);
  }
  EXPECT_THAT(sections, ElementsAre(".linux", ".linux", ".osrel", ".osrel", ".cmdline", ".cmdline",
                                    ".initrd", ".initrd"));
  EXPECT_EQ(DescribeEvent(log.events[23]), "systemd-stub section .linux");
}

TEST(Decoders, LinuxEventTagsInTheUkiBoot) {
  const UnverifiedEventLog log = MustParse(kUki);
  std::vector<const Event*> tags = OfType(log, kEvEventTag);
  ASSERT_EQ(tags.size(), 2u);
  auto options = MustDecode<TaggedEvent>(*tags[0]);
  EXPECT_EQ(options.id, kLinuxLoadOptionsTagId);
  EXPECT_EQ(options.text, std::optional<std::string>("LOADED_IMAGE::LoadOptions"));
  auto initrd = MustDecode<TaggedEvent>(*tags[1]);
  EXPECT_EQ(initrd.id, kLinuxInitrdTagId);
  EXPECT_EQ(initrd.text, std::optional<std::string>("Linux initrd"));
  EXPECT_EQ(DescribeEvent(*tags[1]), "tag 0x8f3b22ec (Linux initrd) \"Linux initrd\"");
}

TEST(Decoders, WindowsTaggedEvents) {
  const UnverifiedEventLog log = MustParse("eventlogs/go-attestation__option_rom_eventlog");
  auto sipa = MustDecode<TaggedEvent>(log.events[45]);
  EXPECT_EQ(sipa.id, 0x40010001u);
  EXPECT_EQ(sipa.data.size(), 272u);
  EXPECT_FALSE(sipa.text.has_value());
}

// ---- EV_NO_ACTION ------------------------------------------------------------------------------

TEST(Decoders, SpecIdAndStartupLocality) {
  const UnverifiedEventLog log = MustParse(kGlinux);
  auto spec = MustDecode<SpecIdEvent>(log.events[0]);
  EXPECT_EQ(spec.signature, "Spec ID Event03");
  EXPECT_EQ(spec.spec_version_major, 2);
  EXPECT_EQ(spec.uintn_size, 2);
  ASSERT_EQ(spec.algorithms.size(), 2u);
  EXPECT_EQ(spec.algorithms[1].alg, 0x000B);
  EXPECT_EQ(spec.algorithms[1].digest_size, 32);
  auto loc = MustDecode<StartupLocalityEvent>(log.events[1]);
  EXPECT_EQ(loc.locality, 3);
  EXPECT_EQ(DescribeEvent(log.events[1]), "StartupLocality 3");
}

TEST(Decoders, Sp800155Event3) {
  const UnverifiedEventLog log = MustParse(kSp800155);
  auto variable = MustDecode<Sp800155Event>(log.events[1]);
  EXPECT_EQ(variable.version, 3);
  EXPECT_EQ(variable.vendor_id, 11129u);  // Google's IANA number
  EXPECT_EQ(variable.platform_manufacturer, "Google, Inc.");
  EXPECT_EQ(variable.platform_model, "Google Compute Engine");
  EXPECT_EQ(variable.firmware_version, "2.7");
  EXPECT_EQ(variable.firmware_manufacturer_id, 11129u);
  ASSERT_TRUE(variable.rim_locator.has_value());
  EXPECT_EQ(variable.rim_locator->type, 3u);
  EXPECT_THAT(variable.rim_locator->text, ::testing::EndsWith(":FirmwareRIM"));
  ASSERT_TRUE(variable.platform_cert_locator.has_value());
  EXPECT_TRUE(variable.platform_cert_locator->data.empty());

  auto uri = MustDecode<Sp800155Event>(log.events[2]);
  ASSERT_TRUE(uri.rim_locator.has_value());
  EXPECT_EQ(uri.rim_locator->type, 1u);
  EXPECT_THAT(uri.rim_locator->text,
              StartsWith("https://storage.googleapis.com/gce_tcb_integrity/ovmf_x64_csm/"));
}

TEST(Decoders, Sp800155RejectsNonZeroTrailingBytes) {
  Event e = MustParse(kSp800155).events[1];
  e.data.back() = 1;
  auto d = DecodeEventData(e);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(Str(d.status().message()), HasSubstr("SP800-155 event: 6 trailing bytes"));
}

// ---- Firmware events ---------------------------------------------------------------------------

TEST(Decoders, FirmwareBlobsPostCodesCrtmVersions) {
  const UnverifiedEventLog keylime = MustParse(kKeylime);
  auto blob = MustDecode<FirmwareBlobEvent>(keylime.events[4]);
  EXPECT_EQ(blob.base, 0xfff00000u);
  EXPECT_EQ(blob.length, 0x59d0u);
  auto post = MustDecode<PostCodeEvent>(keylime.events[10]);
  EXPECT_EQ(post.text, std::optional<std::string>("ACPI DATA"));
  auto version = MustDecode<TextEvent>(keylime.events[3]);
  EXPECT_TRUE(version.utf16);
  EXPECT_EQ(version.text, std::optional<std::string>("N40ET41W "));
  auto contents = MustDecode<TextEvent>(keylime.events[2]);
  EXPECT_EQ(contents.text, std::optional<std::string>("Boot Guard Measured S-CRTM"));

  // A POST code that is a firmware blob, and an S-CRTM version that is a GUID.
  const UnverifiedEventLog agile = MustParse("eventlogs/go-attestation__crypto_agile_eventlog");
  auto post_blob = MustDecode<PostCodeEvent>(agile.events[3]);
  ASSERT_TRUE(post_blob.blob.has_value());
  EXPECT_EQ(post_blob.blob->base, 0xffa20000u);
  auto guid = MustDecode<TextEvent>(agile.events[2]);
  ASSERT_TRUE(guid.guid.has_value());
  EXPECT_EQ(guid.guid->ToString(), "546bfb1e-1d0c-4055-a4ad-4ef4bf17b83a");
}

TEST(Decoders, HandoffTablesAndGpt) {
  const UnverifiedEventLog log = MustParse(kKeylime);
  auto tables = MustDecode<HandoffTablesEvent>(log.events[49]);
  ASSERT_EQ(tables.tables.size(), 1u);
  EXPECT_EQ(GuidName(tables.tables[0].vendor_guid), "SMBIOS3_TABLE");
  EXPECT_EQ(tables.tables[0].address, 0x8fcb0000u);

  auto gpt = MustDecode<GptEvent>(log.events[51]);
  EXPECT_EQ(gpt.disk_guid.ToString(), "79ac79fb-f286-4728-8e0d-68114f67364a");
  EXPECT_EQ(gpt.size_of_partition_entry, 128u);
  ASSERT_EQ(gpt.partitions.size(), 3u);
  EXPECT_EQ(gpt.partitions[0].name, "EFI System Partition");
  EXPECT_EQ(GuidName(gpt.partitions[0].type), "EFI System Partition");
  EXPECT_EQ(gpt.partitions[0].first_lba, 0x800u);
  EXPECT_EQ(GuidName(gpt.partitions[2].type), "Linux LVM");
}

TEST(Decoders, SeparatorsAndActions) {
  const UnverifiedEventLog log = MustParse(kUki);
  EXPECT_EQ(MustDecode<SeparatorEvent>(log.events[9]).value, 0u);
  EXPECT_EQ(MustDecode<TextEvent>(log.events[14]).text,
            std::optional<std::string>("Calling EFI Application from Boot Option"));
}

// ---- Synthetic structures the corpus lacks -----------------------------------------------------

void U16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void U32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void U64(Bytes& b, uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void GuidBytes(Bytes& b, const EfiGuid& g) { b.insert(b.end(), g.bytes.begin(), g.bytes.end()); }

Event MakeEvent(uint32_t type, Bytes data, uint32_t pcr = 0) {
  Event e;
  e.type = type;
  e.pcr = pcr;
  e.data = std::move(data);
  return e;
}

TEST(Decoders, FirmwareBlob2AndHandoffTables2) {
  Bytes blob2 = {5, 'F', 'v', 'M', 'a', 'i'};
  blob2.back() = 'n';
  U64(blob2, 0x820000);
  U64(blob2, 0xe0000);
  auto b = MustDecode<FirmwareBlobEvent>(MakeEvent(kEvEfiPlatformFirmwareBlob2, blob2));
  EXPECT_EQ(b.description, std::optional<std::string>("FvMan"));
  EXPECT_EQ(b.base, 0x820000u);
  EXPECT_EQ(DescribeEvent(MakeEvent(kEvEfiPlatformFirmwareBlob2, blob2)),
            "\"FvMan\" base 0x820000 length 0xe0000");

  Bytes tables = {4, 'A', 'C', 'P', 'I'};
  U64(tables, 1);
  GuidBytes(tables, *ParseGuid("8868e871-e4f1-11d3-bc22-0080c73c8881"));
  U64(tables, 0x7fb7e014);
  auto t = MustDecode<HandoffTablesEvent>(MakeEvent(kEvEfiHandoffTables2, tables));
  EXPECT_EQ(t.description, std::optional<std::string>("ACPI"));
  ASSERT_EQ(t.tables.size(), 1u);
  EXPECT_EQ(GuidName(t.tables[0].vendor_guid), "ACPI_20_TABLE");
}

TEST(Decoders, OmitBootDeviceEventsAndTableOfDevices) {
  Event omit = MakeEvent(kEvOmitBootDeviceEvents, ToBytes("BOOT ATTEMPTS OMITTED"));
  EXPECT_EQ(MustDecode<TextEvent>(omit).text, std::optional<std::string>("BOOT ATTEMPTS OMITTED"));
  Event table = MakeEvent(kEvTableOfDevices, Bytes{1, 2, 3});
  EXPECT_EQ(MustDecode<TextEvent>(table).raw, (Bytes{1, 2, 3}));
  Event compact = MakeEvent(kEvCompactHash, Bytes{0x10, 0, 0, 0});
  EXPECT_EQ(DescribeEvent(compact), "4 bytes: 10000000");
}

TEST(Decoders, IplStringsThatAreNotAscii) {
  // grub measures file names as UTF-8; binary data stays binary.
  auto utf8 = MustDecode<IplEvent>(MakeEvent(kEvIpl, ToBytes("/boot/vmlinuz-\xc3\xa9\0"), 9));
  EXPECT_EQ(utf8.kind, IplKind::kString);
  EXPECT_EQ(utf8.text, "/boot/vmlinuz-\xc3\xa9");
  auto binary = MustDecode<IplEvent>(MakeEvent(kEvIpl, Bytes{0xff, 0x00, 0x01}, 9));
  EXPECT_EQ(binary.kind, IplKind::kBinary);
  EXPECT_EQ(DescribeEvent(MakeEvent(kEvIpl, Bytes{0xff, 0x00, 0x01}, 9)), "binary");
}

TEST(Decoders, Sp800155OlderRevisionsAndOtherNoActionRecords) {
  // "SP800-155 Event" (first revision): signature, vendor id and manifest GUID only.
  Bytes v1 = ToBytes(absl::string_view("SP800-155 Event\0", 16));
  U32(v1, 343);
  GuidBytes(v1, kShimLockGuid);
  auto first = MustDecode<Sp800155Event>(MakeEvent(kEvNoAction, v1));
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.vendor_id, 343u);
  EXPECT_FALSE(first.rim_locator.has_value());
  // "SP800-155 Event2": the strings, no locators.
  Bytes v2 = ToBytes("SP800-155 Event2");
  U32(v2, 343);
  GuidBytes(v2, kShimLockGuid);
  for (const char* s : {"Intel", "Emulator", "0.3", "EDK II DXE"}) {
    v2.push_back(static_cast<uint8_t>(strlen(s) + 1));
    v2.insert(v2.end(), s, s + strlen(s) + 1);
  }
  U32(v2, 343);
  v2.push_back(4);
  v2.insert(v2.end(), {'0', '.', '7', 0});
  auto second = MustDecode<Sp800155Event>(MakeEvent(kEvNoAction, v2));
  EXPECT_EQ(second.version, 2);
  EXPECT_EQ(second.platform_model, "Emulator");
  EXPECT_EQ(second.firmware_version, "0.7");
  // Other EV_NO_ACTION records keep their signature and bytes.
  Bytes nv = ToBytes(absl::string_view("NvIndexInstance\0\1\0", 18));
  auto other = MustDecode<NoActionEvent>(MakeEvent(kEvNoAction, nv));
  EXPECT_EQ(other.signature, "NvIndexInstance");
  EXPECT_EQ(other.data.size(), 18u);
}

TEST(Decoders, EventTypeNames) {
  EXPECT_EQ(EventTypeName(0x0), "EV_PREBOOT_CERT");
  EXPECT_EQ(EventTypeName(0x11), "EV_NONHOST_INFO");
  EXPECT_EQ(EventTypeName(0x12), "EV_OMIT_BOOT_DEVICE_EVENTS");
  EXPECT_EQ(EventTypeName(0x80000000), "EV_EFI_EVENT_BASE");
  EXPECT_EQ(EventTypeName(0x8000000C), "EV_EFI_VARIABLE_BOOT2");
  EXPECT_EQ(EventTypeName(0x80000010), "EV_EFI_HCRTM_EVENT");
  EXPECT_EQ(EventTypeName(0x800000E0), "EV_EFI_VARIABLE_AUTHORITY");
  EXPECT_EQ(EventTypeName(0x800000E1), "EV_EFI_SPDM_FIRMWARE_BLOB");
  EXPECT_EQ(EventTypeName(0x800000E2), "EV_EFI_SPDM_FIRMWARE_CONFIG");
  EXPECT_EQ(EventTypeName(0x800000E3), "EV_EFI_SPDM_DEVICE_POLICY");
  EXPECT_EQ(EventTypeName(0x800000E4), "EV_EFI_SPDM_DEVICE_AUTHORITY");
  EXPECT_EQ(EventTypeName(0x12345678), "EV_UNKNOWN_0x12345678");
  for (uint32_t t = 0; t <= 0x13; ++t) EXPECT_TRUE(IsKnownEventType(t)) << t;
  for (uint32_t t = 0x80000000; t <= 0x8000000D; ++t) EXPECT_TRUE(IsKnownEventType(t)) << t;
}

// ---- Device paths
// --------------------------------------------------------------------------------

Bytes Node(uint8_t type, uint8_t subtype, const Bytes& body) {
  Bytes n = {type, subtype};
  U16(n, static_cast<uint16_t>(body.size() + 4));
  n.insert(n.end(), body.begin(), body.end());
  return n;
}
Bytes End() { return Node(0x7F, 0xFF, {}); }
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
std::string Text(const Bytes& path) {
  auto t = DevicePathToText(path);
  return t.ok() ? *t : absl::StrCat("error: ", t.status().message());
}

TEST(DevicePath, CommonNodes) {
  Bytes acpi;
  U32(acpi, 0x0A0341D0);
  U32(acpi, 0);
  Bytes pci = {1, 2};  // function 1, device 2
  Bytes sata;
  U16(sata, 0);
  U16(sata, 0xFFFF);
  U16(sata, 0);
  Bytes usb = {3, 0};
  Bytes scsi;
  U16(scsi, 1);
  U16(scsi, 0);
  Bytes mac(32, 0);
  mac[0] = 0x52;
  mac[1] = 0x54;
  mac[5] = 0x01;
  mac.push_back(1);
  Bytes uri = ToBytes("http://10.0.0.1/boot.efi");
  Bytes file;
  for (char c : std::string("\\EFI\\x.efi")) U16(file, static_cast<uint16_t>(c));
  U16(file, 0);
  Bytes offset;
  U32(offset, 0);
  U64(offset, 0xf050);
  U64(offset, 0x1f9ff);
  Bytes memmap;
  U32(memmap, 0xB);
  U64(memmap, 0x820000);
  U64(memmap, 0x8fffff);
  Bytes ven;
  GuidBytes(ven, *ParseGuid("99e275e7-75a0-4b37-a2e6-c5385e6c00cb"));
  ven.push_back(0xAB);

  EXPECT_EQ(Text(Cat({Node(2, 1, acpi), Node(1, 1, pci), Node(3, 18, sata), End()})),
            "PciRoot(0x0)/Pci(0x2,0x1)/Sata(0x0,0xffff,0x0)");
  EXPECT_EQ(Text(Cat({Node(3, 5, usb), Node(3, 2, scsi), End()})), "USB(0x3,0x0)/Scsi(0x1,0x0)");
  EXPECT_EQ(Text(Cat({Node(3, 11, mac), Node(3, 24, uri), End()})),
            "MAC(525400000001,0x1)/Uri(http://10.0.0.1/boot.efi)");
  EXPECT_EQ(Text(Cat({Node(4, 4, file), End()})), "\\EFI\\x.efi");
  EXPECT_EQ(Text(Cat({Node(4, 8, offset), End()})), "Offset(0xf050,0x1f9ff)");
  EXPECT_EQ(Text(Cat({Node(1, 3, memmap), End()})), "MemoryMapped(0xb,0x820000,0x8fffff)");
  EXPECT_EQ(Text(Cat({Node(1, 4, ven), End()})), "VenHw(99e275e7-75a0-4b37-a2e6-c5385e6c00cb,ab)");
  Bytes nvme;
  U32(nvme, 1);
  for (uint8_t i = 1; i <= 8; ++i) nvme.push_back(i);
  EXPECT_EQ(Text(Cat({Node(3, 23, nvme), End()})), "NVMe(0x1,08-07-06-05-04-03-02-01)");
  Bytes serial;
  U32(serial, 0x050141D0);
  U32(serial, 1);
  EXPECT_EQ(Text(Cat({Node(2, 1, serial), End()})), "Serial(0x1)");
  Bytes other;
  U32(other, 0x00000000);  // not an EISA PNP id
  U32(other, 2);
  EXPECT_EQ(Text(Cat({Node(2, 1, other), End()})), "Acpi(@@@0000,0x2)");
}

TEST(DevicePath, HdNodeMbrAndGpt) {
  Bytes gpt;
  U32(gpt, 1);
  U64(gpt, 0x800);
  U64(gpt, 0x100000);
  GuidBytes(gpt, *ParseGuid("22b9d9d7-140b-473b-82e0-26ded9d03d28"));
  gpt.push_back(2);
  gpt.push_back(2);
  EXPECT_EQ(Text(Cat({Node(4, 1, gpt), End()})),
            "HD(1,GPT,22b9d9d7-140b-473b-82e0-26ded9d03d28,0x800,0x100000)");
  Bytes mbr = gpt;
  mbr[mbr.size() - 1] = 1;
  mbr[mbr.size() - 2] = 1;
  EXPECT_THAT(Text(Cat({Node(4, 1, mbr), End()})), StartsWith("HD(1,MBR,0x"));
}

TEST(DevicePath, UnknownAndShortNodesRenderGenerically) {
  EXPECT_EQ(Text(Cat({Node(0x20, 7, {1, 2}), End()})), "Path(32,7,0102)");
  // A PCI node one byte short: generic, not an error.
  EXPECT_EQ(Text(Cat({Node(1, 1, {1}), End()})), "Path(1,1,01)");
  // A PCI node with a byte too many.
  EXPECT_EQ(Text(Cat({Node(1, 1, {1, 2, 3}), End()})), "Path(1,1,010203)");
}

TEST(DevicePath, InstancesAndMissingEnd) {
  Bytes pci = {0, 1};
  EXPECT_EQ(Text(Cat({Node(1, 1, pci), Node(0x7F, 0x01, {}), Node(1, 1, pci), End()})),
            "Pci(0x1,0x0),Pci(0x1,0x0)");
  // No End node: everything up to the buffer's end.
  EXPECT_EQ(Text(Node(1, 1, pci)), "Pci(0x1,0x0)");
  EXPECT_EQ(Text({}), "");
}

TEST(DevicePath, MalformedLengthsAreErrorsNotLoops) {
  // Length 0 and 2 would never advance a naive walker.
  EXPECT_EQ(Text(Bytes{1, 1, 0, 0, 1, 2}),
            "error: device path node at offset 0: length 0 invalid (6 bytes left)");
  EXPECT_EQ(Text(Bytes{1, 1, 2, 0, 1, 2}),
            "error: device path node at offset 0: length 2 invalid (6 bytes left)");
  // Longer than the buffer.
  EXPECT_EQ(Text(Bytes{1, 1, 0xFF, 0xFF, 1, 2}),
            "error: device path node at offset 0: length 65535 invalid (6 bytes left)");
  // A partial header after a good node.
  EXPECT_EQ(Text(Cat({Node(1, 1, {0, 1}), Bytes{0x7F}})),
            "error: device path node at offset 6: 1 bytes, need 4");
  // Bytes after the end of a single path.
  EXPECT_EQ(Text(Cat({End(), Bytes{1, 2, 3, 4}})),
            "error: device path: 4 bytes after the end node (offset 4)");
  // The list form accepts a second path instead.
  auto list = DevicePathListToText(Cat({Node(1, 1, {0, 1}), End(), Node(1, 1, {0, 2}), End()}));
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(*list, ElementsAre("Pci(0x1,0x0)", "Pci(0x2,0x0)"));
}

TEST(DevicePath, ControlCharactersInFilePathsAreEscaped) {
  Bytes file;
  for (char c : std::string("a\x1b[31mb")) U16(file, static_cast<uint16_t>(c));
  EXPECT_EQ(Text(Cat({Node(4, 4, file), End()})), "a\\x1b[31mb");
}

// ---- Malformed data: errors, never crashes
// -------------------------------------------------------

Bytes VariableData(const EfiGuid& guid, const std::string& name, const Bytes& data,
                   uint64_t name_len_override = 0, uint64_t data_len_override = 0) {
  Bytes out;
  GuidBytes(out, guid);
  U64(out, name_len_override ? name_len_override : name.size());
  U64(out, data_len_override ? data_len_override : data.size());
  for (char c : name) U16(out, static_cast<uint16_t>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

void ExpectUndecodable(const Event& e, const std::string& message) {
  auto d = DecodeEventData(e);
  ASSERT_FALSE(d.ok()) << "expected " << message;
  EXPECT_THAT(Str(d.status().message()), HasSubstr(message));
  EXPECT_THAT(DescribeEvent(e), StartsWith("undecodable: "));
  EXPECT_TRUE(EventToJson(e).contains("undecodable"));
}

TEST(MalformedData, UefiVariableData) {
  ExpectUndecodable(MakeEvent(kEvEfiVariableDriverConfig, Bytes(10, 0)),
                    "UEFI_VARIABLE_DATA VariableName: truncated");
  ExpectUndecodable(MakeEvent(kEvEfiVariableDriverConfig,
                              VariableData(kEfiGlobalVariableGuid, "PK", {}, 1ull << 62)),
                    "UnicodeNameLength 4611686018427387904 exceeds the 4 bytes left");
  ExpectUndecodable(MakeEvent(kEvEfiVariableDriverConfig,
                              VariableData(kEfiGlobalVariableGuid, "PK", {1}, 0, 0xFFFFFFFF)),
                    "VariableDataLength 4294967295 but 1 bytes follow the name");
}

TEST(MalformedData, SignatureLists) {
  Bytes list;
  GuidBytes(list, kEfiCertSha256Guid);
  U32(list, 28 + 16);
  U32(list, 0);
  U32(list, 0);  // SignatureSize 0 would divide by zero
  list.insert(list.end(), 16, 0);
  ExpectUndecodable(MakeEvent(kEvEfiVariableDriverConfig,
                              VariableData(kEfiImageSecurityDatabaseGuid, "db", list)),
                    "SignatureSize 0 < 16");
  Bytes big = list;
  big[16] = 0xFF;  // SignatureListSize far beyond the data
  big[17] = 0xFF;
  ExpectUndecodable(
      MakeEvent(kEvEfiVariableDriverConfig, VariableData(kEfiImageSecurityDatabaseGuid, "db", big)),
      "SignatureListSize 65535 invalid");
  Bytes uneven = list;
  uneven[24] = 48;  // 16 bytes of signatures is not a multiple of 48
  ExpectUndecodable(MakeEvent(kEvEfiVariableDriverConfig,
                              VariableData(kEfiImageSecurityDatabaseGuid, "db", uneven)),
                    "is not a multiple of SignatureSize 48");
}

TEST(MalformedData, LoadOptionsAndBootOrder) {
  ExpectUndecodable(
      MakeEvent(kEvEfiVariableBoot, VariableData(kEfiGlobalVariableGuid, "BootOrder", {1, 0, 2})),
      "BootOrder: odd length 3");
  Bytes option;
  U32(option, 1);
  U16(option, 100);  // FilePathListLength beyond the data
  U16(option, 'A');
  U16(option, 0);
  ExpectUndecodable(
      MakeEvent(kEvEfiVariableBoot, VariableData(kEfiGlobalVariableGuid, "Boot0001", option)),
      "EFI_LOAD_OPTION FilePathList: truncated");
  Bytes unterminated;
  U32(unterminated, 1);
  U16(unterminated, 0);
  U16(unterminated, 'A');
  ExpectUndecodable(
      MakeEvent(kEvEfiVariableBoot, VariableData(kEfiGlobalVariableGuid, "Boot0001", unterminated)),
      "is not NUL-terminated");
}

TEST(MalformedData, ImageLoadGptTablesTagsSeparators) {
  Bytes image;
  for (int i = 0; i < 3; ++i) U64(image, 0);
  U64(image, 0xFFFFFFFFFFFFFFFFull);
  ExpectUndecodable(MakeEvent(kEvEfiBootServicesApplication, image),
                    "LengthOfDevicePath 18446744073709551615 but 0 bytes follow");
  Bytes image_padding = image;
  image_padding[24] = 0;
  image_padding[25] = 0;
  image_padding[26] = 0;
  image_padding[27] = 0;
  image_padding[28] = 0;
  image_padding[29] = 0;
  image_padding[30] = 0;
  image_padding[31] = 0;
  image_padding.insert(image_padding.end(), 17, 0);  // more than the shim quirk allows
  ExpectUndecodable(MakeEvent(kEvEfiBootServicesApplication, image_padding),
                    "LengthOfDevicePath 0 but 17 bytes follow");

  Bytes gpt = ToBytes("EFI PART");
  gpt.resize(92, 0);
  gpt[84] = 128;  // SizeOfPartitionEntry
  U64(gpt, 1ull << 40);
  ExpectUndecodable(MakeEvent(kEvEfiGptEvent, gpt), "NumberOfPartitions 1099511627776 exceeds");
  Bytes bad_sig = gpt;
  bad_sig[0] = 'X';
  ExpectUndecodable(MakeEvent(kEvEfiGptEvent, bad_sig), "signature is not 'EFI PART'");
  Bytes entry_size = gpt;
  entry_size[84] = 0;
  ExpectUndecodable(MakeEvent(kEvEfiGptEvent, entry_size), "SizeOfPartitionEntry 0 invalid");

  Bytes tables;
  U64(tables, 1ull << 60);
  ExpectUndecodable(MakeEvent(kEvEfiHandoffTables, tables),
                    "NumberOfTables 1152921504606846976 exceeds the 0 bytes left");

  Bytes tag;
  U32(tag, 1);
  U32(tag, 100);
  ExpectUndecodable(MakeEvent(kEvEventTag, tag), "taggedEventDataSize 100 but 0 bytes follow");

  ExpectUndecodable(MakeEvent(kEvSeparator, Bytes{0, 0, 0, 0, 0}),
                    "EV_SEPARATOR: 1 trailing bytes");
  ExpectUndecodable(MakeEvent(kEvEfiAction, Bytes{0xC3, 0x28}), "not ASCII text");
  ExpectUndecodable(MakeEvent(kEvEfiPlatformFirmwareBlob, Bytes(15, 0)),
                    "UEFI_PLATFORM_FIRMWARE_BLOB BlobLength: truncated");
  ExpectUndecodable(MakeEvent(kEvNoAction, ToBytes(absl::string_view("StartupLocality\0", 16))),
                    "StartupLocality: event data is 16 bytes, expected 17");
  ExpectUndecodable(MakeEvent(kEvNoAction, ToBytes("SP800-155 Event3")),
                    "SP800-155 VendorId: truncated");
}

TEST(MalformedData, TruncationsOfEveryRealEventNeverCrash) {
  // Every prefix of every event of a few rich logs: decoding may fail, rendering must not.
  for (const char* path : {kShimGrub, kUki, kKeylime, kSp800155, kGlinux}) {
    for (const Event& original : MustParse(path).events) {
      for (size_t n = 0; n < original.data.size(); n += 1 + original.data.size() / 64) {
        Event e = original;
        e.data.resize(n);
        (void)DescribeEvent(e);
        (void)EventToJson(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
      }
    }
  }
}

// ---- Text helpers ------------------------------------------------------------------------------

TEST(Text, EscapeForDisplay) {
  EXPECT_EQ(EscapeForDisplay("plain \\path"), "plain \\path");
  EXPECT_EQ(EscapeForDisplay("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(EscapeForDisplay("line\nnext\t"), "line\\nnext\\t");
  EXPECT_EQ(EscapeForDisplay("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(EscapeForDisplay("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(EscapeForDisplay("\xc2\x9b"), "\\u009b");              // C1 CSI
  EXPECT_EQ(EscapeForDisplay("x\xe2\x80\xaey"), "x\\u202ey");      // right-to-left override
  EXPECT_EQ(EscapeForDisplay("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // encoded surrogate
}

TEST(Text, Utf16) {
  EXPECT_EQ(*Utf16LeToUtf8(Bytes{'A', 0, 0xE9, 0, 0, 0, 'B', 0}), "A\xc3\xa9");
  EXPECT_EQ(*Utf16LeToUtf8(Bytes{0x3D, 0xD8, 0x00, 0xDE}), "\xf0\x9f\x98\x80");  // U+1F600
  EXPECT_EQ(*Utf16LeToUtf8(Bytes{0x00, 0xDC, 'a', 0}),
            "\xef\xbf\xbd"
            "a");  // lone low
  EXPECT_FALSE(Utf16LeToUtf8(Bytes{'A', 0, 'B'}).ok());
  EXPECT_EQ(AsUtf16Text(Bytes{'h', 0, 'i', 0, 0, 0}), std::optional<std::string>("hi"));
  EXPECT_FALSE(AsUtf16Text(ToBytes("FeatureTME=0")).has_value());
  EXPECT_EQ(AsAsciiText(ToBytes("FeatureTME=0")), std::optional<std::string>("FeatureTME=0"));
  EXPECT_FALSE(AsAsciiText(Bytes{}).has_value());
  EXPECT_EQ(AsUtf8Text(ToBytes("/boot/\xc3\xbc\0")), std::optional<std::string>("/boot/\xc3\xbc"));
  EXPECT_FALSE(AsUtf8Text(ToBytes("a\x1b b")).has_value());
  EXPECT_FALSE(AsUtf8Text(ToBytes("a\xc3")).has_value());
  EXPECT_FALSE(AsUtf8Text(ToBytes(absl::string_view("a\0b", 3))).has_value());
  EXPECT_FALSE(AsAsciiText(Bytes{0, 0}).has_value());
}

TEST(Text, Guids) {
  auto g = ParseGuid("8BE4DF61-93CA-11D2-AA0D-00E098032B8C");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g, kEfiGlobalVariableGuid);
  EXPECT_EQ(g->ToString(), "8be4df61-93ca-11d2-aa0d-00e098032b8c");
  EXPECT_EQ(GuidName(*g), "EFI_GLOBAL_VARIABLE");
  EXPECT_FALSE(ParseGuid("8be4df61-93ca-11d2-aa0d").ok());
  EXPECT_FALSE(ParseGuid("8be4df61x93ca-11d2-aa0d-00e098032b8c").ok());
}

TEST(Render, ShowTextAndJsonOfARealLog) {
  const UnverifiedEventLog log = MustParse(kShimGrub);
  const std::string text = FormatEventLogText(log);
  EXPECT_THAT(text, StartsWith("crypto-agile log, 48 events, banks sha1,sha256\n"));
  EXPECT_THAT(text, HasSubstr("  43  PCR 8   EV_IPL                            "
                              "sha1:0729e8fa.. sha256:15a7ccb5..  kernel_cmdline: /vmlinuz "
                              "console=ttyS0 panic=-1 ima_policy=tcb\n"));
  nlohmann::json j = EventLogToJson(log);
  EXPECT_EQ(j["format"], "crypto-agile");
  ASSERT_EQ(j["events"].size(), 48u);
  const nlohmann::json& e = j["events"][43];
  EXPECT_EQ(e["type_name"], "EV_IPL");
  EXPECT_EQ(e["digests"]["sha1"].get<std::string>().size(), 40u);
  EXPECT_EQ(e["decoded"]["ipl_kind"], "kernel_cmdline");
  EXPECT_TRUE(j["startup_locality"].is_null());
  EXPECT_EQ(
      j["events"][5]["decoded"]["signature_lists"][0]["signatures"][0]["certificate"]["subject"],
      "O=Debian, CN=Debian UEFI Secure Boot (PK/KEK key), "
      "emailAddress=debian-devel@lists.debian.org");
}

}  // namespace
}  // namespace bootgate::attest
