#include "attest/eventlog/event_log.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_data.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/quirks.h"
#include "attest/pcr/pcr_values.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

namespace {

constexpr size_t kSha1Size = 20;
constexpr uint16_t kSha1Alg = static_cast<uint16_t>(HashAlg::kSha1);

// Reads one record's fields, turning every shortfall into "event N: truncated <field> ...".
class RecordReader {
 public:
  RecordReader(ByteReader& r, size_t index) : r_(r), index_(index) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("event ", index_, ": ", what));
  }

  absl::Status Need(size_t n, absl::string_view field) const {
    if (r_.remaining() >= n) return absl::OkStatus();
    return Error(absl::StrCat("truncated ", field, " at offset ", r_.offset(), " (need ", n,
                              " bytes, ", r_.remaining(), " left)"));
  }

  absl::StatusOr<uint32_t> U32(absl::string_view field) {
    RETURN_IF_ERROR(Need(4, field));
    return *r_.U32Le(field);
  }
  absl::StatusOr<uint16_t> U16(absl::string_view field) {
    RETURN_IF_ERROR(Need(2, field));
    return *r_.U16Le(field);
  }
  absl::StatusOr<Bytes> Copy(size_t n, absl::string_view field) {
    RETURN_IF_ERROR(Need(n, field));
    return *r_.Copy(n, field);
  }

  // EventSize + Event data, with the size capped before anything is allocated.
  absl::StatusOr<Bytes> EventData() {
    ASSIGN_OR_RETURN(uint32_t size, U32("event size"));
    if (size > kMaxEventDataBytes) {
      return Error(absl::StrCat("event size ", size, " exceeds cap ", kMaxEventDataBytes));
    }
    return Copy(size, "event data");
  }

 private:
  ByteReader& r_;
  size_t index_;
};

// TCG_PCR_EVENT: the SHA-1 format of TPM 1.2 logs and of every log's first record.
absl::StatusOr<Event> ParseLegacyRecord(ByteReader& r, size_t index) {
  Event e;
  e.index = index;
  e.offset = r.offset();
  RecordReader rr(r, index);
  ASSIGN_OR_RETURN(e.pcr, rr.U32("PCR index"));
  ASSIGN_OR_RETURN(e.type, rr.U32("event type"));
  e.digests.resize(1);
  e.digests[0].alg = kSha1Alg;
  ASSIGN_OR_RETURN(e.digests[0].digest, rr.Copy(kSha1Size, "SHA-1 digest"));
  ASSIGN_OR_RETURN(e.data, rr.EventData());
  return e;
}

// TCG_PCR_EVENT2, digest sizes from the Spec ID event.
absl::StatusOr<Event> ParseAgileRecord(ByteReader& r, size_t index,
                                       const std::vector<SpecIdAlgorithm>& algorithms) {
  Event e;
  e.index = index;
  e.offset = r.offset();
  RecordReader rr(r, index);
  ASSIGN_OR_RETURN(e.pcr, rr.U32("PCR index"));
  ASSIGN_OR_RETURN(e.type, rr.U32("event type"));
  ASSIGN_OR_RETURN(uint32_t count, rr.U32("digest count"));
  if (count > kMaxDigestsPerEvent) {
    return rr.Error(absl::StrCat("digest count ", count, " exceeds cap ", kMaxDigestsPerEvent));
  }
  if (count != algorithms.size()) {
    return rr.Error(absl::StrCat("digest count ", count, ", but the Spec ID event lists ",
                                 algorithms.size(), " algorithms"));
  }
  e.digests.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(uint16_t alg, rr.U16("digest algorithm"));
    const SpecIdAlgorithm* spec = nullptr;
    for (const auto& a : algorithms) {
      if (a.alg == alg) spec = &a;
    }
    if (spec == nullptr) {
      return rr.Error(absl::StrCat("digest for algorithm ", HashAlgName(alg),
                                   " which the Spec ID event does not list"));
    }
    for (uint32_t j = 0; j < i; ++j) {
      if (e.digests[j].alg == alg) {
        return rr.Error(absl::StrCat("two digests for algorithm ", HashAlgName(alg)));
      }
    }
    e.digests[i].alg = alg;
    if (r.remaining() < spec->digest_size) {  // checked here so the name is built only on error
      RETURN_IF_ERROR(rr.Need(spec->digest_size, absl::StrCat(HashAlgName(alg), " digest")));
    }
    ASSIGN_OR_RETURN(e.digests[i].digest, rr.Copy(spec->digest_size, "digest"));
  }
  ASSIGN_OR_RETURN(e.data, rr.EventData());
  return e;
}

// Checks that need the log so far (see ParseEventLog's contract).
class LogChecker {
 public:
  explicit LogChecker(bool has_spec_id) : has_spec_id_(has_spec_id) {}

  absl::Status Check(const Event& e, UnverifiedEventLog& log) {
    auto error = [&](absl::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat("event ", e.index, ": ", what));
    };
    if (e.type == kEvNoAction) {
      if (e.index > 0 && IsSpecIdEvent(e.data)) {
        return error("Spec ID event after the first record");
      }
      if (IsStartupLocalityEvent(e.data)) {
        if (!has_spec_id_) {
          return error("StartupLocality event in a log without a Spec ID header");
        }
        auto loc = DecodeStartupLocalityEvent(e.data);
        if (!loc.ok()) return error(loc.status().message());
        if (e.pcr != 0) return error(absl::StrCat("StartupLocality event on PCR ", e.pcr));
        if (log.startup_locality.has_value()) return error("second StartupLocality event");
        if (pcr0_measured_) return error("StartupLocality event after a PCR 0 measurement");
        if (loc->locality != 0 && loc->locality != 3 && loc->locality != 4) {
          return error(absl::StrCat("StartupLocality ", loc->locality, " is not 0, 3 or 4"));
        }
        log.startup_locality = loc->locality;
      }
      return absl::OkStatus();
    }
    if (e.pcr > kMaxPcrIndex) {
      return error(absl::StrCat("PCR index ", e.pcr, " out of range (0-", kMaxPcrIndex, ")"));
    }
    if (e.pcr == 0) pcr0_measured_ = true;
    return absl::OkStatus();
  }

 private:
  bool has_spec_id_;
  bool pcr0_measured_ = false;
};

}  // namespace

absl::StatusOr<UnverifiedEventLog> ParseEventLog(ByteSpan data) {
  if (data.size() > kMaxEventLogBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("event log: ", data.size(), " bytes exceeds cap ", kMaxEventLogBytes));
  }
  if (data.empty()) return absl::InvalidArgumentError("event log is empty");
  // A zero-filled buffer would otherwise parse as one EV_PREBOOT_CERT record plus padding.
  if (IsQuirkLogZeroPadding(data)) {
    return absl::InvalidArgumentError("event log is all zero bytes (an unfilled log buffer)");
  }

  UnverifiedEventLog log;
  ByteReader r(data);
  ASSIGN_OR_RETURN(Event first, ParseLegacyRecord(r, 0));

  bool has_spec_id = false;
  if (first.type == kEvNoAction && IsSpecIdEvent(first.data)) {
    auto spec = DecodeSpecIdEvent(first.data);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("event 0: ", spec.status().message()));
    }
    has_spec_id = true;
    if (!spec->algorithms.empty()) {
      log.format = LogFormat::kCryptoAgile;
      log.algorithms = spec->algorithms;
    }
  }
  if (log.algorithms.empty()) {
    log.format = LogFormat::kSha1Legacy;
    log.algorithms = {{kSha1Alg, static_cast<uint16_t>(kSha1Size)}};
  }

  LogChecker checker(has_spec_id);
  RETURN_IF_ERROR(checker.Check(first, log));
  log.events.push_back(std::move(first));
  // Real logs average well over 100 bytes per record; this avoids most regrowth.
  log.events.reserve(std::min(data.size() / 128 + 1, kMaxEvents));

  while (!r.empty()) {
    if (IsQuirkLogZeroPadding(r.rest())) {
      log.trailing_zero_bytes = r.remaining();
      break;
    }
    const size_t index = log.events.size();
    if (index >= kMaxEvents) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", index, ": log has more than ", kMaxEvents, " events"));
    }
    absl::StatusOr<Event> e = log.format == LogFormat::kCryptoAgile
                                  ? ParseAgileRecord(r, index, log.algorithms)
                                  : ParseLegacyRecord(r, index);
    if (!e.ok()) return e.status();
    RETURN_IF_ERROR(checker.Check(*e, log));
    log.events.push_back(*std::move(e));
  }
  return log;
}

}  // namespace bootgate::attest
