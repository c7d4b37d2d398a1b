// Firmware quirks the event-log parser and decoders accept, each named after what real firmware
// does and where it was seen. Everything else that deviates from the TCG specs is an error.
//
//  * Log buffer zero padding: some firmware hands over the whole reserved log area, so zero bytes
//    follow the last record. Accepted only when every remaining byte is zero.
//  * Windows PCR 0xFFFFFFFF EV_NO_ACTION: Windows appends an EV_NO_ACTION record (SIPA data) to
//    the SHA-1 log with PCR index -1 (go-attestation option_rom_eventlog). PCR indexes above 23
//    are accepted only on EV_NO_ACTION records, which are never extended.
//  * shim image-load padding: shim sizes its UEFI_IMAGE_LOAD_EVENT with sizeof() of a struct that
//    ends in a DevicePath[1] placeholder, so 8-9 bytes (often uninitialised, non-zero) follow the
//    device path, and LengthOfDevicePath is 0 for images it loads itself (go-attestation
//    sb_cert_eventlog, go-tpm-tools rhel8-uefi.bin, GCE Ubuntu logs). Accepted up to
//    kQuirkShimImagePaddingMax bytes; the bytes are not measured (the digest is of the PE image).
//  * shim variable-authority padding: the same sizeof() habit leaves 6 bytes after VariableData in
//    shim's EV_EFI_VARIABLE_AUTHORITY "Shim" event (same logs). Accepted up to
//    kQuirkShimVariablePaddingMax bytes, on EV_EFI_VARIABLE_AUTHORITY only.
//  * SP800-155 Event3 zero padding: GCE firmware (go-tpm-tools eventlogwithsp800155.bin) follows
//    the PlatformCertLocator with 6 zero bytes.
#ifndef BOOTGATE_ATTEST_EVENTLOG_QUIRKS_H_
#define BOOTGATE_ATTEST_EVENTLOG_QUIRKS_H_

#include <cstddef>

#include "attest/util/bytes.h"

namespace bootgate::attest {

inline constexpr size_t kQuirkShimImagePaddingMax = 16;
inline constexpr size_t kQuirkShimVariablePaddingMax = 8;

// Log buffer zero padding: `rest` (the bytes after the last record) is all zero.
bool IsQuirkLogZeroPadding(ByteSpan rest);

// SP800-155 Event3 zero padding: `rest` (after the last field) is a few zero bytes.
bool IsQuirkSp800155ZeroPadding(ByteSpan rest);

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_EVENTLOG_QUIRKS_H_
