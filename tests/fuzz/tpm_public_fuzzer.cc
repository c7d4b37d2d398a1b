// Fuzzes the AK/EK public-area path: ParsePublicArea (TPM2B_PUBLIC or bare TPMT_PUBLIC), the name,
// the OpenSSL key conversion and both key checks. Invariant: a parsed area re-marshals to bytes
// that parse to the same name.
#include <cstdint>
#include <cstdlib>

#include "attest/tpm/key_checks.h"
#include "attest/tpm/public_area.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootgate::attest;  // NOLINT(build/namespaces): fuzz entry point
  auto pub = ParsePublicArea(ByteSpan(data, size));
  if (!pub.ok()) return 0;
  auto name = ObjectName(*pub);
  auto key = PublicKeyFromPublicArea(*pub);
  (void)key;
  (void)CheckAkPublic(*pub);
  (void)CheckEkPublic(*pub);
  (void)DescribeObjectAttributes(pub->objectAttributes);
  (void)DescribeKey(*pub);
  auto bytes = MarshalPublicArea(*pub);
  if (!bytes.ok()) std::abort();
  auto again = ParsePublicArea(*bytes);
  if (!again.ok()) std::abort();
  auto again_name = ObjectName(*again);
  if (name.ok() != again_name.ok() || (name.ok() && *name != *again_name)) std::abort();
  return 0;
}
