#include "verifier/service/context.h"

#include "verifier/util/x509_util.h"

namespace bootgate::verifier {

std::string NodeIdForAkName(attest::ByteSpan ak_name) {
  return "node-" + Sha256Hex(ak_name).substr(0, 16);
}

bool IsValidNodeId(const std::string& id) {
  if (id.size() != 21 || id.compare(0, 5, "node-") != 0) return false;
  for (size_t i = 5; i < id.size(); ++i) {
    const char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace bootgate::verifier
