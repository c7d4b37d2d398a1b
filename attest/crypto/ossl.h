// One RAII owner per OpenSSL handle type. Every OpenSSL object bootgate creates is held by one of
// these from the moment it exists.
#ifndef BOOTGATE_ATTEST_CRYPTO_OSSL_H_
#define BOOTGATE_ATTEST_CRYPTO_OSSL_H_

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace bootgate::attest {

struct EvpPkeyDeleter { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct EvpPkeyCtxDeleter { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct EvpMdCtxDeleter { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct EvpCipherCtxDeleter { void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); } };
struct EvpMacDeleter { void operator()(EVP_MAC* p) const { EVP_MAC_free(p); } };
struct EvpMacCtxDeleter { void operator()(EVP_MAC_CTX* p) const { EVP_MAC_CTX_free(p); } };
struct BignumDeleter { void operator()(BIGNUM* p) const { BN_free(p); } };
struct BnCtxDeleter { void operator()(BN_CTX* p) const { BN_CTX_free(p); } };
struct OsslParamBldDeleter { void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); } };
struct OsslParamDeleter { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct X509Deleter { void operator()(X509* p) const { X509_free(p); } };
struct EcdsaSigDeleter { void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); } };

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, EvpCipherCtxDeleter>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, EvpMacDeleter>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, EvpMacCtxDeleter>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumDeleter>;
using BnCtxPtr = std::unique_ptr<BN_CTX, BnCtxDeleter>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslParamBldDeleter>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslParamDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;

// The one place that turns OpenSSL's thread-local error queue into a Status. Drains the queue so a
// stale error never leaks into a later call. `operation` names what we were doing.
absl::Status OpenSslError(absl::string_view operation,
                          absl::StatusCode code = absl::StatusCode::kInternal);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_CRYPTO_OSSL_H_
