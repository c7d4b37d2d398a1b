// Bounds-checked cursor over untrusted bytes. Every read either succeeds completely or returns an
// error naming the field and the offset; nothing reads past the end.
#ifndef BOOTGATE_ATTEST_UTIL_BYTE_READER_H_
#define BOOTGATE_ATTEST_UTIL_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "attest/util/bytes.h"

namespace bootgate::attest {

class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  ByteSpan rest() const { return data_.subspan(pos_); }

  // Little-endian integers (TCG event logs, UEFI structures).
  absl::StatusOr<uint8_t> U8(absl::string_view field);
  absl::StatusOr<uint16_t> U16Le(absl::string_view field);
  absl::StatusOr<uint32_t> U32Le(absl::string_view field);
  absl::StatusOr<uint64_t> U64Le(absl::string_view field);
  // Big-endian integers (TPM wire format).
  absl::StatusOr<uint16_t> U16Be(absl::string_view field);
  absl::StatusOr<uint32_t> U32Be(absl::string_view field);

  // A view of the next `n` bytes; the view borrows from the reader's buffer.
  absl::StatusOr<ByteSpan> Span(size_t n, absl::string_view field);
  absl::StatusOr<Bytes> Copy(size_t n, absl::string_view field);
  absl::Status Skip(size_t n, absl::string_view field);

  // Error for a reader that should have been consumed completely.
  absl::Status ExpectEnd(absl::string_view what) const;

 private:
  absl::Status Truncated(absl::string_view field, size_t need) const;

  ByteSpan data_;
  size_t pos_ = 0;
};

}  // namespace bootgate::attest

#endif  // BOOTGATE_ATTEST_UTIL_BYTE_READER_H_
