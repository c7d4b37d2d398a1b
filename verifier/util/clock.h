// Injected time. Everything in the verifier that asks "what time is it" (nonce and enrollment
// expiry, certificate validity, token expiry, record timestamps) asks a Clock, so tests can move
// time instead of sleeping.
#ifndef BOOTGATE_VERIFIER_UTIL_CLOCK_H_
#define BOOTGATE_VERIFIER_UTIL_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace bootgate::verifier {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_UTIL_CLOCK_H_
