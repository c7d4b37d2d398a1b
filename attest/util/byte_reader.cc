#include "attest/util/byte_reader.h"

#include "absl/strings/str_cat.h"

namespace bootgate::attest {

absl::Status ByteReader::Truncated(absl::string_view field, size_t need) const {
  return absl::InvalidArgumentError(absl::StrCat(field, ": truncated at offset ", pos_, " (need ",
                                                 need, " bytes, ", remaining(), " left)"));
}

absl::StatusOr<ByteSpan> ByteReader::Span(size_t n, absl::string_view field) {
  if (n > remaining()) return Truncated(field, n);
  ByteSpan out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

absl::StatusOr<Bytes> ByteReader::Copy(size_t n, absl::string_view field) {
  auto span = Span(n, field);
  if (!span.ok()) return span.status();
  return Bytes(span->begin(), span->end());
}

absl::Status ByteReader::Skip(size_t n, absl::string_view field) {
  if (n > remaining()) return Truncated(field, n);
  pos_ += n;
  return absl::OkStatus();
}

absl::StatusOr<uint8_t> ByteReader::U8(absl::string_view field) {
  if (remaining() < 1) return Truncated(field, 1);
  return data_[pos_++];
}

absl::StatusOr<uint16_t> ByteReader::U16Le(absl::string_view field) {
  if (remaining() < 2) return Truncated(field, 2);
  uint16_t v = static_cast<uint16_t>(data_[pos_] | data_[pos_ + 1] << 8);
  pos_ += 2;
  return v;
}

absl::StatusOr<uint32_t> ByteReader::U32Le(absl::string_view field) {
  if (remaining() < 4) return Truncated(field, 4);
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | data_[pos_ + i];
  pos_ += 4;
  return v;
}

absl::StatusOr<uint64_t> ByteReader::U64Le(absl::string_view field) {
  if (remaining() < 8) return Truncated(field, 8);
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | data_[pos_ + i];
  pos_ += 8;
  return v;
}

absl::StatusOr<uint16_t> ByteReader::U16Be(absl::string_view field) {
  if (remaining() < 2) return Truncated(field, 2);
  uint16_t v = static_cast<uint16_t>(data_[pos_] << 8 | data_[pos_ + 1]);
  pos_ += 2;
  return v;
}

absl::StatusOr<uint32_t> ByteReader::U32Be(absl::string_view field) {
  if (remaining() < 4) return Truncated(field, 4);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | data_[pos_ + i];
  pos_ += 4;
  return v;
}

absl::Status ByteReader::ExpectEnd(absl::string_view what) const {
  if (empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", remaining(), " trailing bytes"));
}

}  // namespace bootgate::attest
