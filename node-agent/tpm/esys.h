// RAII owners for everything tpm2-tss hands out: the TCTI context, the ESYS context, ESYS output
// parameters and ESYS_TR handles of transient objects, sessions and persistent objects. A TPM
// reached over a raw socket (swtpm, mssim) has no resource manager, so a transient object or
// session that is not flushed stays in the TPM until it runs out of slots (TPM_RC_OBJECT_MEMORY).
#ifndef BOOTGATE_NODE_AGENT_TPM_ESYS_H_
#define BOOTGATE_NODE_AGENT_TPM_ESYS_H_

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bootgate::agent {

struct TctiDeleter {
  void operator()(TSS2_TCTI_CONTEXT* tcti) const { Tss2_TctiLdr_Finalize(&tcti); }
};
using TctiPtr = std::unique_ptr<TSS2_TCTI_CONTEXT, TctiDeleter>;

struct EsysContextDeleter {
  void operator()(ESYS_CONTEXT* esys) const { Esys_Finalize(&esys); }
};
using EsysContextPtr = std::unique_ptr<ESYS_CONTEXT, EsysContextDeleter>;

// Owns one ESYS output parameter. Pass out() to the ESYS call: the object is owned from the moment
// ESYS writes the pointer, whatever the return code, and freed with Esys_Free.
//
//   EsysOut<TPM2B_PUBLIC> pub;
//   TSS2_RC rc = Esys_ReadPublic(ctx, h, ..., pub.out(), nullptr, nullptr);
//   RETURN_IF_ERROR(TssStatus(rc, "TPM2_ReadPublic"));
template <typename T>
class EsysOut {
 public:
  EsysOut() = default;
  ~EsysOut() { Esys_Free(ptr_); }
  EsysOut(const EsysOut&) = delete;
  EsysOut& operator=(const EsysOut&) = delete;

  T** out() {
    Esys_Free(ptr_);
    ptr_ = nullptr;
    return &ptr_;
  }
  T* get() const { return ptr_; }
  T* operator->() const { return ptr_; }
  T& operator*() const { return *ptr_; }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  T* ptr_ = nullptr;
};

// Owns an ESYS_TR. Transient objects and sessions are flushed from the TPM (Esys_FlushContext);
// persistent objects and other handles opened with Esys_TR_FromTPMPublic are only closed in ESYS
// (Esys_TR_Close), never evicted.
class ScopedTr {
 public:
  enum class Release { kFlush, kClose };

  ScopedTr() = default;
  ScopedTr(ESYS_CONTEXT* esys, ESYS_TR handle, Release release)
      : esys_(esys), handle_(handle), release_(release) {}
  ~ScopedTr() { Reset(); }
  ScopedTr(ScopedTr&& other) noexcept { *this = std::move(other); }
  ScopedTr& operator=(ScopedTr&& other) noexcept;
  ScopedTr(const ScopedTr&) = delete;
  ScopedTr& operator=(const ScopedTr&) = delete;

  ESYS_TR get() const { return handle_; }
  bool empty() const { return handle_ == ESYS_TR_NONE; }
  // Flushes (or closes) now. Errors are ignored: there is nothing better to do on a cleanup path,
  // and the TPM drops the object at its next reset anyway.
  void Reset();

 private:
  ESYS_CONTEXT* esys_ = nullptr;
  ESYS_TR handle_ = ESYS_TR_NONE;
  Release release_ = Release::kFlush;
};

// The default TCTI: the kernel's in-kernel resource manager.
inline constexpr char kDefaultTcti[] = "device:/dev/tpmrm0";

// A connection to one TPM: TCTI + ESYS context. Not thread-safe; one operation at a time.
class TpmConnection {
 public:
  // `tcti` is a tpm2-tss TCTI configuration string as Tss2_TctiLdr_Initialize takes it:
  // "device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321", "mssim:...", "tabrmd". Empty = the
  // default. A missing device node is reported as no TPM (TpmErrorKind::kNoTpm), a TCTI that
  // cannot be loaded or cannot connect as kTctiUnreachable.
  static absl::StatusOr<std::unique_ptr<TpmConnection>> Open(const std::string& tcti);

  ESYS_CONTEXT* esys() const { return esys_.get(); }
  const std::string& tcti() const { return tcti_conf_; }

 private:
  TpmConnection(std::string tcti_conf, TctiPtr tcti, EsysContextPtr esys)
      : tcti_conf_(std::move(tcti_conf)), tcti_(std::move(tcti)), esys_(std::move(esys)) {}

  std::string tcti_conf_;
  // Declared before esys_ so that it is destroyed after it: ESYS uses the TCTI until finalized.
  TctiPtr tcti_;
  EsysContextPtr esys_;
};

}  // namespace bootgate::agent

#endif  // BOOTGATE_NODE_AGENT_TPM_ESYS_H_
