#include "node-agent/state/ak_store.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "attest/tpm/public_area.h"
#include "attest/util/status_macros.h"
#include "node-agent/io/files.h"

namespace bootgate::agent {
namespace {

constexpr size_t kMaxStateFileBytes = 16 * 1024;
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;

absl::StatusOr<attest::Bytes> ReadStateFile(const std::string& path) {
  absl::StatusOr<attest::Bytes> data = ReadFileCapped(path, kMaxStateFileBytes);
  if (absl::IsNotFound(data.status())) {
    return absl::DataLossError(absl::StrCat("incomplete AK state: ", path, " is missing"));
  }
  return data;
}

}  // namespace

absl::StatusOr<std::optional<AkKeyBlob>> AkStore::Read() const {
  if (!FileExists(NamePath())) return std::nullopt;
  AkKeyBlob ak;
  ASSIGN_OR_RETURN(ak.public_blob, ReadStateFile(PublicPath()));
  ASSIGN_OR_RETURN(ak.private_blob, ReadStateFile(PrivatePath()));
  ASSIGN_OR_RETURN(ak.name, ReadStateFile(NamePath()));
  ASSIGN_OR_RETURN(attest::Bytes parent, ReadStateFile(ParentPath()));

  absl::StatusOr<TPMT_PUBLIC> pub = ak.PublicArea();
  if (!pub.ok()) {
    return absl::DataLossError(absl::StrCat(PublicPath(), ": ", pub.status().message()));
  }
  ASSIGN_OR_RETURN(attest::Bytes name, attest::ObjectName(*pub));
  if (name != ak.name) {
    return absl::DataLossError(absl::StrCat(NamePath(), " (", attest::HexEncode(ak.name),
                                            ") is not the name of ", PublicPath(), " (",
                                            attest::HexEncode(name), ")"));
  }
  const std::string line(absl::StripAsciiWhitespace(std::string(parent.begin(), parent.end())));
  std::vector<std::string> parts = absl::StrSplit(line, ' ');
  absl::StatusOr<attest::Bytes> parent_name =
      parts.size() == 2 ? attest::HexDecode(parts[1]) : absl::InvalidArgumentError("2 fields");
  if (!parent_name.ok() || FindEkSlotById(parts[0]) == nullptr) {
    return absl::DataLossError(
        absl::StrCat(ParentPath(), ": expected \"<EK slot> <EK name hex>\", got \"", line, "\""));
  }
  ak.parent_slot = parts[0];
  ak.parent_name = *std::move(parent_name);
  return ak;
}

absl::Status AkStore::Write(const AkKeyBlob& ak) const {
  RETURN_IF_ERROR(MakeDirectories(dir_, kDirMode));
  RETURN_IF_ERROR(RemoveFileIfExists(NamePath()));
  RETURN_IF_ERROR(WriteFileAtomic(PrivatePath(), ak.private_blob, kFileMode));
  RETURN_IF_ERROR(WriteFileAtomic(PublicPath(), ak.public_blob, kFileMode));
  const std::string parent =
      absl::StrCat(ak.parent_slot, " ", attest::HexEncode(ak.parent_name), "\n");
  RETURN_IF_ERROR(WriteFileAtomic(ParentPath(), attest::AsSpan(parent), kFileMode));
  return WriteFileAtomic(NamePath(), ak.name, kFileMode);
}

}  // namespace bootgate::agent
