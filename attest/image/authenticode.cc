#include "attest/image/authenticode.h"

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "attest/crypto/hash.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {
namespace {

// Feeds the same bytes to several hashers.
class MultiHasher {
 public:
  static absl::StatusOr<MultiHasher> Create(absl::Span<const uint16_t> algs) {
    MultiHasher m;
    for (size_t i = 0; i < algs.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (algs[i] == algs[j]) {
          return absl::InvalidArgumentError(
              absl::StrCat("Authenticode: algorithm ", HashAlgName(algs[i]), " requested twice"));
        }
      }
      const EVP_MD* md = EvpMdForAlg(algs[i]);
      if (md == nullptr) {
        return absl::UnimplementedError(
            absl::StrCat("Authenticode: cannot compute ", HashAlgName(algs[i])));
      }
      m.algs_.push_back(algs[i]);
      m.hashers_.push_back(std::make_unique<Hasher>(md));
    }
    return m;
  }

  void Update(ByteSpan data) {
    for (auto& h : hashers_) h->Update(data);
  }

  std::vector<EventDigest> Final() {
    std::vector<EventDigest> out(hashers_.size());
    for (size_t i = 0; i < hashers_.size(); ++i) {
      out[i].alg = algs_[i];
      hashers_[i]->Final(&out[i].digest);
    }
    return out;
  }

 private:
  std::vector<uint16_t> algs_;
  std::vector<std::unique_ptr<Hasher>> hashers_;
};

}  // namespace

absl::StatusOr<std::vector<EventDigest>> AuthenticodeDigests(const PeImage& image, ByteSpan file,
                                                             absl::Span<const uint16_t> algs) {
  if (file.size() != image.file_size) {
    return absl::InvalidArgumentError("Authenticode: file does not match its parsed PE image");
  }
  ASSIGN_OR_RETURN(MultiHasher h, MultiHasher::Create(algs));

  // 1. Headers without CheckSum and the Certificate Table entry. ParsePeImage guarantees that
  // both lie inside SizeOfHeaders, which lies inside the file.
  const size_t headers_end = image.size_of_headers;
  h.Update(file.subspan(0, image.checksum_offset));
  size_t pos = image.checksum_offset + 4;
  if (image.certificate_entry_offset.has_value()) {
    h.Update(file.subspan(pos, *image.certificate_entry_offset - pos));
    pos = *image.certificate_entry_offset + 8;
  }
  h.Update(file.subspan(pos, headers_end - pos));
  uint64_t sum_of_bytes_hashed = headers_end;

  // 2. Sections with raw data, in file order (stable for equal offsets, like EDK2's insertion
  // sort). ParsePeImage checked that each lies inside the file.
  std::vector<const PeSection*> sections;
  for (const PeSection& s : image.sections) {
    if (s.size_of_raw_data > 0) sections.push_back(&s);
  }
  std::stable_sort(sections.begin(), sections.end(), [](const PeSection* a, const PeSection* b) {
    return a->pointer_to_raw_data < b->pointer_to_raw_data;
  });
  for (const PeSection* s : sections) {
    h.Update(file.subspan(s->pointer_to_raw_data, s->size_of_raw_data));
    sum_of_bytes_hashed += s->size_of_raw_data;
  }

  // 3. Trailing data before the Certificate Table.
  uint64_t cert_size = 0;
  if (auto cert = image.CertificateTable(); cert.has_value()) cert_size = cert->size;
  if (image.file_size > sum_of_bytes_hashed + cert_size) {
    h.Update(file.subspan(static_cast<size_t>(sum_of_bytes_hashed),
                          static_cast<size_t>(image.file_size - sum_of_bytes_hashed - cert_size)));
  }
  return h.Final();
}

absl::StatusOr<std::vector<EventDigest>> AuthenticodeDigests(ByteSpan file,
                                                             absl::Span<const uint16_t> algs) {
  ASSIGN_OR_RETURN(PeImage image, ParsePeImage(file));
  return AuthenticodeDigests(image, file, algs);
}

absl::StatusOr<Bytes> AuthenticodeDigest(ByteSpan file, uint16_t alg) {
  const uint16_t algs[] = {alg};
  ASSIGN_OR_RETURN(std::vector<EventDigest> d, AuthenticodeDigests(file, algs));
  return std::move(d[0].digest);
}

}  // namespace bootgate::attest
