#include "attest/eventlog/device_path.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "attest/eventlog/efi_types.h"
#include "attest/util/byte_reader.h"

namespace bootgate::attest {

namespace {

// ByteReader with a sticky failure flag, so a node renderer can read all fields and check once.
class NodeReader {
 public:
  explicit NodeReader(ByteSpan body) : r_(body) {}

  uint8_t U8() { return Take(r_.U8("node")); }
  uint16_t U16() { return Take(r_.U16Le("node")); }
  uint32_t U32() { return Take(r_.U32Le("node")); }
  uint64_t U64() { return Take(r_.U64Le("node")); }
  EfiGuid Guid() { return Take(ReadGuid(r_, "node")); }
  ByteSpan Bytes(size_t n) { return Take(r_.Span(n, "node")); }
  ByteSpan Rest() {
    ByteSpan rest = r_.rest();
    r_.Skip(rest.size(), "node").IgnoreError();
    return rest;
  }
  // NUL-terminated 8-bit string; the terminator is consumed.
  std::string AsciiZ() {
    ByteSpan rest = r_.rest();
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == 0) {
        r_.Skip(i + 1, "node").IgnoreError();
        return EscapeForDisplay(absl::string_view(reinterpret_cast<const char*>(rest.data()), i));
      }
    }
    ok_ = false;
    return "";
  }

  bool ok() const { return ok_; }
  // Every field read and nothing left over: the node had exactly its type's fixed layout.
  bool done() const { return ok_ && r_.empty(); }

 private:
  template <typename T>
  T Take(absl::StatusOr<T> v) {
    if (!v.ok()) {
      ok_ = false;
      return T{};
    }
    return *std::move(v);
  }

  ByteReader r_;
  bool ok_ = true;
};

std::string Vendor(absl::string_view name, NodeReader& r) {
  EfiGuid guid = r.Guid();
  ByteSpan data = r.Rest();
  if (data.empty()) return absl::StrCat(name, "(", guid.ToString(), ")");
  return absl::StrCat(name, "(", guid.ToString(), ",", HexEncode(data), ")");
}

std::string Ipv4(ByteSpan a) { return absl::StrFormat("%d.%d.%d.%d", a[0], a[1], a[2], a[3]); }

std::string Ipv6(ByteSpan a) {
  std::string out;
  for (size_t i = 0; i < 16; i += 2) {
    if (i > 0) out.push_back(':');
    absl::StrAppendFormat(&out, "%x", a[i] << 8 | a[i + 1]);
  }
  return out;
}

std::string Protocol(uint16_t p) {
  if (p == 6) return "TCP";
  if (p == 17) return "UDP";
  return absl::StrFormat("0x%x", p);
}

std::optional<std::string> HardwareNode(uint8_t subtype, NodeReader& r) {
  std::string s;
  switch (subtype) {
    case 1: {
      uint8_t function = r.U8();
      uint8_t device = r.U8();
      s = absl::StrFormat("Pci(0x%x,0x%x)", device, function);
      break;
    }
    case 2:
      s = absl::StrFormat("PcCard(0x%x)", r.U8());
      break;
    case 3: {
      uint32_t type = r.U32();
      uint64_t start = r.U64();
      uint64_t end = r.U64();
      s = absl::StrFormat("MemoryMapped(0x%x,0x%x,0x%x)", type, start, end);
      break;
    }
    case 4:
      s = Vendor("VenHw", r);
      break;
    case 5:
      s = absl::StrFormat("Ctrl(0x%x)", r.U32());
      break;
    case 6: {
      uint8_t type = r.U8();
      uint64_t base = r.U64();
      s = absl::StrFormat("BMC(0x%x,0x%x)", type, base);
      break;
    }
    default:
      return std::nullopt;
  }
  if (!r.done()) return std::nullopt;
  return s;
}

// Compressed EISA id (as in ACPI _HID) to "PNP0A03" form.
std::string EisaId(uint32_t id) {
  if ((id & 0xFFFF) == 0x41D0) return absl::StrFormat("PNP%04X", id >> 16);
  // Three 5-bit letters in the low 16 bits (EDK2's EISA_ID layout).
  const uint16_t v = static_cast<uint16_t>(id & 0xFFFF);
  auto letter = [](int x) { return static_cast<char>('@' + (x & 0x1F)); };
  return absl::StrFormat("%c%c%c%04X", letter(v >> 10), letter(v >> 5), letter(v), id >> 16);
}

std::optional<std::string> AcpiNode(uint8_t subtype, NodeReader& r) {
  std::string s;
  switch (subtype) {
    case 1: {
      uint32_t hid = r.U32();
      uint32_t uid = r.U32();
      if (!r.done()) return std::nullopt;
      if ((hid & 0xFFFF) == 0x41D0) {
        switch (hid >> 16) {
          case 0x0A03:
            return absl::StrFormat("PciRoot(0x%x)", uid);
          case 0x0A08:
            return absl::StrFormat("PcieRoot(0x%x)", uid);
          case 0x0604:
            return absl::StrFormat("Floppy(0x%x)", uid);
          case 0x0301:
            return absl::StrFormat("Keyboard(0x%x)", uid);
          case 0x0501:
            return absl::StrFormat("Serial(0x%x)", uid);
          case 0x0401:
            return absl::StrFormat("ParallelPort(0x%x)", uid);
          default:
            break;
        }
      }
      return absl::StrFormat("Acpi(%s,0x%x)", EisaId(hid), uid);
    }
    case 2: {
      uint32_t hid = r.U32();
      uint32_t uid = r.U32();
      uint32_t cid = r.U32();
      std::string hid_str = r.AsciiZ();
      std::string uid_str = r.AsciiZ();
      std::string cid_str = r.AsciiZ();
      s = absl::StrFormat("AcpiEx(%s,%s,0x%x,%s,%s,%s)", EisaId(hid), EisaId(cid), uid, hid_str,
                          cid_str, uid_str);
      break;
    }
    case 3: {
      std::vector<std::string> adrs;
      adrs.push_back(absl::StrFormat("0x%x", r.U32()));
      // _ADR may list several 32-bit values (multi-output display devices).
      while (r.ok() && !r.done()) adrs.push_back(absl::StrFormat("0x%x", r.U32()));
      s = absl::StrCat("AcpiAdr(", absl::StrJoin(adrs, ","), ")");
      break;
    }
    default:
      return std::nullopt;
  }
  if (!r.done()) return std::nullopt;
  return s;
}

std::optional<std::string> MessagingNode(uint8_t subtype, NodeReader& r) {
  std::string s;
  switch (subtype) {
    case 1: {
      uint8_t primary = r.U8();
      uint8_t slave = r.U8();
      uint16_t lun = r.U16();
      s = absl::StrFormat("Ata(%s,%s,0x%x)", primary ? "Secondary" : "Primary",
                          slave ? "Slave" : "Master", lun);
      break;
    }
    case 2: {
      uint16_t pun = r.U16();
      uint16_t lun = r.U16();
      s = absl::StrFormat("Scsi(0x%x,0x%x)", pun, lun);
      break;
    }
    case 3: {
      r.U32();
      uint64_t wwn = r.U64();
      uint64_t lun = r.U64();
      s = absl::StrFormat("Fibre(0x%x,0x%x)", wwn, lun);
      break;
    }
    case 5: {
      uint8_t port = r.U8();
      uint8_t iface = r.U8();
      s = absl::StrFormat("USB(0x%x,0x%x)", port, iface);
      break;
    }
    case 8:
      s = absl::StrFormat("I2O(0x%x)", r.U32());
      break;
    case 10:
      s = Vendor("VenMsg", r);
      break;
    case 11: {
      ByteSpan mac = r.Bytes(32);
      uint8_t if_type = r.U8();
      if (!r.done()) return std::nullopt;
      // Ethernet (0, 1) uses 6 bytes of the 32-byte field.
      size_t len = if_type <= 1 ? 6 : 32;
      return absl::StrFormat("MAC(%s,0x%x)", HexEncode(mac.subspan(0, len)), if_type);
    }
    case 12: {
      ByteSpan local = r.Bytes(4);
      ByteSpan remote = r.Bytes(4);
      r.U16();
      r.U16();
      uint16_t proto = r.U16();
      uint8_t is_static = r.U8();
      if (!r.ok()) return std::nullopt;
      s = absl::StrFormat("IPv4(%s,%s,%s,%s", Ipv4(remote), Protocol(proto),
                          is_static ? "Static" : "DHCP", Ipv4(local));
      if (!r.done()) {  // UEFI 2.0+ adds gateway and subnet mask.
        ByteSpan gateway = r.Bytes(4);
        ByteSpan mask = r.Bytes(4);
        if (!r.ok()) return std::nullopt;
        absl::StrAppend(&s, ",", Ipv4(gateway), ",", Ipv4(mask));
      }
      s += ")";
      break;
    }
    case 13: {
      ByteSpan local = r.Bytes(16);
      ByteSpan remote = r.Bytes(16);
      r.U16();
      r.U16();
      uint16_t proto = r.U16();
      uint8_t origin = r.U8();
      if (!r.ok()) return std::nullopt;
      const char* origins[] = {"Static", "StatelessAutoConfigure", "StatefulAutoConfigure"};
      s = absl::StrFormat("IPv6(%s,%s,%s,%s", Ipv6(remote), Protocol(proto),
                          origin < 3 ? origins[origin] : "?", Ipv6(local));
      if (!r.done()) {
        uint8_t prefix = r.U8();
        ByteSpan gateway = r.Bytes(16);
        if (!r.ok()) return std::nullopt;
        absl::StrAppendFormat(&s, ",%d,%s", prefix, Ipv6(gateway));
      }
      s += ")";
      break;
    }
    case 14: {
      r.U32();
      uint64_t baud = r.U64();
      uint8_t data_bits = r.U8();
      uint8_t parity = r.U8();
      uint8_t stop_bits = r.U8();
      s = absl::StrFormat("Uart(%d,%d,%d,%d)", baud, data_bits, parity, stop_bits);
      break;
    }
    case 15: {
      uint16_t vid = r.U16();
      uint16_t pid = r.U16();
      uint8_t cls = r.U8();
      uint8_t sub = r.U8();
      uint8_t proto = r.U8();
      s = absl::StrFormat("UsbClass(0x%x,0x%x,0x%x,0x%x,0x%x)", vid, pid, cls, sub, proto);
      break;
    }
    case 16: {
      uint16_t iface = r.U16();
      uint16_t vid = r.U16();
      uint16_t pid = r.U16();
      auto serial = Utf16LeToUtf8(r.Rest());
      if (!serial.ok()) return std::nullopt;
      s = absl::StrFormat("UsbWwid(0x%x,0x%x,0x%x,\"%s\")", vid, pid, iface,
                          EscapeForDisplay(*serial));
      break;
    }
    case 17:
      s = absl::StrFormat("Unit(0x%x)", r.U8());
      break;
    case 18: {
      uint16_t hba = r.U16();
      uint16_t pm = r.U16();
      uint16_t lun = r.U16();
      s = absl::StrFormat("Sata(0x%x,0x%x,0x%x)", hba, pm, lun);
      break;
    }
    case 20:
      s = absl::StrFormat("Vlan(%d)", r.U16());
      break;
    case 23: {
      uint32_t nsid = r.U32();
      ByteSpan eui = r.Bytes(8);
      if (!r.done()) return std::nullopt;
      // EDK2 prints the EUI-64 most significant byte first.
      return absl::StrFormat("NVMe(0x%x,%02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x)", nsid, eui[7],
                             eui[6], eui[5], eui[4], eui[3], eui[2], eui[1], eui[0]);
    }
    case 24: {
      ByteSpan uri = r.Rest();
      s = absl::StrCat("Uri(",
                       EscapeForDisplay(absl::string_view(reinterpret_cast<const char*>(uri.data()),
                                                          uri.size())),
                       ")");
      break;
    }
    case 26:
      s = absl::StrFormat("SD(0x%x)", r.U8());
      break;
    case 29:
      s = absl::StrFormat("eMMC(0x%x)", r.U8());
      break;
    case 32:
      s = absl::StrCat("NVDIMM(", r.Guid().ToString(), ")");
      break;
    default:
      return std::nullopt;
  }
  if (!r.done()) return std::nullopt;
  return s;
}

std::optional<std::string> MediaNode(uint8_t subtype, NodeReader& r) {
  std::string s;
  switch (subtype) {
    case 1: {
      uint32_t partition = r.U32();
      uint64_t start = r.U64();
      uint64_t size = r.U64();
      ByteSpan signature = r.Bytes(16);
      r.U8();  // MBR type: implied by the signature type.
      uint8_t sig_type = r.U8();
      if (!r.done()) return std::nullopt;
      if (sig_type == 1) {
        uint32_t mbr = static_cast<uint32_t>(signature[0] | signature[1] << 8 | signature[2] << 16 |
                                             static_cast<uint32_t>(signature[3]) << 24);
        return absl::StrFormat("HD(%d,MBR,0x%08x,0x%x,0x%x)", partition, mbr, start, size);
      }
      if (sig_type == 2) {
        ByteReader g(signature);
        auto guid = ReadGuid(g, "signature");
        if (!guid.ok()) return std::nullopt;
        return absl::StrFormat("HD(%d,GPT,%s,0x%x,0x%x)", partition, guid->ToString(), start, size);
      }
      return absl::StrFormat("HD(%d,%d,0,0x%x,0x%x)", partition, sig_type, start, size);
    }
    case 2: {
      uint32_t entry = r.U32();
      uint64_t start = r.U64();
      uint64_t size = r.U64();
      s = absl::StrFormat("CDROM(0x%x,0x%x,0x%x)", entry, start, size);
      break;
    }
    case 3:
      s = Vendor("VenMedia", r);
      break;
    case 4: {
      auto path = Utf16LeToUtf8(r.Rest());
      if (!path.ok()) return std::nullopt;
      s = EscapeForDisplay(*path);
      break;
    }
    case 5:
      s = absl::StrCat("Media(", r.Guid().ToString(), ")");
      break;
    case 6:
      s = absl::StrCat("FvFile(", r.Guid().ToString(), ")");
      break;
    case 7:
      s = absl::StrCat("Fv(", r.Guid().ToString(), ")");
      break;
    case 8: {
      r.U32();
      uint64_t start = r.U64();
      uint64_t end = r.U64();
      s = absl::StrFormat("Offset(0x%x,0x%x)", start, end);
      break;
    }
    case 9: {
      uint64_t start = r.U64();
      uint64_t end = r.U64();
      EfiGuid type = r.Guid();
      uint16_t instance = r.U16();
      s = absl::StrFormat("RamDisk(0x%x,0x%x,%d,%s)", start, end, instance, type.ToString());
      break;
    }
    default:
      return std::nullopt;
  }
  if (!r.done()) return std::nullopt;
  return s;
}

std::optional<std::string> BbsNode(uint8_t subtype, NodeReader& r) {
  if (subtype != 1) return std::nullopt;
  uint16_t type = r.U16();
  uint16_t flags = r.U16();
  std::string description = r.AsciiZ();
  if (!r.done()) return std::nullopt;
  const char* names[] = {nullptr, "Floppy", "HD", "CDROM", "PCMCIA", "USB", "Network"};
  std::string type_text =
      type >= 1 && type <= 6 ? std::string(names[type]) : absl::StrFormat("0x%x", type);
  return absl::StrFormat("BBS(%s,%s,0x%x)", type_text, description, flags);
}

std::string RenderNode(uint8_t type, uint8_t subtype, ByteSpan body) {
  NodeReader r(body);
  std::optional<std::string> s;
  switch (type) {
    case 1:
      s = HardwareNode(subtype, r);
      break;
    case 2:
      s = AcpiNode(subtype, r);
      break;
    case 3:
      s = MessagingNode(subtype, r);
      break;
    case 4:
      s = MediaNode(subtype, r);
      break;
    case 5:
      s = BbsNode(subtype, r);
      break;
    default:
      break;
  }
  if (s.has_value()) return *std::move(s);
  return absl::StrFormat("Path(%d,%d,%s)", type, subtype, HexEncode(body));
}

}  // namespace

namespace {

// Renders nodes up to and including an End-Entire node (or the end of the buffer).
absl::StatusOr<std::string> RenderPath(ByteReader& r) {
  std::string out;
  bool instance_start = true;
  while (!r.empty()) {
    const size_t node_offset = r.offset();
    if (r.remaining() < 4) {
      return absl::InvalidArgumentError(absl::StrCat("device path node at offset ", node_offset,
                                                     ": ", r.remaining(), " bytes, need 4"));
    }
    const uint8_t type = *r.U8("type");
    const uint8_t subtype = *r.U8("subtype");
    const uint16_t length = *r.U16Le("length");
    if (length < 4 || length - 4u > r.remaining()) {
      return absl::InvalidArgumentError(absl::StrCat("device path node at offset ", node_offset,
                                                     ": length ", length, " invalid (",
                                                     r.remaining() + 4, " bytes left)"));
    }
    ByteSpan body = *r.Span(length - 4u, "body");
    if (type == 0x7F && subtype == 0xFF) break;  // End Entire Device Path.
    if (type == 0x7F && subtype == 0x01) {       // End of this instance; another follows.
      out.push_back(',');
      instance_start = true;
      continue;
    }
    if (!instance_start) out.push_back('/');
    instance_start = false;
    out += RenderNode(type, subtype, body);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> DevicePathToText(ByteSpan path) {
  ByteReader r(path);
  absl::StatusOr<std::string> text = RenderPath(r);
  if (!text.ok()) return text;
  if (!r.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "device path: ", r.remaining(), " bytes after the end node (offset ", r.offset(), ")"));
  }
  return text;
}

absl::StatusOr<std::vector<std::string>> DevicePathListToText(ByteSpan paths) {
  ByteReader r(paths);
  std::vector<std::string> out;
  while (!r.empty()) {
    absl::StatusOr<std::string> text = RenderPath(r);
    if (!text.ok()) return text.status();
    out.push_back(*std::move(text));
  }
  return out;
}

}  // namespace bootgate::attest
