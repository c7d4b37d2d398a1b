// bootgate-agent info: what this TPM is and holds.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "attest/crypto/hash.h"
#include "attest/tpm/key_checks.h"
#include "nlohmann/json.hpp"
#include "node-agent/cli/commands.h"
#include "node-agent/tpm/capabilities.h"
#include "node-agent/x509_summary.h"

namespace bootgate::agent::cli {
namespace {

constexpr char kUsage[] =
    "Usage: bootgate-agent info [--json] [common flags]\n"
    "\n"
    "Reports the TPM (manufacturer, firmware, spec revision, active PCR banks), every EK\n"
    "certificate in NV (0x01C00002, 0x01C0000A, 0x01C00012-0x01C0001E) and the EK CA chain\n"
    "(0x01C00100-0x01C001FF), the EK public areas (persistent, or created from the TCG template\n"
    "and flushed), and the AK kept in the state directory. Creates nothing.\n"
    "\n"
    "  --json             one JSON object instead of text\n";

nlohmann::json CertificateJson(const NvCertificate& cert) {
  nlohmann::json j;
  j["nv_index"] = Hex32(cert.nv_index);
  if (cert.slot != nullptr) {
    j["slot"] = cert.slot->id;
    j["template"] = cert.slot->template_name;
  }
  if (!cert.parse_error.empty()) {
    j["error"] = cert.parse_error;
    return j;
  }
  absl::StatusOr<X509Summary> s = SummarizeCertificate(cert.der);
  if (!s.ok()) {
    j["error"] = std::string(s.status().message());
    return j;
  }
  j["subject"] = s->subject;
  j["issuer"] = s->issuer;
  j["serial"] = s->serial;
  j["not_before"] = s->not_before;
  j["not_after"] = s->not_after;
  j["key"] = s->key;
  j["pem"] = s->pem;
  return j;
}

nlohmann::json InfoJson(const AgentInfo& info) {
  nlohmann::json j;
  j["tcti"] = info.tcti;
  const TpmIdentity& id = info.identity;
  j["tpm"] = {
      {"manufacturer", id.manufacturer},
      {"manufacturer_id", Hex32(id.manufacturer_id)},
      {"vendor", id.vendor},
      {"firmware_version_1", Hex32(id.firmware_version_1)},
      {"firmware_version_2", Hex32(id.firmware_version_2)},
      {"spec_revision", absl::StrFormat("%u.%02u", id.spec_revision / 100, id.spec_revision % 100)},
      {"spec_year", id.spec_year},
      {"nv_buffer_max", id.nv_buffer_max},
      {"pcr_count", id.pcr_count},
  };
  nlohmann::json banks = nlohmann::json::array();
  for (uint16_t alg : info.active_banks) banks.push_back(attest::HashAlgName(alg));
  j["active_pcr_banks"] = banks;

  j["ek_certificates"] = nlohmann::json::array();
  for (const NvCertificate& c : info.inventory.certificates) {
    j["ek_certificates"].push_back(CertificateJson(c));
  }
  j["ek_ca_chain"] = nlohmann::json::array();
  for (const NvCertificate& c : info.inventory.ca_chain) {
    j["ek_ca_chain"].push_back(CertificateJson(c));
  }
  j["ek_publics"] = nlohmann::json::array();
  for (const EkPublicReport& ek : info.ek_publics) {
    nlohmann::json e = {
        {"slot", ek.slot->id},
        {"template", ek.slot->template_name},
        {"source", ek.source},
        {"key", attest::DescribeKey(ek.public_area)},
        {"name", attest::HexEncode(ek.name)},
        {"public", attest::HexEncode(ek.public_blob)},
    };
    e["matches_certificate"] = ek.matches_certificate.has_value()
                                   ? nlohmann::json(*ek.matches_certificate)
                                   : nlohmann::json(nullptr);
    j["ek_publics"].push_back(e);
  }
  j["ek_errors"] = info.ek_errors;

  nlohmann::json ak = {{"state_dir", info.ak.state_dir}, {"present", info.ak.present}};
  if (info.ak.present) {
    ak["name"] = attest::HexEncode(info.ak.blob.name);
    ak["key"] = attest::DescribeKey(info.ak.public_area);
    ak["attributes"] = attest::DescribeObjectAttributes(info.ak.public_area.objectAttributes);
    ak["parent_ek"] = info.ak.blob.parent_slot;
    ak["public"] = attest::HexEncode(info.ak.blob.public_blob);
  }
  j["ak"] = ak;
  return j;
}

void PrintCertificateText(const nlohmann::json& c, const char* indent) {
  std::cout << indent << c["nv_index"].get<std::string>();
  if (c.contains("slot")) {
    std::cout << " (" << c["slot"].get<std::string>() << ", " << c["template"].get<std::string>()
              << ")";
  }
  if (c.contains("error")) {
    std::cout << ": unreadable: " << c["error"].get<std::string>() << "\n";
    return;
  }
  std::cout << ": " << c["key"].get<std::string>() << "\n"
            << indent << "  subject:   " << c["subject"].get<std::string>() << "\n"
            << indent << "  issuer:    " << c["issuer"].get<std::string>() << "\n"
            << indent << "  not after: " << c["not_after"].get<std::string>() << "\n";
}

void PrintText(const nlohmann::json& j) {
  const auto& tpm = j["tpm"];
  std::cout << "TPM:          " << tpm["manufacturer"].get<std::string>() << " ("
            << tpm["manufacturer_id"].get<std::string>() << "), vendor \""
            << tpm["vendor"].get<std::string>() << "\", firmware "
            << tpm["firmware_version_1"].get<std::string>() << "."
            << tpm["firmware_version_2"].get<std::string>() << ", spec "
            << tpm["spec_revision"].get<std::string>() << " (" << tpm["spec_year"] << ")\n";
  std::cout << "TCTI:         " << j["tcti"].get<std::string>() << "\n";
  std::cout << "PCR banks:   ";
  for (const auto& b : j["active_pcr_banks"]) std::cout << " " << b.get<std::string>();
  std::cout << "\nEK certificates:";
  if (j["ek_certificates"].empty()) std::cout << " none";
  std::cout << "\n";
  for (const auto& c : j["ek_certificates"]) PrintCertificateText(c, "  ");
  if (!j["ek_ca_chain"].empty()) {
    std::cout << "EK CA chain in NV:\n";
    for (const auto& c : j["ek_ca_chain"]) PrintCertificateText(c, "  ");
  }
  std::cout << "EK publics:\n";
  for (const auto& e : j["ek_publics"]) {
    std::cout << "  " << e["slot"].get<std::string>() << ": " << e["key"].get<std::string>() << ", "
              << e["source"].get<std::string>() << ", name " << e["name"].get<std::string>();
    if (!e["matches_certificate"].is_null()) {
      std::cout << (e["matches_certificate"].get<bool>() ? ", matches its certificate"
                                                         : ", DOES NOT match its certificate");
    }
    std::cout << "\n";
  }
  for (const auto& err : j["ek_errors"]) std::cout << "  error: " << err.get<std::string>() << "\n";
  const auto& ak = j["ak"];
  std::cout << "AK:           ";
  if (!ak["present"].get<bool>()) {
    std::cout << "none in " << ak["state_dir"].get<std::string>() << "\n";
    return;
  }
  std::cout << ak["key"].get<std::string>() << " in " << ak["state_dir"].get<std::string>()
            << ", under EK " << ak["parent_ek"].get<std::string>() << "\n"
            << "  name:       " << ak["name"].get<std::string>() << "\n"
            << "  attributes: " << ak["attributes"].get<std::string>() << "\n";
}

}  // namespace

int RunInfo(const std::vector<std::string>& args) {
  FlagSpec spec;
  spec.bool_flags.insert("json");
  CommandStart start = StartCommand(args, spec, "info", kUsage);
  if (!start.settings.has_value()) return start.exit_code;

  absl::StatusOr<std::unique_ptr<Agent>> agent = Agent::Connect(start.options);
  if (!agent.ok()) return ReportError(agent.status());
  absl::StatusOr<AgentInfo> info = (*agent)->Info();
  if (!info.ok()) return ReportError(info.status());
  const nlohmann::json j = InfoJson(*info);
  if (start.settings->flags().Has("json")) {
    std::cout << j.dump(2) << "\n";
  } else {
    PrintText(j);
  }
  return kExitOk;
}

}  // namespace bootgate::agent::cli
