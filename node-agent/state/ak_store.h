// The agent's state directory: where the AK survives restarts.
//
//   DIR/ak.pub     TPM2B_PUBLIC as returned by TPM2_Create (tss2-mu marshalled)
//   DIR/ak.priv    TPM2B_PRIVATE as returned by TPM2_Create (wrapped by the parent EK)
//   DIR/ak.name    the AK's TPM name, binary: nameAlg (u16 big-endian) || SHA-256(TPMT_PUBLIC)
//   DIR/ak.parent  one text line: "<EK slot id> <parent EK name hex>", e.g. "rsa2048 000b4168..."
//
// The directory is created 0700 and every file is written 0600 through a temporary file and a
// rename. ak.name is the commit marker: Write removes it first and writes it last, and Read treats
// a directory without ak.name as holding no AK, so a crash mid-write never leaves a mixed AK.
#ifndef BOOTGATE_NODE_AGENT_STATE_AK_STORE_H_
#define BOOTGATE_NODE_AGENT_STATE_AK_STORE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node-agent/tpm/ak.h"

namespace bootgate::agent {

inline constexpr char kDefaultStateDir[] = "/var/lib/bootgate-agent";

class AkStore {
 public:
  explicit AkStore(std::string dir) : dir_(std::move(dir)) {}

  // nullopt when the directory holds no AK (no ak.name). An inconsistent AK (a missing file,
  // ak.name not the name of ak.pub, an unparsable ak.parent) is a DATA_LOSS error naming the file.
  absl::StatusOr<std::optional<AkKeyBlob>> Read() const;
  absl::Status Write(const AkKeyBlob& ak) const;

  const std::string& dir() const { return dir_; }
  std::string PublicPath() const { return dir_ + "/ak.pub"; }
  std::string PrivatePath() const { return dir_ + "/ak.priv"; }
  std::string NamePath() const { return dir_ + "/ak.name"; }
  std::string ParentPath() const { return dir_ + "/ak.parent"; }

 private:
  std::string dir_;
};

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_STATE_AK_STORE_H_
