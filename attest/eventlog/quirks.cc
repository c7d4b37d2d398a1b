#include "attest/eventlog/quirks.h"

namespace bootgate::attest {

namespace {
bool AllZero(ByteSpan data) {
  for (uint8_t b : data) {
    if (b != 0) return false;
  }
  return true;
}
}  // namespace

bool IsQuirkLogZeroPadding(ByteSpan rest) { return !rest.empty() && AllZero(rest); }

bool IsQuirkSp800155ZeroPadding(ByteSpan rest) {
  // Seen: 6 bytes. Allow up to 16 so a differently aligned build still parses, no more.
  return !rest.empty() && rest.size() <= 16 && AllZero(rest);
}

}  // namespace bootgate::attest
