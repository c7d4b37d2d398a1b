// Deterministic RandomSource implementations for tests and fuzzers (header-only).
#ifndef BOOTGATE_TESTS_TESTING_FIXED_RANDOM_H_
#define BOOTGATE_TESTS_TESTING_FIXED_RANDOM_H_

#include <openssl/evp.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "attest/crypto/random.h"
#include "attest/util/bytes.h"

namespace bootgate::testing {

// Hands out exactly the scripted bytes, in order; asking for more than is left is an error, so a
// test notices when code draws more (or less, via remaining()) randomness than it expects.
class ScriptedRandom : public attest::RandomSource {
 public:
  explicit ScriptedRandom(attest::Bytes script) : script_(std::move(script)) {}

  absl::Status Fill(absl::Span<uint8_t> out) override {
    if (out.size() > remaining()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("ScriptedRandom: asked for ", out.size(), " bytes, ", remaining(), " left"));
    }
    std::copy_n(script_.begin() + static_cast<std::ptrdiff_t>(pos_), out.size(), out.begin());
    pos_ += out.size();
    return absl::OkStatus();
  }
  size_t remaining() const { return script_.size() - pos_; }

 private:
  attest::Bytes script_;
  size_t pos_ = 0;
};

// An endless deterministic stream: block i = SHA-256(seed || u64 i). Same seed, same bytes.
class FixedRandom : public attest::RandomSource {
 public:
  explicit FixedRandom(uint64_t seed = 0) : seed_(seed) {}

  absl::Status Fill(absl::Span<uint8_t> out) override {
    for (uint8_t& b : out) {
      if (used_ == block_.size()) Refill();
      b = block_[used_++];
    }
    return absl::OkStatus();
  }

 private:
  void Refill() {
    uint8_t input[16];
    for (int i = 0; i < 8; ++i) {
      input[i] = static_cast<uint8_t>(seed_ >> (56 - 8 * i));
      input[8 + i] = static_cast<uint8_t>(counter_ >> (56 - 8 * i));
    }
    ++counter_;
    unsigned int len = 0;
    EVP_Digest(input, sizeof(input), block_.data(), &len, EVP_sha256(), nullptr);
    used_ = 0;
  }

  uint64_t seed_;
  uint64_t counter_ = 0;
  attest::Bytes block_ = attest::Bytes(32);
  size_t used_ = 32;
};

// A RandomSource that always fails, for error-path tests.
class FailingRandom : public attest::RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t>) override {
    return absl::UnavailableError("FailingRandom: no randomness");
  }
};

}  // namespace bootgate::testing

#endif  // BOOTGATE_TESTS_TESTING_FIXED_RANDOM_H_
