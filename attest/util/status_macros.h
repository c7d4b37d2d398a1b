// Small equivalents of absl's status macros (Debian 12's Abseil 20220623 lacks status_macros.h).
#ifndef BOOTGATE_ATTEST_UTIL_STATUS_MACROS_H_
#define BOOTGATE_ATTEST_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define BOOTGATE_CONCAT_INNER_(a, b) a##b
#define BOOTGATE_CONCAT_(a, b) BOOTGATE_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                          \
  do {                                                 \
    ::absl::Status bootgate_status_ = (expr);          \
    if (!bootgate_status_.ok()) return bootgate_status_; \
  } while (false)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error returns the
// status, else moves the value into `lhs` (which may be a declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(BOOTGATE_CONCAT_(bootgate_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                           \
  if (!statusor.ok()) return statusor.status();     \
  lhs = std::move(statusor).value()

#endif  // BOOTGATE_ATTEST_UTIL_STATUS_MACROS_H_
