// ParseEventLog against every real log in tests/data, and one test per rejection reason, each
// built by changing one field of a real log.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "attest/crypto/hash.h"
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
using ::bootgate::testing::TestDataPath;
using ::testing::HasSubstr;

constexpr char kGlinux[] = "eventlogs/go-tpm-tools__glinux-alex.bin";
constexpr char kKeylimeSb[] = "eventlogs/keylime__binary_bios_measurements-secureboot";
constexpr char kOptionRom[] = "eventlogs/go-attestation__option_rom_eventlog";
constexpr char kShortNoAction[] = "eventlogs/go-attestation__short_no_action_eventlog";

// Every event log in the test data: eventlogs/*, qemu/*/binary_bios_measurements and the bundles'
// logs. Listed from the directories so a new fixture is covered without editing this file.
std::vector<std::string> AllLogs() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const fs::path root = TestDataPath("");
  for (const auto& e : fs::directory_iterator(root / "eventlogs")) {
    out.push_back("eventlogs/" + e.path().filename().string());
  }
  for (const auto& e : fs::directory_iterator(root / "qemu")) {
    if (fs::exists(e.path() / "binary_bios_measurements")) {
      out.push_back("qemu/" + e.path().filename().string() + "/binary_bios_measurements");
    }
  }
  for (const auto& e : fs::directory_iterator(root / "bundles")) {
    for (const char* name : {"eventlog.bin", "rawlog.bin"}) {
      if (fs::exists(e.path() / name)) {
        out.push_back("bundles/" + e.path().filename().string() + "/" + name);
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Logs that must be rejected, and why. Everything else must parse and every event must decode.
const std::map<std::string, std::string>& ExpectedRejections() {
  static const auto* kRejections = new std::map<std::string, std::string>{
      // A lone StartupLocality EV_NO_ACTION record (49 bytes): no Spec ID header, no
      // measurements. StartupLocality only exists in TCG2 logs, after the Spec ID event.
      {kShortNoAction, "event 0: StartupLocality event in a log without a Spec ID header"},
      // Hand-made tpm2-tools fixtures whose Spec ID event lists 4 algorithms while the event
      // carries 2 digests.
      {"eventlogs/tpm2-tools__event-uefiaction.bin",
       "event 1: digest count 2, but the Spec ID event lists 4 algorithms"},
      {"eventlogs/tpm2-tools__event-uefivar.bin",
       "event 1: digest count 2, but the Spec ID event lists 4 algorithms"},
      // The Spec ID event's size (37) ends right after vendorInfoSize = 4: the vendor info lies
      // outside the event (tpm2-tools reads past the record).
      {"eventlogs/tpm2-tools__specid-vendordata.bin",
       "event 0: Spec ID vendorInfo: truncated at offset 37 (need 4 bytes, 0 left)"},
  };
  return *kRejections;
}

class CorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusTest, ParsesOrIsCleanlyRejected) {
  const Bytes data = ReadTestData(GetParam());
  ASSERT_FALSE(data.empty());
  absl::StatusOr<UnverifiedEventLog> log = ParseEventLog(data);
  auto rejected = ExpectedRejections().find(GetParam());
  if (rejected != ExpectedRejections().end()) {
    ASSERT_FALSE(log.ok());
    EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(log.status().message()), HasSubstr(rejected->second));
    return;
  }
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_FALSE(log->events.empty());
  EXPECT_EQ(log->trailing_zero_bytes, 0u);
  for (size_t i = 0; i < log->events.size(); ++i) {
    const Event& e = log->events[i];
    EXPECT_EQ(e.index, i);
    // The crypto-agile header is a SHA-1-format record.
    const size_t digests =
        i == 0 && log->format == LogFormat::kCryptoAgile ? 1 : log->algorithms.size();
    ASSERT_EQ(e.digests.size(), digests) << "event " << i;
    for (size_t k = 0; k < e.digests.size(); ++k) {
      EXPECT_EQ(e.digests[k].digest.size(), *KnownDigestSize(e.digests[k].alg));
    }
    // Real firmware data must decode; an "undecodable" event in a real log is a decoder bug.
    absl::StatusOr<EventDetails> details = DecodeEventData(e);
    EXPECT_TRUE(details.ok()) << GetParam() << " event " << i << " (" << EventTypeName(e.type)
                              << "): " << details.status();
  }
  const std::string text = FormatEventLogText(*log);
  EXPECT_THAT(text, ::testing::Not(HasSubstr("undecodable")));
  EXPECT_FALSE(
      EventLogToJson(*log).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict).empty());
}

INSTANTIATE_TEST_SUITE_P(RealLogs, CorpusTest, ::testing::ValuesIn(AllLogs()),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           std::string name = p.param;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(CorpusListing, CoversEveryKindOfLog) {
  std::vector<std::string> logs = AllLogs();
  EXPECT_GE(logs.size(), 29u);
  for (const auto& [path, reason] : ExpectedRejections()) {
    EXPECT_NE(std::find(logs.begin(), logs.end(), path), logs.end()) << path;
  }
}

// Format and size of the logs the rest of the tests rely on.
TEST(ParseEventLog, Formats) {
  struct Case {
    const char* path;
    LogFormat format;
    size_t events;
    std::vector<uint16_t> algs;
  };
  const Case cases[] = {
      {kGlinux, LogFormat::kCryptoAgile, 29, {0x0004, 0x000B}},
      {kKeylimeSb, LogFormat::kCryptoAgile, 99, {0x000B}},
      {kOptionRom, LogFormat::kSha1Legacy, 61, {0x0004}},
      {"eventlogs/go-attestation__ebs_event_missing_eventlog",
       LogFormat::kSha1Legacy,
       38,
       {0x0004}},
      {"eventlogs/tpm2-tools__event-uefi-sha1-log.bin", LogFormat::kSha1Legacy, 17, {0x0004}},
      {"bundles/go-attestation__windows_gcp_shielded_vm/rawlog.bin",
       LogFormat::kSha1Legacy,
       21,
       {0x0004}},
      {"eventlogs/go-attestation__sb_cert_eventlog",
       LogFormat::kCryptoAgile,
       15,
       {0x0004, 0x000B, 0x000C}},
      {"eventlogs/tpm2-tools__event.bin",
       LogFormat::kCryptoAgile,
       2,
       {0x0004, 0x000B, 0x000C, 0x000D}},
  };
  for (const Case& c : cases) {
    auto log = ParseEventLog(ReadTestData(c.path));
    ASSERT_TRUE(log.ok()) << c.path << ": " << log.status();
    EXPECT_EQ(log->format, c.format) << c.path;
    EXPECT_EQ(log->events.size(), c.events) << c.path;
    std::vector<uint16_t> algs;
    for (const auto& a : log->algorithms) algs.push_back(a.alg);
    EXPECT_EQ(algs, c.algs) << c.path;
  }
}

TEST(ParseEventLog, StartupLocality) {
  auto glinux = ParseEventLog(ReadTestData(kGlinux));
  ASSERT_TRUE(glinux.ok());
  EXPECT_EQ(glinux->startup_locality, std::optional<uint8_t>(3));
  auto keylime = ParseEventLog(ReadTestData("eventlogs/keylime__binary_bios_measurements"));
  ASSERT_TRUE(keylime.ok());
  EXPECT_EQ(keylime->startup_locality, std::optional<uint8_t>(3));
  auto sp800155 = ParseEventLog(ReadTestData("eventlogs/go-tpm-tools__eventlogwithsp800155.bin"));
  ASSERT_TRUE(sp800155.ok());
  EXPECT_FALSE(sp800155->startup_locality.has_value());
}

TEST(ParseEventLog, WindowsNoActionOnPcrMinusOneIsAccepted) {
  auto log = ParseEventLog(ReadTestData(kOptionRom));
  ASSERT_TRUE(log.ok()) << log.status();
  const Event& last = log->events.back();
  EXPECT_EQ(last.pcr, 0xFFFFFFFFu);
  EXPECT_EQ(last.type, kEvNoAction);
}

TEST(ParseEventLog, TrailingZeroPaddingIsAccepted) {
  for (const char* path : {kKeylimeSb, kOptionRom}) {
    Bytes data = ReadTestData(path);
    auto plain = ParseEventLog(data);
    ASSERT_TRUE(plain.ok());
    data.resize(data.size() + 4096, 0);
    auto padded = ParseEventLog(data);
    ASSERT_TRUE(padded.ok()) << padded.status();
    EXPECT_EQ(padded->events.size(), plain->events.size());
    EXPECT_EQ(padded->trailing_zero_bytes, 4096u);
  }
  // Padding shorter than a record header is padding too.
  Bytes data = ReadTestData(kGlinux);
  data.resize(data.size() + 3, 0);
  auto log = ParseEventLog(data);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->trailing_zero_bytes, 3u);
}

// ---- One test per rejection reason ----------------------------------------------------------

void PutU32(Bytes& b, size_t offset, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[offset + i] = static_cast<uint8_t>(v >> (8 * i));
}
void PutU16(Bytes& b, size_t offset, uint16_t v) {
  b[offset] = static_cast<uint8_t>(v);
  b[offset + 1] = static_cast<uint8_t>(v >> 8);
}

// Offsets of a parsed record's fields in the log bytes.
size_t EventSizeOffset(const UnverifiedEventLog& log, const Event& e) {
  if (log.format == LogFormat::kSha1Legacy || e.index == 0) return e.offset + 28;
  size_t o = e.offset + 12;
  for (const auto& d : e.digests) o += 2 + d.digest.size();
  return o;
}
constexpr size_t kAgileCountOffset = 8;           // TCG_PCR_EVENT2: PCRIndex, EventType, count
constexpr size_t kAgileFirstAlgOffset = 12;       // then (alg, digest)...
constexpr size_t kSpecIdNumAlgsOffset = 32 + 24;  // record header + Spec ID fields before it

struct Mutated {
  Bytes data;
  UnverifiedEventLog original;
};

Mutated Load(const char* path) {
  Mutated m;
  m.data = ReadTestData(path);
  auto log = ParseEventLog(m.data);
  EXPECT_TRUE(log.ok()) << log.status();
  if (log.ok()) m.original = *std::move(log);
  return m;
}

void ExpectRejected(const Bytes& data, const std::string& message) {
  absl::StatusOr<UnverifiedEventLog> log = ParseEventLog(data);
  ASSERT_FALSE(log.ok()) << "expected: " << message;
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr(message));
}

TEST(ParseEventLogRejects, EmptyLog) { ExpectRejected({}, "event log is empty"); }

TEST(ParseEventLogRejects, AllZeroBuffer) {
  ExpectRejected(Bytes(4096, 0), "event log is all zero bytes");
}

TEST(ParseEventLogRejects, LogAboveSizeCap) {
  Bytes data(kMaxEventLogBytes + 1, 0);
  ExpectRejected(data, "event log: 16777217 bytes exceeds cap 16777216");
}

TEST(ParseEventLogRejects, ShortNoActionFragment) {
  const Bytes data = ReadTestData(kShortNoAction);
  ASSERT_EQ(data.size(), 49u);
  ExpectRejected(data, "event 0: StartupLocality event in a log without a Spec ID header");
}

TEST(ParseEventLogRejects, TruncatedRecordInTheMiddleOfEventData) {
  Mutated m = Load(kKeylimeSb);
  const Event& e = m.original.events[57];
  m.data.resize(EventSizeOffset(m.original, e) + 4 + 10);  // 10 of its 33 data bytes
  ExpectRejected(m.data, "event 57: truncated event data at offset 37087 (need 33 bytes, 10 left)");
}

TEST(ParseEventLogRejects, TruncatedRecordHeader) {
  const Mutated m = Load(kKeylimeSb);
  const size_t at = m.original.events[57].offset;
  const std::pair<size_t, const char*> cuts[] = {
      {2, "event 57: truncated PCR index"},
      {6, "event 57: truncated event type"},
      {10, "event 57: truncated digest count"},
      {13, "event 57: truncated digest algorithm"},
      {20, "event 57: truncated sha256 digest at offset"},
      {14 + 32 + 1, "event 57: truncated event size"},
  };
  for (const auto& [keep, message] : cuts) {
    ExpectRejected(Bytes(m.data.begin(), m.data.begin() + static_cast<long>(at + keep)),  // NOLINT
                   message);
  }
}

TEST(ParseEventLogRejects, TruncatedLegacyRecord) {
  Mutated m = Load(kOptionRom);
  m.data.resize(m.original.events[30].offset + 15);
  ExpectRejected(m.data,
                 "event 30: truncated SHA-1 digest at offset 19114 (need 20 bytes, 7 left)");
}

TEST(ParseEventLogRejects, TrailingGarbageAfterTheLastRecord) {
  Bytes data = ReadTestData(kGlinux);
  data.push_back(1);
  ExpectRejected(data, "event 29: truncated PCR index");
}

TEST(ParseEventLogRejects, OversizedEventSize) {
  Mutated m = Load(kKeylimeSb);
  PutU32(m.data, EventSizeOffset(m.original, m.original.events[57]), 0xFFFFFFFF);
  ExpectRejected(m.data, "event 57: event size 4294967295 exceeds cap 1048576");
}

TEST(ParseEventLogRejects, OversizedEventSizeInLegacyLog) {
  Mutated m = Load(kOptionRom);
  PutU32(m.data, EventSizeOffset(m.original, m.original.events[30]), kMaxEventDataBytes + 1);
  ExpectRejected(m.data, "event 30: event size 1048577 exceeds cap 1048576");
}

TEST(ParseEventLogRejects, EventSizeBeyondTheLog) {
  Mutated m = Load(kKeylimeSb);
  PutU32(m.data, EventSizeOffset(m.original, m.original.events[98]), 1000);
  ExpectRejected(m.data, "event 98: truncated event data");
}

TEST(ParseEventLogRejects, DigestCountMismatch) {
  Mutated m = Load(kGlinux);  // sha1 + sha256
  PutU32(m.data, m.original.events[5].offset + kAgileCountOffset, 1);
  ExpectRejected(m.data, "event 5: digest count 1, but the Spec ID event lists 2 algorithms");
}

TEST(ParseEventLogRejects, DigestCountAboveCap) {
  Mutated m = Load(kGlinux);
  PutU32(m.data, m.original.events[5].offset + kAgileCountOffset, 1000000);
  ExpectRejected(m.data, "event 5: digest count 1000000 exceeds cap 16");
}

TEST(ParseEventLogRejects, DigestForAlgorithmNotInSpecId) {
  Mutated m = Load(kGlinux);  // sha1 + sha256: make the first digest claim sha384
  PutU16(m.data, m.original.events[5].offset + kAgileFirstAlgOffset, 0x000C);
  ExpectRejected(m.data,
                 "event 5: digest for algorithm sha384 which the Spec ID event does not list");
}

TEST(ParseEventLogRejects, TwoDigestsForOneAlgorithm) {
  Mutated m = Load(kGlinux);
  // Second digest's algorithm id (after sha1's 2 + 20 bytes) set to sha1 as well.
  PutU16(m.data, m.original.events[5].offset + kAgileFirstAlgOffset + 22, 0x0004);
  ExpectRejected(m.data, "event 5: two digests for algorithm sha1");
}

TEST(ParseEventLogRejects, SpecIdWithZeroAlgorithms) {
  Bytes data = ReadTestData(kGlinux);
  PutU32(data, kSpecIdNumAlgsOffset, 0);
  ExpectRejected(data, "event 0: Spec ID Event03: numberOfAlgorithms is 0");
}

TEST(ParseEventLogRejects, SpecIdWithTooManyAlgorithms) {
  Bytes data = ReadTestData(kGlinux);
  PutU32(data, kSpecIdNumAlgsOffset, 0x10000);
  ExpectRejected(data, "event 0: Spec ID Event03: numberOfAlgorithms 65536 exceeds cap 16");
}

TEST(ParseEventLogRejects, SpecIdUnknownAlgorithmWithoutSize) {
  Bytes data = ReadTestData(kGlinux);
  PutU16(data, kSpecIdNumAlgsOffset + 4, 0x0099);  // first entry: sha1 -> unknown
  PutU16(data, kSpecIdNumAlgsOffset + 6, 0);
  ExpectRejected(data, "event 0: Spec ID Event03: algorithm alg_0x0099 has digest size 0");
}

TEST(ParseEventLogRejects, SpecIdKnownAlgorithmWithWrongSize) {
  Bytes data = ReadTestData(kGlinux);
  PutU16(data, kSpecIdNumAlgsOffset + 10, 20);  // sha256 entry's size
  ExpectRejected(data,
                 "event 0: Spec ID Event03: algorithm sha256 has digest size 20, expected 32");
}

TEST(ParseEventLogRejects, SpecIdAlgorithmListedTwice) {
  Bytes data = ReadTestData(kGlinux);
  PutU16(data, kSpecIdNumAlgsOffset + 8, 0x0004);  // sha256 entry -> sha1
  PutU16(data, kSpecIdNumAlgsOffset + 10, 20);
  ExpectRejected(data, "event 0: Spec ID Event03: algorithm sha1 listed twice");
}

TEST(ParseEventLogRejects, SpecIdVendorInfoOutsideTheEvent) {
  ExpectRejected(ReadTestData("eventlogs/tpm2-tools__specid-vendordata.bin"),
                 "event 0: Spec ID vendorInfo: truncated");
}

TEST(ParseEventLogRejects, SpecIdTrailingBytes) {
  // Grow the Spec ID event by one byte (taken from the next record): one byte after vendorInfo.
  Bytes data = ReadTestData(kGlinux);
  PutU32(data, 28, 38);
  ExpectRejected(data, "event 0: Spec ID event: 1 trailing bytes");
}

TEST(ParseEventLogRejects, StartupLocalityNotZeroThreeOrFour) {
  Mutated m = Load(kGlinux);
  m.data[m.original.events[1].offset + 12 + 22 + 34 + 4 + 16] = 7;
  ExpectRejected(m.data, "event 1: StartupLocality 7 is not 0, 3 or 4");
}

TEST(ParseEventLogRejects, StartupLocalityOnAnotherPcr) {
  Mutated m = Load(kGlinux);
  PutU32(m.data, m.original.events[1].offset, 1);
  ExpectRejected(m.data, "event 1: StartupLocality event on PCR 1");
}

TEST(ParseEventLogRejects, StartupLocalityWrongSize) {
  // Make event 1's data one byte longer by also shrinking... simplest: claim 16 bytes, then the
  // locality byte becomes the next record's first byte, and the event is 16 bytes.
  Mutated m = Load(kGlinux);
  const size_t size_at = EventSizeOffset(m.original, m.original.events[1]);
  PutU32(m.data, size_at, 16);
  m.data.erase(m.data.begin() + static_cast<long>(size_at + 4 + 16));  // NOLINT(runtime/int)
  ExpectRejected(m.data, "event 1: StartupLocality: event data is 16 bytes, expected 17");
}

TEST(ParseEventLogRejects, MeasuredEventOnPcrAbove23) {
  Mutated m = Load(kGlinux);
  PutU32(m.data, m.original.events[20].offset, 24);
  ExpectRejected(m.data, "event 20: PCR index 24 out of range (0-23)");
  Mutated legacy = Load(kOptionRom);
  PutU32(legacy.data, legacy.original.events[30].offset, 0xFFFFFFFF);
  ExpectRejected(legacy.data, "event 30: PCR index 4294967295 out of range (0-23)");
}

// Records built by hand for the orderings a byte flip cannot produce.
Bytes AgileRecord(uint32_t pcr, uint32_t type, const std::vector<SpecIdAlgorithm>& algs,
                  const Bytes& data) {
  Bytes out;
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  u32(pcr);
  u32(type);
  u32(static_cast<uint32_t>(algs.size()));
  for (const auto& a : algs) {
    out.push_back(static_cast<uint8_t>(a.alg));
    out.push_back(static_cast<uint8_t>(a.alg >> 8));
    out.insert(out.end(), a.digest_size, 0xAB);
  }
  u32(static_cast<uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes GlinuxHeader() {
  Bytes data = ReadTestData(kGlinux);
  data.resize(32 + 37);  // the Spec ID record only
  return data;
}

Bytes Locality(uint8_t l) {
  Bytes d = ToBytes(absl::string_view("StartupLocality\0", 16));
  d.push_back(l);
  return d;
}

const std::vector<SpecIdAlgorithm> kGlinuxAlgs = {{0x0004, 20}, {0x000B, 32}};

TEST(ParseEventLogRejects, StartupLocalityAfterPcr0Measurement) {
  Bytes data = GlinuxHeader();
  Bytes crtm = AgileRecord(0, kEvSCrtmVersion, kGlinuxAlgs, Bytes(16, 1));
  Bytes loc = AgileRecord(0, kEvNoAction, kGlinuxAlgs, Locality(3));
  data.insert(data.end(), crtm.begin(), crtm.end());
  data.insert(data.end(), loc.begin(), loc.end());
  ExpectRejected(data, "event 2: StartupLocality event after a PCR 0 measurement");
}

TEST(ParseEventLogRejects, SecondStartupLocality) {
  Bytes data = GlinuxHeader();
  for (int i = 0; i < 2; ++i) {
    Bytes loc = AgileRecord(0, kEvNoAction, kGlinuxAlgs, Locality(3));
    data.insert(data.end(), loc.begin(), loc.end());
  }
  ExpectRejected(data, "event 2: second StartupLocality event");
}

TEST(ParseEventLogRejects, SpecIdEventAfterTheFirstRecord) {
  Bytes data = GlinuxHeader();
  Bytes spec(data.begin() + 32, data.end());
  Bytes rec = AgileRecord(0, kEvNoAction, kGlinuxAlgs, spec);
  data.insert(data.end(), rec.begin(), rec.end());
  ExpectRejected(data, "event 1: Spec ID event after the first record");
}

TEST(ParseEventLogRejects, TooManyEvents) {
  // Minimal legacy records (32 bytes each): one more than the cap.
  Bytes data((kMaxEvents + 1) * 32, 0);
  for (size_t i = 0; i <= kMaxEvents; ++i) {
    PutU32(data, i * 32 + 4, kEvSeparator);  // non-zero so it is not padding
  }
  ExpectRejected(data, "event 100000: log has more than 100000 events");
}

TEST(ParseEventLog, HeaderOnlyLogParses) {
  auto log = ParseEventLog(GlinuxHeader());
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->events.size(), 1u);
  EXPECT_EQ(log->format, LogFormat::kCryptoAgile);
}

}  // namespace
}  // namespace bootgate::attest
