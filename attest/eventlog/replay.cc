#include "attest/eventlog/replay.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/eventlog/event_types.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

namespace {

constexpr size_t kNumPcrs = kMaxPcrIndex + 1;
constexpr size_t kMaxBankDigest = 64;

// The digest implementation for a bank, fetched once per process, or nullptr when this OpenSSL
// cannot compute it (EVP_sm3() can be non-null yet unusable when no provider has SM3). Explicitly
// fetched: with the legacy EVP_sha256()-style objects OpenSSL 3 re-fetches the implementation on
// every EVP_DigestInit_ex, which was most of the replay time. The fetched objects live for the
// whole process on purpose (a cache, like OpenSSL's own method store).
const EVP_MD* ReplayMd(uint16_t alg) {
  struct Entry {
    uint16_t alg;
    const EVP_MD* md;
  };
  static const std::array<Entry, 8> kTable = [] {
    const uint16_t algs[8] = {0x0004, 0x000B, 0x000C, 0x000D, 0x0012, 0x0027, 0x0028, 0x0029};
    std::array<Entry, 8> t{};
    for (size_t i = 0; i < 8; ++i) {
      t[i] = {algs[i], nullptr};
      const EVP_MD* legacy = EvpMdForAlg(algs[i]);
      if (legacy == nullptr || !Hash(algs[i], ByteSpan()).ok()) continue;
      t[i].md = EVP_MD_fetch(nullptr, EVP_MD_get0_name(legacy), nullptr);
    }
    ERR_clear_error();
    return t;
  }();
  for (const auto& e : kTable) {
    if (e.alg == alg) return e.md;
  }
  return nullptr;
}

bool CanReplay(uint16_t alg) { return ReplayMd(alg) != nullptr; }

// PC Client PCRs 17-22 (D-RTM) start at all-ones after TPM2_Startup; a dynamic launch resets them
// to zero, which a firmware (S-RTM) log never records.
bool StartsAtOnes(uint32_t pcr) { return pcr >= 17 && pcr <= 22; }

// One bank's running state: fixed arrays, so the hot loop does not allocate.
struct Bank {
  uint16_t alg = 0;
  size_t size = 0;
  std::unique_ptr<Hasher> hasher;
  // Each PCR's value, followed by room for the digest being extended: PCR || digest is hashed
  // in place.
  std::array<std::array<uint8_t, 2 * kMaxBankDigest>, kNumPcrs> pcr{};
  uint32_t extended = 0;  // bit i: PCR i was extended
};

const EventDigest* FindDigest(const Event& e, uint16_t alg) {
  for (const auto& d : e.digests) {
    if (d.alg == alg) return &d;
  }
  return nullptr;
}

std::string AlgList(const std::vector<SpecIdAlgorithm>& algs) {
  std::vector<std::string> names;
  for (const auto& a : algs) names.push_back(HashAlgName(a.alg));
  return absl::StrJoin(names, ", ");
}

}  // namespace

Bytes InitialPcrValue(const UnverifiedEventLog& log, uint16_t alg, uint32_t pcr) {
  size_t size = KnownDigestSize(alg).value_or(0);
  for (const auto& a : log.algorithms) {
    if (a.alg == alg) size = a.digest_size;
  }
  Bytes v(size, StartsAtOnes(pcr) ? 0xFF : 0);
  if (pcr == 0 && log.startup_locality.has_value() && !v.empty()) {
    v.back() = *log.startup_locality;
  }
  return v;
}

absl::StatusOr<PcrValues> ReplayEventLog(const UnverifiedEventLog& log) {
  std::vector<Bank> banks;
  banks.reserve(log.algorithms.size());
  for (const auto& a : log.algorithms) {
    if (!CanReplay(a.alg)) continue;
    Bank& b = banks.emplace_back();
    b.alg = a.alg;
    b.size = a.digest_size;
    b.hasher = std::make_unique<Hasher>(ReplayMd(a.alg));
    if (b.hasher->size() != b.size || b.size > kMaxBankDigest) {
      return absl::InternalError(absl::StrCat("replay: ", HashAlgName(a.alg), " digest size ",
                                              b.size, " but OpenSSL's is ", b.hasher->size()));
    }
    for (uint32_t i = 0; i < kNumPcrs; ++i) {
      if (StartsAtOnes(i)) std::memset(b.pcr[i].data(), 0xFF, b.size);
    }
    if (log.startup_locality.has_value()) b.pcr[0][b.size - 1] = *log.startup_locality;
  }

  Bytes out;  // reused by every Final
  out.reserve(kMaxBankDigest);
  for (const Event& e : log.events) {
    if (e.type == kEvNoAction) continue;
    if (e.pcr > kMaxPcrIndex) {
      return absl::InvalidArgumentError(
          absl::StrCat("event ", e.index, ": PCR index ", e.pcr, " out of range"));
    }
    for (Bank& b : banks) {
      const EventDigest* d = FindDigest(e, b.alg);
      if (d == nullptr || d->digest.size() != b.size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "event ", e.index, ": no ", HashAlgName(b.alg), " digest of ", b.size, " bytes"));
      }
      // PCR_new = H(PCR_old || digest)
      auto& value = b.pcr[e.pcr];
      std::memcpy(value.data() + b.size, d->digest.data(), b.size);
      b.hasher->Update(ByteSpan(value.data(), 2 * b.size));
      b.hasher->Final(&out);
      std::memcpy(value.data(), out.data(), b.size);
      b.extended |= 1u << e.pcr;
    }
  }

  PcrValues result;
  for (const Bank& b : banks) {
    PcrBank& bank = result[b.alg];
    for (uint32_t i = 0; i < kNumPcrs; ++i) {
      if (b.extended & (1u << i)) bank[i] = Bytes(b.pcr[i].begin(), b.pcr[i].begin() + b.size);
    }
  }
  return result;
}

absl::StatusOr<VerifiedEventLog> VerifyEventLog(const UnverifiedEventLog& log,
                                                const PcrValues& quoted) {
  if (quoted.empty()) return absl::InvalidArgumentError("verify event log: no quoted PCR banks");
  for (const auto& [alg, bank] : quoted) {
    bool in_log = false;
    for (const auto& a : log.algorithms) in_log = in_log || a.alg == alg;
    if (!in_log || !CanReplay(alg)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "verify event log: quoted bank ", HashAlgName(alg),
          " cannot be replayed from this log (its banks: ", AlgList(log.algorithms), ")"));
    }
  }
  ASSIGN_OR_RETURN(PcrValues replayed, ReplayEventLog(log));

  uint32_t has_events = 0;
  for (const Event& e : log.events) {
    if (e.type != kEvNoAction) has_events |= 1u << e.pcr;
  }

  VerifiedEventLog out;
  out.format = log.format;
  out.startup_locality = log.startup_locality;
  uint32_t bad = 0;
  for (const auto& [alg, bank] : quoted) {
    const PcrBank& replay_bank = replayed[alg];
    for (const auto& [pcr, value] : bank) {
      auto it = replay_bank.find(pcr);
      Bytes replay = it != replay_bank.end() ? it->second : InitialPcrValue(log, alg, pcr);
      if (replay != value) {
        const bool events = pcr <= kMaxPcrIndex && (has_events & (1u << pcr));
        out.mismatches.push_back({alg, pcr, std::move(replay), value, events});
        if (pcr <= kMaxPcrIndex) bad |= 1u << pcr;
      }
    }
  }
  uint32_t verified = 0;
  for (uint32_t pcr = 0; pcr <= kMaxPcrIndex; ++pcr) {
    if (!(has_events & (1u << pcr))) continue;
    bool covered = true;
    for (const auto& [alg, bank] : quoted) covered = covered && bank.count(pcr) > 0;
    if (!covered) {
      out.unquoted_pcrs.insert(pcr);
    } else if (!(bad & (1u << pcr))) {
      verified |= 1u << pcr;
      out.verified_pcrs.insert(pcr);
    }
  }
  for (const Event& e : log.events) {
    if (e.type != kEvNoAction && (verified & (1u << e.pcr))) out.events.push_back(e);
  }
  return out;
}

}  // namespace bootgate::attest
