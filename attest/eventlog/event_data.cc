#include "attest/eventlog/event_data.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cstring>
#include <ctime>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/eventlog/device_path.h"
#include "attest/eventlog/event_types.h"
#include "attest/eventlog/quirks.h"
#include "attest/util/byte_reader.h"
#include "attest/util/status_macros.h"

namespace bootgate::attest {

namespace {

constexpr size_t kSignatureSize = 16;
// TPMU_HA's largest member (SHA-512, SHA3-512).
constexpr uint16_t kMaxDigestSize = 64;

absl::Status Invalid(absl::string_view what) { return absl::InvalidArgumentError(what); }

bool HasPrefix(ByteSpan data, const char* prefix, size_t n) {
  return data.size() >= n && std::memcmp(data.data(), prefix, n) == 0;
}

absl::string_view AsStringView(ByteSpan data) {
  return absl::string_view(reinterpret_cast<const char*>(data.data()), data.size());
}

// An 8-bit string field with optional NUL terminators, for display.
std::string DisplayString(ByteSpan data) {
  size_t end = data.size();
  while (end > 0 && data[end - 1] == 0) --end;
  return EscapeForDisplay(AsStringView(data.subspan(0, end)));
}

// UINT8 size + bytes.
absl::StatusOr<std::string> ReadByteSizedString(ByteReader& r, absl::string_view field) {
  ASSIGN_OR_RETURN(uint8_t size, r.U8(field));
  ASSIGN_OR_RETURN(ByteSpan bytes, r.Span(size, field));
  return DisplayString(bytes);
}

absl::StatusOr<TcgLocator> ReadLocator(ByteReader& r, absl::string_view field) {
  TcgLocator loc;
  ASSIGN_OR_RETURN(loc.type, r.U32Le(absl::StrCat(field, " type")));
  ASSIGN_OR_RETURN(uint32_t length, r.U32Le(absl::StrCat(field, " length")));
  ASSIGN_OR_RETURN(loc.data, r.Copy(length, field));
  switch (loc.type) {
    case 1:
      loc.text = DisplayString(loc.data);
      break;
    case 2: {
      ASSIGN_OR_RETURN(loc.text, DevicePathToText(loc.data));
      break;
    }
    case 3: {
      ByteReader v(loc.data);
      ASSIGN_OR_RETURN(EfiGuid guid, ReadGuid(v, absl::StrCat(field, " variable GUID")));
      ASSIGN_OR_RETURN(std::string name, ReadUtf16Z(v, absl::StrCat(field, " variable name")));
      RETURN_IF_ERROR(v.ExpectEnd(absl::StrCat(field, " variable")));
      loc.text = absl::StrCat(guid.ToString(), ":", EscapeForDisplay(name));
      break;
    }
    default:
      loc.text = HexEncode(loc.data);
      break;
  }
  return loc;
}

// Shared by UEFI_HANDOFF_TABLE_POINTERS{,2}.
absl::Status ReadHandoffTableList(ByteReader& r, HandoffTablesEvent* out) {
  ASSIGN_OR_RETURN(uint64_t count, r.U64Le("NumberOfTables"));
  // Each EFI_CONFIGURATION_TABLE is 24 bytes; cap before allocating.
  if (count > r.remaining() / 24) {
    return Invalid(
        absl::StrCat("NumberOfTables ", count, " exceeds the ", r.remaining(), " bytes left"));
  }
  out->tables.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    HandoffTablesEvent::Table t;
    ASSIGN_OR_RETURN(t.vendor_guid, ReadGuid(r, "VendorGuid"));
    ASSIGN_OR_RETURN(t.address, r.U64Le("VendorTable"));
    out->tables.push_back(t);
  }
  return r.ExpectEnd("UEFI_HANDOFF_TABLE_POINTERS");
}

bool IsBootOptionName(absl::string_view name) {
  if (name.size() != 8 || !absl::StartsWith(name, "Boot")) return false;
  for (char c : name.substr(4)) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace

// ---- EV_NO_ACTION ----------------------------------------------------------------------------

bool IsSpecIdEvent(ByteSpan data) { return HasPrefix(data, "Spec ID Event", 13); }

absl::StatusOr<SpecIdEvent> DecodeSpecIdEvent(ByteSpan data) {
  ByteReader r(data);
  SpecIdEvent out;
  ASSIGN_OR_RETURN(ByteSpan sig, r.Span(kSignatureSize, "Spec ID signature"));
  const bool event03 = HasPrefix(sig, kSpecIdEvent03Signature, kSignatureSize);
  if (!event03 && !HasPrefix(sig, "Spec ID Event02", kSignatureSize) &&
      !HasPrefix(sig, "Spec ID Event00", kSignatureSize)) {
    return Invalid(absl::StrCat("Spec ID: unknown signature '", DisplayString(sig), "'"));
  }
  out.signature = DisplayString(sig);
  ASSIGN_OR_RETURN(out.platform_class, r.U32Le("Spec ID platformClass"));
  ASSIGN_OR_RETURN(out.spec_version_minor, r.U8("Spec ID specVersionMinor"));
  ASSIGN_OR_RETURN(out.spec_version_major, r.U8("Spec ID specVersionMajor"));
  ASSIGN_OR_RETURN(out.spec_errata, r.U8("Spec ID specErrata"));
  ASSIGN_OR_RETURN(out.uintn_size, r.U8("Spec ID uintnSize"));
  if (event03) {
    ASSIGN_OR_RETURN(uint32_t count, r.U32Le("Spec ID numberOfAlgorithms"));
    if (count == 0) return Invalid("Spec ID Event03: numberOfAlgorithms is 0");
    if (count > kMaxDigestsPerEvent) {
      return Invalid(absl::StrCat("Spec ID Event03: numberOfAlgorithms ", count, " exceeds cap ",
                                  kMaxDigestsPerEvent));
    }
    out.algorithms.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      SpecIdAlgorithm a;
      ASSIGN_OR_RETURN(a.alg, r.U16Le("Spec ID algorithmId"));
      ASSIGN_OR_RETURN(a.digest_size, r.U16Le("Spec ID digestSize"));
      const std::string name = HashAlgName(a.alg);
      if (a.digest_size == 0 || a.digest_size > kMaxDigestSize) {
        return Invalid(absl::StrCat("Spec ID Event03: algorithm ", name, " has digest size ",
                                    a.digest_size, " (must be 1..", kMaxDigestSize, ")"));
      }
      std::optional<size_t> known = KnownDigestSize(a.alg);
      if (known.has_value() && *known != a.digest_size) {
        return Invalid(absl::StrCat("Spec ID Event03: algorithm ", name, " has digest size ",
                                    a.digest_size, ", expected ", *known));
      }
      for (const auto& prev : out.algorithms) {
        if (prev.alg == a.alg) {
          return Invalid(absl::StrCat("Spec ID Event03: algorithm ", name, " listed twice"));
        }
      }
      out.algorithms.push_back(a);
    }
  }
  ASSIGN_OR_RETURN(uint8_t vendor_size, r.U8("Spec ID vendorInfoSize"));
  ASSIGN_OR_RETURN(out.vendor_info, r.Copy(vendor_size, "Spec ID vendorInfo"));
  RETURN_IF_ERROR(r.ExpectEnd("Spec ID event"));
  return out;
}

bool IsStartupLocalityEvent(ByteSpan data) {
  return HasPrefix(data, kStartupLocalitySignature, kSignatureSize);
}

absl::StatusOr<StartupLocalityEvent> DecodeStartupLocalityEvent(ByteSpan data) {
  if (!IsStartupLocalityEvent(data)) return Invalid("StartupLocality: bad signature");
  if (data.size() != kSignatureSize + 1) {
    return Invalid(
        absl::StrCat("StartupLocality: event data is ", data.size(), " bytes, expected 17"));
  }
  return StartupLocalityEvent{data[kSignatureSize]};
}

bool IsSp800155Event(ByteSpan data) {
  // "SP800-155 Event" + NUL (version 1), or + '2' / '3'.
  return HasPrefix(data, kSp800155EventSignature, 15) && data.size() >= kSignatureSize &&
         (data[15] == 0 || data[15] == '2' || data[15] == '3');
}

absl::StatusOr<Sp800155Event> DecodeSp800155Event(ByteSpan data) {
  if (!IsSp800155Event(data)) return Invalid("SP800-155 event: bad signature");
  Sp800155Event out;
  out.version = data[15] == 0 ? 1 : data[15] - '0';
  ByteReader r(data);
  RETURN_IF_ERROR(r.Skip(kSignatureSize, "SP800-155 signature"));
  ASSIGN_OR_RETURN(out.vendor_id, r.U32Le("SP800-155 VendorId"));
  ASSIGN_OR_RETURN(out.reference_manifest_guid, ReadGuid(r, "SP800-155 ReferenceManifestGuid"));
  if (out.version == 1 && r.empty()) return out;  // The first revision stopped here.
  ASSIGN_OR_RETURN(out.platform_manufacturer,
                   ReadByteSizedString(r, "SP800-155 PlatformManufacturerStr"));
  ASSIGN_OR_RETURN(out.platform_model, ReadByteSizedString(r, "SP800-155 PlatformModel"));
  ASSIGN_OR_RETURN(out.platform_version, ReadByteSizedString(r, "SP800-155 PlatformVersion"));
  ASSIGN_OR_RETURN(out.firmware_manufacturer,
                   ReadByteSizedString(r, "SP800-155 FirmwareManufacturerStr"));
  ASSIGN_OR_RETURN(out.firmware_manufacturer_id, r.U32Le("SP800-155 FirmwareManufacturerId"));
  ASSIGN_OR_RETURN(out.firmware_version, ReadByteSizedString(r, "SP800-155 FirmwareVersion"));
  if (out.version == 3) {
    ASSIGN_OR_RETURN(out.rim_locator, ReadLocator(r, "SP800-155 RIMLocator"));
    ASSIGN_OR_RETURN(out.platform_cert_locator, ReadLocator(r, "SP800-155 PlatformCertLocator"));
  }
  if (!r.empty() && !IsQuirkSp800155ZeroPadding(r.rest())) {
    return r.ExpectEnd("SP800-155 event");
  }
  return out;
}

// ---- UEFI variables --------------------------------------------------------------------------

absl::StatusOr<UefiVariableData> DecodeUefiVariableData(ByteSpan data, size_t max_padding) {
  ByteReader r(data);
  UefiVariableData out;
  ASSIGN_OR_RETURN(out.vendor, ReadGuid(r, "UEFI_VARIABLE_DATA VariableName"));
  ASSIGN_OR_RETURN(uint64_t name_chars, r.U64Le("UEFI_VARIABLE_DATA UnicodeNameLength"));
  ASSIGN_OR_RETURN(uint64_t data_length, r.U64Le("UEFI_VARIABLE_DATA VariableDataLength"));
  if (name_chars > r.remaining() / 2) {
    return Invalid(absl::StrCat("UEFI_VARIABLE_DATA: UnicodeNameLength ", name_chars,
                                " exceeds the ", r.remaining(), " bytes left"));
  }
  ASSIGN_OR_RETURN(ByteSpan name, r.Span(name_chars * 2, "UEFI_VARIABLE_DATA UnicodeName"));
  if (data_length > r.remaining() || r.remaining() - data_length > max_padding) {
    return Invalid(absl::StrCat("UEFI_VARIABLE_DATA: VariableDataLength ", data_length, " but ",
                                r.remaining(), " bytes follow the name"));
  }
  ASSIGN_OR_RETURN(out.data, r.Copy(data_length, "UEFI_VARIABLE_DATA VariableData"));
  out.padding_bytes = r.remaining();
  ASSIGN_OR_RETURN(std::string utf8, Utf16LeToUtf8(name, /*stop_at_nul=*/true));
  out.name = EscapeForDisplay(utf8);
  return out;
}

absl::StatusOr<std::vector<EfiSignatureList>> DecodeEfiSignatureLists(ByteSpan data) {
  std::vector<EfiSignatureList> lists;
  ByteReader r(data);
  while (!r.empty()) {
    const size_t list_offset = r.offset();
    const std::string where = absl::StrCat("EFI_SIGNATURE_LIST at offset ", list_offset);
    EfiSignatureList list;
    ASSIGN_OR_RETURN(list.type, ReadGuid(r, absl::StrCat(where, " SignatureType")));
    ASSIGN_OR_RETURN(uint32_t list_size, r.U32Le(absl::StrCat(where, " SignatureListSize")));
    ASSIGN_OR_RETURN(uint32_t header_size, r.U32Le(absl::StrCat(where, " SignatureHeaderSize")));
    ASSIGN_OR_RETURN(uint32_t sig_size, r.U32Le(absl::StrCat(where, " SignatureSize")));
    constexpr uint32_t kListHeader = 28;
    if (list_size < kListHeader || list_size - kListHeader > r.remaining()) {
      return Invalid(absl::StrCat(where, ": SignatureListSize ", list_size, " invalid (",
                                  r.remaining() + kListHeader, " bytes left)"));
    }
    const uint32_t body = list_size - kListHeader;
    if (header_size > body) {
      return Invalid(
          absl::StrCat(where, ": SignatureHeaderSize ", header_size, " exceeds the list"));
    }
    // Each EFI_SIGNATURE_DATA holds at least its owner GUID.
    if (sig_size < 16) {
      return Invalid(absl::StrCat(where, ": SignatureSize ", sig_size, " < 16"));
    }
    if ((body - header_size) % sig_size != 0) {
      return Invalid(absl::StrCat(where, ": ", body - header_size,
                                  " bytes of signatures is not a multiple of SignatureSize ",
                                  sig_size));
    }
    ASSIGN_OR_RETURN(list.header, r.Copy(header_size, absl::StrCat(where, " header")));
    const uint32_t count = (body - header_size) / sig_size;
    list.signatures.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      EfiSignatureData sig;
      ASSIGN_OR_RETURN(sig.owner, ReadGuid(r, "SignatureOwner"));
      ASSIGN_OR_RETURN(sig.data, r.Copy(sig_size - 16, "SignatureData"));
      list.signatures.push_back(std::move(sig));
    }
    lists.push_back(std::move(list));
  }
  return lists;
}

absl::StatusOr<EfiSignatureData> DecodeEfiSignatureData(ByteSpan data) {
  ByteReader r(data);
  EfiSignatureData out;
  ASSIGN_OR_RETURN(out.owner, ReadGuid(r, "EFI_SIGNATURE_DATA SignatureOwner"));
  ASSIGN_OR_RETURN(out.data, r.Copy(r.remaining(), "EFI_SIGNATURE_DATA SignatureData"));
  return out;
}

namespace {

std::string NameToText(const X509_NAME* name) {
  std::vector<std::string> parts;
  const int n = X509_NAME_entry_count(name);
  for (int i = 0; i < n; ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    if (e == nullptr) continue;
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(e);
    const int nid = OBJ_obj2nid(obj);
    std::string key;
    if (nid != NID_undef) {
      key = OBJ_nid2sn(nid);
    } else {
      char buf[80];
      OBJ_obj2txt(buf, sizeof(buf), obj, 1);
      key = buf;
    }
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    std::string value;
    if (len >= 0 && utf8 != nullptr) {
      value = EscapeForDisplay(absl::string_view(reinterpret_cast<char*>(utf8), len));
    }
    OPENSSL_free(utf8);
    parts.push_back(absl::StrCat(key, "=", value));
  }
  return absl::StrJoin(parts, ", ");
}

std::string TimeToText(const ASN1_TIME* t) {
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "";
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace

absl::StatusOr<X509Summary> SummarizeX509(ByteSpan der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));  // NOLINT(runtime/int)
  if (cert == nullptr) {
    ERR_clear_error();
    return Invalid("not a DER X.509 certificate");
  }
  if (p != der.data() + der.size()) {
    return Invalid(
        absl::StrCat("X.509 certificate followed by ", der.data() + der.size() - p, " bytes"));
  }
  X509Summary out;
  out.subject = NameToText(X509_get_subject_name(cert.get()));
  out.issuer = NameToText(X509_get_issuer_name(cert.get()));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
  BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (bn != nullptr) {
    char* hex = BN_bn2hex(bn.get());
    if (hex != nullptr) out.serial = absl::AsciiStrToLower(hex);
    OPENSSL_free(hex);
  }
  out.not_before = TimeToText(X509_get0_notBefore(cert.get()));
  out.not_after = TimeToText(X509_get0_notAfter(cert.get()));
  ASSIGN_OR_RETURN(out.sha256_fingerprint, Hash(static_cast<uint16_t>(HashAlg::kSha256), der));
  ERR_clear_error();
  return out;
}

absl::StatusOr<EfiLoadOption> DecodeEfiLoadOption(ByteSpan data) {
  ByteReader r(data);
  EfiLoadOption out;
  ASSIGN_OR_RETURN(out.attributes, r.U32Le("EFI_LOAD_OPTION Attributes"));
  ASSIGN_OR_RETURN(uint16_t path_length, r.U16Le("EFI_LOAD_OPTION FilePathListLength"));
  ASSIGN_OR_RETURN(std::string description, ReadUtf16Z(r, "EFI_LOAD_OPTION Description"));
  out.description = EscapeForDisplay(description);
  ASSIGN_OR_RETURN(ByteSpan paths, r.Span(path_length, "EFI_LOAD_OPTION FilePathList"));
  ASSIGN_OR_RETURN(out.device_paths, DevicePathListToText(paths));
  ASSIGN_OR_RETURN(out.optional_data, r.Copy(r.remaining(), "EFI_LOAD_OPTION OptionalData"));
  return out;
}

absl::StatusOr<std::vector<uint16_t>> DecodeBootOrder(ByteSpan data) {
  if (data.size() % 2 != 0) {
    return Invalid(absl::StrCat("BootOrder: odd length ", data.size()));
  }
  ByteReader r(data);
  std::vector<uint16_t> out;
  out.reserve(data.size() / 2);
  while (!r.empty()) {
    ASSIGN_OR_RETURN(uint16_t n, r.U16Le("BootOrder"));
    out.push_back(n);
  }
  return out;
}

absl::StatusOr<UefiVariableEvent> DecodeUefiVariableEvent(uint32_t event_type, ByteSpan data) {
  UefiVariableEvent out;
  const bool authority =
      event_type == kEvEfiVariableAuthority || event_type == kEvEfiSpdmDeviceAuthority;
  ASSIGN_OR_RETURN(out.variable,
                   DecodeUefiVariableData(data, authority ? kQuirkShimVariablePaddingMax : 0));
  const UefiVariableData& v = out.variable;
  const std::string& name = v.name;
  const bool global = v.vendor == kEfiGlobalVariableGuid;
  const bool security_db = v.vendor == kEfiImageSecurityDatabaseGuid;
  const bool shim = v.vendor == kShimLockGuid;

  if (authority) {
    // db entries are one EFI_SIGNATURE_DATA (owner + certificate or image hash). shim logs its
    // built-in certificate bare ("Shim"), MokList entries as EFI_SIGNATURE_DATA and SbatLevel as
    // text, so look at the bytes rather than trusting the name.
    if (security_db) {
      ASSIGN_OR_RETURN(out.signature_data, DecodeEfiSignatureData(v.data));
    } else if (v.data.size() > 16 && SummarizeX509(ByteSpan(v.data).subspan(16)).ok()) {
      ASSIGN_OR_RETURN(out.signature_data, DecodeEfiSignatureData(v.data));
    } else if (SummarizeX509(v.data).ok()) {
      out.certificate = v.data;
    } else if (auto text = AsUtf8Text(v.data); text.has_value()) {
      out.text = EscapeForDisplay(*text);
    }
    return out;
  }

  if (event_type == kEvEfiVariableBoot || event_type == kEvEfiVariableBoot2) {
    if (name == "BootOrder") {
      ASSIGN_OR_RETURN(out.boot_order, DecodeBootOrder(v.data));
    } else if (IsBootOptionName(name)) {
      ASSIGN_OR_RETURN(out.load_option, DecodeEfiLoadOption(v.data));
    }
    return out;
  }

  const bool is_flag = global && (name == "SecureBoot" || name == "SetupMode" ||
                                  name == "AuditMode" || name == "DeployedMode");
  const bool is_sig_db =
      (global && (name == "PK" || name == "KEK")) ||
      (security_db && (name == "db" || name == "dbx" || name == "dbt" || name == "dbr")) ||
      (shim && (name == "MokList" || name == "MokListX" || name == "MokListRT" ||
                name == "MokListXRT" || name == "MokListTrusted"));
  if (is_flag) {
    if (v.data.size() == 1) out.flag = v.data[0];
  } else if (is_sig_db) {
    ASSIGN_OR_RETURN(out.signature_lists, DecodeEfiSignatureLists(v.data));
  } else if (auto text = AsUtf8Text(v.data); text.has_value()) {
    out.text = EscapeForDisplay(*text);
  }
  return out;
}

// ---- Images, firmware blobs, tables, GPT -----------------------------------------------------

absl::StatusOr<ImageLoadEvent> DecodeImageLoadEvent(ByteSpan data) {
  ByteReader r(data);
  ImageLoadEvent out;
  ASSIGN_OR_RETURN(out.image_location, r.U64Le("UEFI_IMAGE_LOAD_EVENT ImageLocationInMemory"));
  ASSIGN_OR_RETURN(out.image_length, r.U64Le("UEFI_IMAGE_LOAD_EVENT ImageLengthInMemory"));
  ASSIGN_OR_RETURN(out.link_time_address, r.U64Le("UEFI_IMAGE_LOAD_EVENT ImageLinkTimeAddress"));
  ASSIGN_OR_RETURN(uint64_t path_length, r.U64Le("UEFI_IMAGE_LOAD_EVENT LengthOfDevicePath"));
  if (path_length > r.remaining() || r.remaining() - path_length > kQuirkShimImagePaddingMax) {
    return Invalid(absl::StrCat("UEFI_IMAGE_LOAD_EVENT: LengthOfDevicePath ", path_length, " but ",
                                r.remaining(), " bytes follow"));
  }
  ASSIGN_OR_RETURN(out.device_path, r.Copy(path_length, "UEFI_IMAGE_LOAD_EVENT DevicePath"));
  out.padding_bytes = r.remaining();
  if (!out.device_path.empty()) {
    ASSIGN_OR_RETURN(out.device_path_text, DevicePathToText(out.device_path));
  }
  return out;
}

absl::StatusOr<FirmwareBlobEvent> DecodeFirmwareBlob(ByteSpan data) {
  ByteReader r(data);
  FirmwareBlobEvent out;
  ASSIGN_OR_RETURN(out.base, r.U64Le("UEFI_PLATFORM_FIRMWARE_BLOB BlobBase"));
  ASSIGN_OR_RETURN(out.length, r.U64Le("UEFI_PLATFORM_FIRMWARE_BLOB BlobLength"));
  RETURN_IF_ERROR(r.ExpectEnd("UEFI_PLATFORM_FIRMWARE_BLOB"));
  return out;
}

absl::StatusOr<FirmwareBlobEvent> DecodeFirmwareBlob2(ByteSpan data) {
  ByteReader r(data);
  FirmwareBlobEvent out;
  ASSIGN_OR_RETURN(out.description,
                   ReadByteSizedString(r, "UEFI_PLATFORM_FIRMWARE_BLOB2 BlobDescription"));
  ASSIGN_OR_RETURN(out.base, r.U64Le("UEFI_PLATFORM_FIRMWARE_BLOB2 BlobBase"));
  ASSIGN_OR_RETURN(out.length, r.U64Le("UEFI_PLATFORM_FIRMWARE_BLOB2 BlobLength"));
  RETURN_IF_ERROR(r.ExpectEnd("UEFI_PLATFORM_FIRMWARE_BLOB2"));
  return out;
}

absl::StatusOr<HandoffTablesEvent> DecodeHandoffTables(ByteSpan data) {
  ByteReader r(data);
  HandoffTablesEvent out;
  RETURN_IF_ERROR(ReadHandoffTableList(r, &out));
  return out;
}

absl::StatusOr<HandoffTablesEvent> DecodeHandoffTables2(ByteSpan data) {
  ByteReader r(data);
  HandoffTablesEvent out;
  ASSIGN_OR_RETURN(out.description,
                   ReadByteSizedString(r, "UEFI_HANDOFF_TABLE_POINTERS2 TableDescription"));
  RETURN_IF_ERROR(ReadHandoffTableList(r, &out));
  return out;
}

absl::StatusOr<GptEvent> DecodeGptEvent(ByteSpan data) {
  ByteReader r(data);
  GptEvent out;
  ASSIGN_OR_RETURN(ByteSpan sig, r.Span(8, "GPT header Signature"));
  if (!HasPrefix(sig, "EFI PART", 8)) return Invalid("GPT header: signature is not 'EFI PART'");
  ASSIGN_OR_RETURN(out.revision, r.U32Le("GPT header Revision"));
  RETURN_IF_ERROR(r.Skip(12, "GPT header HeaderSize/CRC32/Reserved"));
  ASSIGN_OR_RETURN(out.my_lba, r.U64Le("GPT header MyLBA"));
  ASSIGN_OR_RETURN(out.alternate_lba, r.U64Le("GPT header AlternateLBA"));
  ASSIGN_OR_RETURN(out.first_usable_lba, r.U64Le("GPT header FirstUsableLBA"));
  ASSIGN_OR_RETURN(out.last_usable_lba, r.U64Le("GPT header LastUsableLBA"));
  ASSIGN_OR_RETURN(out.disk_guid, ReadGuid(r, "GPT header DiskGUID"));
  ASSIGN_OR_RETURN(out.partition_entry_lba, r.U64Le("GPT header PartitionEntryLBA"));
  ASSIGN_OR_RETURN(out.number_of_partition_entries, r.U32Le("GPT header NumberOfPartitionEntries"));
  ASSIGN_OR_RETURN(out.size_of_partition_entry, r.U32Le("GPT header SizeOfPartitionEntry"));
  RETURN_IF_ERROR(r.Skip(4, "GPT header PartitionEntryArrayCRC32"));
  ASSIGN_OR_RETURN(uint64_t count, r.U64Le("UEFI_GPT_DATA NumberOfPartitions"));
  const uint32_t entry_size = out.size_of_partition_entry;
  // UEFI: 128 * 2^n bytes; the fields we read need 128.
  if (entry_size < 128 || entry_size > 4096) {
    return Invalid(absl::StrCat("GPT: SizeOfPartitionEntry ", entry_size, " invalid"));
  }
  if (count > r.remaining() / entry_size) {
    return Invalid(absl::StrCat("GPT: NumberOfPartitions ", count, " exceeds the ", r.remaining(),
                                " bytes left"));
  }
  out.partitions.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(ByteSpan entry, r.Span(entry_size, "GPT partition entry"));
    ByteReader e(entry);
    GptPartition p;
    ASSIGN_OR_RETURN(p.type, ReadGuid(e, "PartitionTypeGUID"));
    ASSIGN_OR_RETURN(p.unique, ReadGuid(e, "UniquePartitionGUID"));
    ASSIGN_OR_RETURN(p.first_lba, e.U64Le("StartingLBA"));
    ASSIGN_OR_RETURN(p.last_lba, e.U64Le("EndingLBA"));
    ASSIGN_OR_RETURN(p.attributes, e.U64Le("Attributes"));
    ASSIGN_OR_RETURN(ByteSpan name, e.Span(72, "PartitionName"));
    ASSIGN_OR_RETURN(std::string utf8, Utf16LeToUtf8(name, /*stop_at_nul=*/true));
    p.name = EscapeForDisplay(utf8);
    out.partitions.push_back(std::move(p));
  }
  RETURN_IF_ERROR(r.ExpectEnd("UEFI_GPT_DATA"));
  return out;
}

// ---- Strings and small events ------------------------------------------------------------------

absl::StatusOr<TaggedEvent> DecodeTaggedEvent(ByteSpan data) {
  ByteReader r(data);
  TaggedEvent out;
  ASSIGN_OR_RETURN(out.id, r.U32Le("TCG_PCClientTaggedEvent taggedEventID"));
  ASSIGN_OR_RETURN(uint32_t size, r.U32Le("TCG_PCClientTaggedEvent taggedEventDataSize"));
  if (size != r.remaining()) {
    return Invalid(absl::StrCat("TCG_PCClientTaggedEvent: taggedEventDataSize ", size, " but ",
                                r.remaining(), " bytes follow"));
  }
  ASSIGN_OR_RETURN(out.data, r.Copy(size, "TCG_PCClientTaggedEvent taggedEventData"));
  if (auto text = AsUtf8Text(out.data); text.has_value()) out.text = EscapeForDisplay(*text);
  return out;
}

const char* IplKindName(IplKind kind) {
  switch (kind) {
    case IplKind::kGrubCommand:
      return "grub_cmd";
    case IplKind::kKernelCmdline:
      return "kernel_cmdline";
    case IplKind::kSystemdSection:
      return "systemd_stub_section";
    case IplKind::kString:
      return "string";
    case IplKind::kBinary:
      return "binary";
  }
  return "binary";
}

absl::StatusOr<IplEvent> DecodeIplEvent(uint32_t pcr, ByteSpan data) {
  IplEvent out;
  if (auto utf8 = AsUtf8Text(data); utf8.has_value()) {
    absl::string_view s = *utf8;
    if (absl::ConsumePrefix(&s, "grub_cmd: ")) {
      out.kind = IplKind::kGrubCommand;
    } else if (absl::ConsumePrefix(&s, "kernel_cmdline: ")) {
      out.kind = IplKind::kKernelCmdline;
    } else {
      out.kind = IplKind::kString;
    }
    out.text = EscapeForDisplay(s);
    return out;
  }
  if (auto utf16 = AsUtf16Text(data); utf16.has_value()) {
    out.utf16 = true;
    out.text = EscapeForDisplay(*utf16);
    // systemd-stub logs each PE section it measures into PCR 11 by name (".linux", ".osrel").
    out.kind =
        pcr == 11 && absl::StartsWith(*utf16, ".") ? IplKind::kSystemdSection : IplKind::kString;
    return out;
  }
  out.kind = IplKind::kBinary;
  return out;
}

absl::StatusOr<SeparatorEvent> DecodeSeparator(ByteSpan data) {
  ByteReader r(data);
  SeparatorEvent out;
  ASSIGN_OR_RETURN(out.value, r.U32Le("EV_SEPARATOR value"));
  RETURN_IF_ERROR(r.ExpectEnd("EV_SEPARATOR"));
  return out;
}

TextEvent DecodeTextOrBlob(ByteSpan data) {
  TextEvent out;
  if (auto utf8 = AsUtf8Text(data); utf8.has_value()) {
    out.text = EscapeForDisplay(*utf8);
  } else if (auto utf16 = AsUtf16Text(data); utf16.has_value()) {
    out.text = EscapeForDisplay(*utf16);
    out.utf16 = true;
  } else {
    out.raw.assign(data.begin(), data.end());
  }
  return out;
}

absl::StatusOr<TextEvent> DecodeActionEvent(ByteSpan data) {
  std::optional<std::string> ascii = AsAsciiText(data);
  if (!ascii.has_value()) return Invalid("action event data is not ASCII text");
  TextEvent out;
  out.text = EscapeForDisplay(*ascii);
  return out;
}

absl::StatusOr<TextEvent> DecodeCrtmVersion(ByteSpan data) {
  TextEvent out;
  if (auto utf16 = AsUtf16Text(data); utf16.has_value()) {
    out.text = EscapeForDisplay(*utf16);
    out.utf16 = true;
  } else if (data.size() == 2 && data[0] == 0 && data[1] == 0) {
    out.text = "";  // An empty UTF-16 string (GCE's Windows VMs).
    out.utf16 = true;
  } else if (data.size() == 16) {
    ByteReader r(data);
    ASSIGN_OR_RETURN(out.guid, ReadGuid(r, "EV_S_CRTM_VERSION GUID"));
  } else if (auto ascii = AsAsciiText(data); ascii.has_value()) {
    out.text = EscapeForDisplay(*ascii);
  } else {
    out.raw.assign(data.begin(), data.end());
  }
  return out;
}

absl::StatusOr<PostCodeEvent> DecodePostCode(uint32_t event_type, ByteSpan data) {
  PostCodeEvent out;
  if (auto ascii = AsAsciiText(data); ascii.has_value()) {
    out.text = EscapeForDisplay(*ascii);
    return out;
  }
  if (event_type == kEvPostCode2) {
    ASSIGN_OR_RETURN(out.blob, DecodeFirmwareBlob2(data));
  } else {
    ASSIGN_OR_RETURN(out.blob, DecodeFirmwareBlob(data));
  }
  return out;
}

// ---- Dispatch --------------------------------------------------------------------------------

namespace {

template <typename T>
absl::StatusOr<EventDetails> Wrap(absl::StatusOr<T> v) {
  if (!v.ok()) return v.status();
  return EventDetails(*std::move(v));
}

NoActionEvent DecodeOtherNoAction(ByteSpan data) {
  NoActionEvent out;
  // A NUL-terminated ASCII signature of up to 16 bytes, as the TCG-defined records use.
  for (size_t i = 0; i < data.size() && i < kSignatureSize; ++i) {
    if (data[i] == 0) {
      if (auto sig = AsAsciiText(data.subspan(0, i)); sig.has_value()) out.signature = *sig;
      break;
    }
  }
  out.data.assign(data.begin(), data.end());
  return out;
}

}  // namespace

absl::StatusOr<EventDetails> DecodeEventData(const Event& event) {
  const ByteSpan data = event.data;
  switch (event.type) {
    case kEvNoAction:
      if (IsSpecIdEvent(data)) return Wrap(DecodeSpecIdEvent(data));
      if (IsStartupLocalityEvent(data)) return Wrap(DecodeStartupLocalityEvent(data));
      if (IsSp800155Event(data)) return Wrap(DecodeSp800155Event(data));
      return EventDetails(DecodeOtherNoAction(data));
    case kEvEfiVariableDriverConfig:
    case kEvEfiVariableBoot:
    case kEvEfiVariableBoot2:
    case kEvEfiVariableAuthority:
    case kEvEfiSpdmDevicePolicy:
    case kEvEfiSpdmDeviceAuthority:
      return Wrap(DecodeUefiVariableEvent(event.type, data));
    case kEvEfiBootServicesApplication:
    case kEvEfiBootServicesDriver:
    case kEvEfiRuntimeServicesDriver:
      return Wrap(DecodeImageLoadEvent(data));
    case kEvEfiPlatformFirmwareBlob:
      return Wrap(DecodeFirmwareBlob(data));
    case kEvEfiPlatformFirmwareBlob2:
      return Wrap(DecodeFirmwareBlob2(data));
    case kEvEfiHandoffTables:
      return Wrap(DecodeHandoffTables(data));
    case kEvEfiHandoffTables2:
      return Wrap(DecodeHandoffTables2(data));
    case kEvEfiGptEvent:
    case kEvEfiGptEvent2:
      return Wrap(DecodeGptEvent(data));
    case kEvEventTag:
      return Wrap(DecodeTaggedEvent(data));
    case kEvIpl:
      return Wrap(DecodeIplEvent(event.pcr, data));
    case kEvSeparator:
      return Wrap(DecodeSeparator(data));
    case kEvEfiAction:
    case kEvAction:
      return Wrap(DecodeActionEvent(data));
    case kEvSCrtmVersion:
      return Wrap(DecodeCrtmVersion(data));
    case kEvPostCode:
    case kEvPostCode2:
      return Wrap(DecodePostCode(event.type, data));
    case kEvOmitBootDeviceEvents:
    case kEvSCrtmContents:
    case kEvPlatformConfigFlags:
    case kEvCpuMicrocode:
    case kEvNonhostCode:
    case kEvNonhostConfig:
    case kEvNonhostInfo:
    case kEvTableOfDevices:
    case kEvCompactHash:
    case kEvIplPartitionData:
    case kEvEfiHcrtmEvent:
      return EventDetails(DecodeTextOrBlob(data));
    default:
      return EventDetails(RawEvent{DecodeTextOrBlob(data)});
  }
}

}  // namespace bootgate::attest
