// The in-memory model of bootgate's golden-measurement documents (docs/policy.md):
//
//   GoldenImage        one OS image version: PCR 4 boot chain, PCR 8/9 grub and Linux EFI-stub
//                      measurements, PCR 11 UKI sections, PCR 7 Secure Boot requirements, PCR 14
//                      MOK state.
//   PlatformReference  firmware of one hardware model / firmware version: PCR 0-3 and 6 events.
//   Policy             which images and platform references are accepted per node group, the
//                      enforced PCRs and banks, validity windows, quirks and warn-only rules.
//
// Everything here is plain data. Documents are read and written by loader.h, learned from a log
// by learn.h, computed from image files by from_image.h and evaluated by evaluate.h. Digests are
// kept per PCR bank (TPM_ALG_ID -> digest, see attest/crypto/hash.h); the loader checks that
// every digest has its bank's length.
#ifndef BOOTGATE_POLICY_MODEL_H_
#define BOOTGATE_POLICY_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "attest/util/bytes.h"

namespace bootgate::policy {

// The one API version this build reads and writes.
inline constexpr char kApiVersion[] = "bootgate.dev/v1";

// Document kinds.
inline constexpr char kKindGoldenImage[] = "GoldenImage";
inline constexpr char kKindPlatformReference[] = "PlatformReference";
inline constexpr char kKindPolicy[] = "Policy";
inline constexpr char kKindPolicySignature[] = "PolicySignature";

// TPM_ALG_ID of the bank -> digest. In YAML: {sha1: <hex>, sha256: <hex>, ...}.
using BankDigests = std::map<uint16_t, attest::Bytes>;

// Name and version identify a GoldenImage / PlatformReference / Policy within a policy set.
struct Metadata {
  std::string name;         // required, [A-Za-z0-9._-]+
  std::string version;      // required for GoldenImage and PlatformReference
  std::string description;  // optional, informational
};

// ---- GoldenImage ---------------------------------------------------------------------------

// One EFI application in the PCR 4 boot chain (EV_EFI_BOOT_SERVICES_APPLICATION): the
// Authenticode digest of the PE image per bank. A kernel that shim/grub load is measured twice
// and then appears twice.
struct BootApplication {
  std::string name;  // informational: "shim", "grub", "kernel", "uki", a file path ...
  BankDigests digests;
};

// A file that grub read and measured into PCR 9 (EV_IPL, digest = H(file contents)).
struct MeasuredFile {
  std::string path;  // grub's path as logged ("/vmlinuz", "(hd0)/EFI/debian/grub.cfg")
  BankDigests digests;
};

// grub's measurements (PCR 8 commands, PCR 9 files).
struct GrubMeasurements {
  // When set: the exact sequence of "grub_cmd: " strings on PCR 8 (without the prefix). When
  // absent: grub commands are checked only for integrity (digest == H(command)).
  std::optional<std::vector<std::string>> commands;
  // Every PCR 9 file measurement must be one of these (compared by digest), and every one of
  // these must be measured. Order is not enforced.
  std::vector<MeasuredFile> files;
};

// One systemd-stub UKI section measured into PCR 11: systemd-stub extends H(".name\0") and then
// H(section contents), section by section in the order listed.
struct UkiSection {
  std::string name;     // ".linux", ".osrel", ".cmdline", ".initrd", ...
  BankDigests digests;  // of the section contents
};

// A signature-database entry (PK, KEK, db, dbx, MokList, authority), identified by SHA-256.
struct SignatureEntry {
  // "x509": sha256 is the SHA-256 of the DER certificate. "sha256": sha256 is the EFI_CERT_SHA256
  // hash itself. Any other EFI_SIGNATURE_LIST type: its GUID in text form, and sha256 is the
  // SHA-256 of the signature data.
  std::string type;
  attest::Bytes sha256;     // 32 bytes
  std::string description;  // informational: certificate subject, owner ...
};

// PCR 7 requirements.
struct SecureBootPolicy {
  // The measured SecureBoot variable must be 1 (true) or 0 / absent (false).
  bool enabled = true;
  // When set: every entry of the measured variable must be listed here, and the variable must
  // not be empty unless the list is. When absent: not checked.
  std::optional<std::vector<SignatureEntry>> pk;
  std::optional<std::vector<SignatureEntry>> kek;
  std::optional<std::vector<SignatureEntry>> db;
  // Entries the measured dbx must contain (it may contain more).
  std::vector<SignatureEntry> dbx_required;
  // When set: every EV_EFI_VARIABLE_AUTHORITY certificate/hash (db, Shim, MokListRT ...) that
  // verified a boot-chain image must be listed here. When absent: not checked.
  std::optional<std::vector<SignatureEntry>> authorities;
  // When set: shim's measured SbatLevel variable text must equal this.
  std::optional<std::string> sbat_level;
};

// A named measurement whose digest covers data that is not in the log: shim's PCR 14 MokList,
// MokListX, MokListTrusted (EV_IPL, data = the variable name).
struct NamedMeasurement {
  std::string name;
  BankDigests digests;
};

// A verified event that none of the typed fields above describes (firmware- or loader-specific
// events on an image PCR). Compared in order per PCR, by digest.
struct ExpectedEvent {
  uint32_t pcr = 0;
  std::string type;  // informational: "EV_IPL", "EV_EFI_ACTION", ... (not covered by the digest)
  BankDigests digests;
  std::string description;  // informational
};

struct GoldenImage {
  Metadata metadata;
  // PCR 4, in boot order: shim -> grub / systemd-boot -> kernel (possibly twice), or UKI ->
  // kernel.
  std::vector<BootApplication> boot_chain;
  GrubMeasurements grub;
  // The kernel command line. Checked against grub's "kernel_cmdline: " (PCR 8) text and, unless
  // linux_load_options is set, against the Linux EFI stub's LoadOptions tag (PCR 9, digest =
  // H(UTF-16LE cmdline + NUL)). Absent: command lines are not compared (integrity only).
  std::optional<std::string> kernel_cmdline;
  // Linux EFI stub EV_EVENT_TAG measurements on PCR 9 (digests only: the data is not logged).
  std::optional<BankDigests> linux_load_options;
  std::optional<BankDigests> linux_initrd;
  // PCR 11: systemd-stub section measurements in order. Empty = no PCR 11 events expected.
  std::vector<UkiSection> uki_sections;
  SecureBootPolicy secure_boot;
  // PCR 14: shim's MOK measurements in order. Absent: not compared (the image files do not
  // determine them); present (learned), possibly empty: exactly these.
  std::optional<std::vector<NamedMeasurement>> mok;
  // Events on PCRs 4, 5, 7, 8, 9, 11, 14 that the fields above do not describe.
  std::vector<ExpectedEvent> other_events;
};

// ---- PlatformReference ---------------------------------------------------------------------

struct PlatformReference {
  Metadata metadata;
  std::string manufacturer;      // informational
  std::string model;             // informational
  std::string firmware_version;  // informational
  // When set: the decoded EV_S_CRTM_VERSION text must equal this.
  std::optional<std::string> scrtm_version;
  // The PCRs this reference describes (default 0, 1, 2, 3, 6). Only enforced PCRs are compared.
  std::vector<uint32_t> pcrs;
  // Every measured event on those PCRs, in log order (EV_S_CRTM_VERSION, firmware blobs, boot
  // variables, drivers, separators ...), compared per PCR in order, by digest.
  std::vector<ExpectedEvent> events;
};

// ---- Policy --------------------------------------------------------------------------------

// Named firmware quirks a platform entry may allow (docs/policy.md).
// QEMU/OVMF direct kernel boot and some firmware measure an EFI application before the
// "Calling EFI Application from Boot Option" action.
inline constexpr char kQuirkApplicationBeforeBootOption[] = "application-before-boot-option";
// Firmware that does not log the Exit Boot Services pair on PCR 5.
inline constexpr char kQuirkExitBootServicesMissing[] = "exit-boot-services-missing";

struct ImageRef {
  std::string name;
  std::string version;
  std::optional<absl::Time> not_before;  // RFC 3339 in YAML
  std::optional<absl::Time> not_after;
};

struct PlatformRef {
  std::string name;
  std::string version;
  std::vector<std::string> quirks;  // kQuirk* names
};

struct NodeGroup {
  std::string name;
  // Labels set at enrollment that a node must all carry with these values. Empty = every node.
  std::map<std::string, std::string> selector;
  std::vector<ImageRef> images;
  std::vector<PlatformRef> platforms;
};

struct Policy {
  Metadata metadata;  // version optional
  // Enforced banks (TPM_ALG_ID); every one must be quoted. Default: {sha256}.
  std::vector<uint16_t> banks;
  // Enforced PCRs. Default: 0-9, 11, 14.
  std::vector<uint32_t> pcrs;
  // A node belongs to the first group whose selector matches its labels.
  std::vector<NodeGroup> groups;
  // Finding codes that produce a warning instead of a rejection.
  std::vector<std::string> warn_only;
};

// ---- Signatures ----------------------------------------------------------------------------

inline constexpr char kSigAlgEcdsaP256Sha256[] = "ecdsa-p256-sha256";
inline constexpr char kSigAlgEd25519[] = "ed25519";

// A signature over a policy set's canonical bytes (loader.h CanonicalBytes). Embedded as a
// `kind: PolicySignature` document or stored alone in a detached FILE.sig.
struct PolicySignature {
  std::string algorithm;    // kSigAlg*
  std::string key_id;       // "sha256:<hex>" of the signer's SubjectPublicKeyInfo DER
  attest::Bytes signature;  // ECDSA: DER; Ed25519: 64 bytes. Base64 in YAML.
};

// ---- A set of documents --------------------------------------------------------------------

// The documents of one or more policy files. A set that evaluate.h accepts has exactly one
// Policy and every image/platform it references (loader.h ValidatePolicySet).
struct PolicySet {
  std::vector<GoldenImage> images;
  std::vector<PlatformReference> platforms;
  std::vector<Policy> policies;
  std::vector<PolicySignature> signatures;  // embedded signatures (not part of the signed bytes)
};

}  // namespace bootgate::policy

#endif  // BOOTGATE_POLICY_MODEL_H_
