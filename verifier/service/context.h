// What every verifier service is given: the store, the clock, the randomness and the logger.
// Everything is borrowed and must outlive the services; the RandomSource must be thread-safe
// (gRPC calls handlers concurrently).
#ifndef BOOTGATE_VERIFIER_SERVICE_CONTEXT_H_
#define BOOTGATE_VERIFIER_SERVICE_CONTEXT_H_

#include <string>

#include "attest/crypto/random.h"
#include "verifier/store/store.h"
#include "verifier/util/clock.h"
#include "verifier/util/logging.h"

namespace bootgate::verifier {

class Metrics;
class Notifier;

struct ServiceContext {
  Store* store = nullptr;
  const Clock* clock = nullptr;
  attest::RandomSource* rng = nullptr;
  Logger* logger = nullptr;
  // Optional (null in tests that do not need them): counters, and the notifier to wake after a
  // recorded state change.
  Metrics* metrics = nullptr;
  Notifier* notifier = nullptr;
};

// "node-" + the first 16 hex digits of SHA-256(AK name).
std::string NodeIdForAkName(attest::ByteSpan ak_name);
// node ids as NodeIdForAkName makes them: "node-" + 16 lower-case hex digits.
bool IsValidNodeId(const std::string& id);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_SERVICE_CONTEXT_H_
