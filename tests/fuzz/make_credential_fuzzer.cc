// Fuzzes the untrusted inputs of software MakeCredential: an EK public area (as an enrolling
// agent sends it), the credential and the object name, with fixed randomness; and the tpm2-tools
// credential file parser over the whole input.
//
// Input: u16 BE n || n bytes EK public (TPM2B_PUBLIC or TPMT_PUBLIC) || u8 m || m bytes
// credential || the rest is the object name.
// Seeds (corpus/make_credential_fuzzer/): the QEMU/swtpm RSA EK from tests/data, swtpm ECC P-256
// and P-384 EKs with their AK names, rejected variants, and credential files written by
// tpm2_makecredential 5.4 for RSA, P-256 and P-384 EKs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "attest/tpm/make_credential.h"
#include "attest/tpm/public_area.h"
#include "tests/testing/fixed_random.h"

namespace {

using bootgate::attest::ByteSpan;

void CheckToolFileRoundTrip(const bootgate::attest::MadeCredential& made) {
  auto parsed =
      bootgate::attest::ParseTpm2ToolsCredential(bootgate::attest::EncodeTpm2ToolsCredential(made));
  if (!parsed.ok() || parsed->credential_blob != made.credential_blob ||
      parsed->secret != made.secret) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(data, size);
  auto file = bootgate::attest::ParseTpm2ToolsCredential(input);
  if (file.ok()) CheckToolFileRoundTrip(*file);

  if (size < 2) return 0;
  const size_t public_len = static_cast<size_t>(data[0]) << 8 | data[1];
  if (size < 2 + public_len + 1) return 0;
  const ByteSpan public_area = input.subspan(2, public_len);
  const size_t credential_len = data[2 + public_len];
  const size_t credential_at = 2 + public_len + 1;
  if (size < credential_at + credential_len) return 0;
  const ByteSpan credential = input.subspan(credential_at, credential_len);
  const ByteSpan name = input.subspan(credential_at + credential_len);

  auto ek = bootgate::attest::ParsePublicArea(public_area);
  if (!ek.ok()) return 0;
  bootgate::testing::FixedRandom rng_a(size), rng_b(size);
  auto a = bootgate::attest::MakeCredential(*ek, credential, name, rng_a);
  if (!a.ok()) return 0;
  CheckToolFileRoundTrip(*a);
  // Equal randomness, equal output: nothing else may feed into the result.
  auto b = bootgate::attest::MakeCredential(*ek, credential, name, rng_b);
  if (!b.ok() || b->credential_blob != a->credential_blob || b->secret != a->secret) std::abort();
  return 0;
}
