// Human-readable fields of an X.509 certificate for `bootgate-agent info`.
#ifndef BOOTGATE_NODE_AGENT_X509_SUMMARY_H_
#define BOOTGATE_NODE_AGENT_X509_SUMMARY_H_

#include <string>

#include "absl/status/statusor.h"
#include "attest/util/bytes.h"

namespace bootgate::agent {

struct X509Summary {
  std::string subject;     // RFC 2253
  std::string issuer;      // RFC 2253
  std::string serial;      // hex
  std::string not_before;  // ISO 8601 UTC, e.g. 2026-11-22T11:08:39Z
  std::string not_after;
  std::string key;  // "RSA-2048", "EC-secp384r1", ...
  std::string pem;
};

absl::StatusOr<X509Summary> SummarizeCertificate(attest::ByteSpan der);

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_X509_SUMMARY_H_
