#include "node-agent/tpm/esys.h"

#include <sys/stat.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attest/util/status_macros.h"
#include "node-agent/tpm/tss_error.h"

namespace bootgate::agent {

ScopedTr& ScopedTr::operator=(ScopedTr&& other) noexcept {
  if (this != &other) {
    Reset();
    esys_ = other.esys_;
    handle_ = std::exchange(other.handle_, ESYS_TR_NONE);
    release_ = other.release_;
  }
  return *this;
}

void ScopedTr::Reset() {
  if (handle_ == ESYS_TR_NONE || esys_ == nullptr) return;
  if (release_ == Release::kFlush) {
    (void)Esys_FlushContext(esys_, handle_);
  } else {
    (void)Esys_TR_Close(esys_, &handle_);
  }
  handle_ = ESYS_TR_NONE;
}

namespace {

// For the device TCTI, a missing device node means this machine has no (enabled) TPM, which an
// operator needs to hear differently from "the TPM did not answer".
absl::Status CheckDeviceNode(const std::string& conf) {
  if (!absl::StartsWith(conf, "device")) return absl::OkStatus();
  std::string path = "/dev/tpmrm0";
  const size_t colon = conf.find(':');
  if (colon != std::string::npos && colon + 1 < conf.size()) path = conf.substr(colon + 1);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return TpmError(TpmErrorKind::kNoTpm,
                    absl::StrCat("no TPM: ", path, " does not exist (TCTI \"", conf, "\")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TpmConnection>> TpmConnection::Open(const std::string& tcti) {
  const std::string conf = tcti.empty() ? kDefaultTcti : tcti;
  RETURN_IF_ERROR(CheckDeviceNode(conf));

  TSS2_TCTI_CONTEXT* raw_tcti = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(conf.c_str(), &raw_tcti);
  TctiPtr tcti_ctx(raw_tcti);
  RETURN_IF_ERROR(TssStatus(rc, absl::StrCat("TCTI \"", conf, "\"")));

  ESYS_CONTEXT* raw_esys = nullptr;
  rc = Esys_Initialize(&raw_esys, tcti_ctx.get(), nullptr);
  EsysContextPtr esys_ctx(raw_esys);
  RETURN_IF_ERROR(TssStatus(rc, "Esys_Initialize"));

  return std::unique_ptr<TpmConnection>(
      new TpmConnection(conf, std::move(tcti_ctx), std::move(esys_ctx)));
}

}  // namespace bootgate::agent
