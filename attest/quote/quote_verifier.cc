#include "attest/quote/quote_verifier.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "attest/crypto/hash.h"
#include "attest/crypto/ossl.h"
#include "attest/tpm/attest_structs.h"
#include "attest/tpm/public_area.h"
#include "attest/tpm/tpm_signature.h"

namespace bootgate::attest {

namespace {

QuoteCheck Pass(const char* name, std::string detail) {
  return QuoteCheck{name, CheckState::kPassed, QuoteFinding::kOk, std::move(detail)};
}

QuoteCheck Fail(const char* name, QuoteFinding finding, std::string detail) {
  return QuoteCheck{name, CheckState::kFailed, finding, std::move(detail)};
}

// Hex for messages; an empty value is shown as such rather than as nothing.
std::string Hex(ByteSpan data) { return data.empty() ? "(empty)" : HexEncode(data); }

std::string Pcr(uint16_t alg, uint32_t pcr) { return absl::StrCat(HashAlgName(alg), ":", pcr); }

// "sha256:1-3+sha1:7" for a set of pairs, for messages.
std::string FormatSet(const PcrSet& set) { return FormatPcrSelectionSpec(FromPcrSet(set)); }

PcrSet Minus(const PcrSet& a, const PcrSet& b) {
  PcrSet out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

std::string AttestTypeName(uint16_t type) {
  switch (type) {
    case TPM2_ST_ATTEST_NV:
      return "nv";
    case TPM2_ST_ATTEST_COMMAND_AUDIT:
      return "command_audit";
    case TPM2_ST_ATTEST_SESSION_AUDIT:
      return "session_audit";
    case TPM2_ST_ATTEST_CERTIFY:
      return "certify";
    case TPM2_ST_ATTEST_QUOTE:
      return "quote";
    case TPM2_ST_ATTEST_TIME:
      return "time";
    case TPM2_ST_ATTEST_CREATION:
      return "creation";
    default:
      return "unknown";
  }
}

QuoteFinding FindingFor(SignatureOutcome outcome) {
  switch (outcome) {
    case SignatureOutcome::kValid:
      return QuoteFinding::kOk;
    case SignatureOutcome::kMalformed:
      return QuoteFinding::kSignatureMalformed;
    case SignatureOutcome::kSchemeMismatch:
      return QuoteFinding::kSchemeMismatch;
    case SignatureOutcome::kSchemeNotAllowed:
      return QuoteFinding::kSchemeNotAllowed;
    case SignatureOutcome::kInvalid:
      return QuoteFinding::kSignatureInvalid;
  }
  return QuoteFinding::kSignatureInvalid;
}

// One verification run: the checks in order, sharing what earlier checks established.
class QuoteVerification {
 public:
  explicit QuoteVerification(const QuoteInput& input) : in_(input) {}

  QuoteResult Run() {
    using Step = QuoteCheck (QuoteVerification::*)();
    struct Planned {
      const char* name;
      Step step;
    };
    std::vector<Planned> plan = {
        {kCheckAkPublic, &QuoteVerification::AkPublic},
        {kCheckAkAttributes, &QuoteVerification::AkAttributes},
        {kCheckSignature, &QuoteVerification::Signature},
        {kCheckMagic, &QuoteVerification::Magic},
        {kCheckType, &QuoteVerification::Type},
        {kCheckAttestStructure, &QuoteVerification::AttestStructure},
        {kCheckNonce, &QuoteVerification::Nonce},
        {kCheckPcrSelection, &QuoteVerification::Selection},
        {kCheckPcrValues, &QuoteVerification::Values},
        {kCheckPcrDigest, &QuoteVerification::Digest},
    };
    if (in_.pcr_values != nullptr && in_.replayed_pcrs != nullptr) {
      plan.push_back({kCheckEventLogReplay, &QuoteVerification::EventLogReplay});
    }
    const char* failed = nullptr;
    for (const Planned& p : plan) {
      if (failed != nullptr) {
        result_.checks.push_back(QuoteCheck{p.name, CheckState::kNotRun, QuoteFinding::kNotVerified,
                                            absl::StrCat("not run: ", failed, " failed")});
        continue;
      }
      QuoteCheck check = (this->*p.step)();
      if (!check.passed()) failed = p.name;
      result_.checks.push_back(std::move(check));
    }

    const QuoteCheck* first_failure = result_.FirstFailure();
    const bool every_check_passed =
        first_failure == nullptr && result_.checks.size() == plan.size();
    if (every_check_passed) {
      // The one place a quote becomes trusted.
      result_.verdict = true;
      result_.finding = QuoteFinding::kOk;
    } else {
      result_.finding =
          first_failure != nullptr ? first_failure->finding : QuoteFinding::kNotVerified;
    }
    return std::move(result_);
  }

 private:
  QuoteCheck AkPublic() {
    auto pub = ParsePublicArea(in_.ak_public);
    if (!pub.ok()) {
      return Fail(kCheckAkPublic, QuoteFinding::kAkMalformed, std::string(pub.status().message()));
    }
    ak_ = *pub;
    auto key = PublicKeyFromPublicArea(ak_);
    if (!key.ok()) {
      return Fail(kCheckAkPublic, QuoteFinding::kAkMalformed, std::string(key.status().message()));
    }
    key_ = *std::move(key);
    auto name = ObjectName(ak_);
    if (!name.ok()) {
      return Fail(kCheckAkPublic, QuoteFinding::kAkMalformed, std::string(name.status().message()));
    }
    result_.ak_name = *std::move(name);
    return Pass(kCheckAkPublic,
                absl::StrCat(DescribeKey(ak_), " name ", HexEncode(result_.ak_name)));
  }

  QuoteCheck AkAttributes() {
    const KeyCheckReport report = CheckAkPublic(ak_, in_.options.ak);
    if (!report.ok()) {
      return Fail(kCheckAkAttributes, QuoteFinding::kAkAttributes,
                  absl::StrCat(report.Summary(), " (attributes ",
                               DescribeObjectAttributes(ak_.objectAttributes), ")"));
    }
    std::string detail = DescribeObjectAttributes(ak_.objectAttributes);
    for (const std::string& note : report.notes) absl::StrAppend(&detail, "; ", note);
    return Pass(kCheckAkAttributes, std::move(detail));
  }

  QuoteCheck Signature() {
    const SignatureCheck sig = VerifyTpmSignature(ak_, key_.get(), in_.signature, in_.attest,
                                                  in_.options.ak.allow_sha1_signing);
    result_.signature_scheme = sig.scheme;
    result_.signature_hash = sig.hash;
    if (!sig.ok()) return Fail(kCheckSignature, FindingFor(sig.outcome), sig.detail);
    const uint16_t pinned = ak_.type == TPM2_ALG_RSA ? ak_.parameters.rsaDetail.scheme.scheme
                                                     : ak_.parameters.eccDetail.scheme.scheme;
    return Pass(kCheckSignature,
                absl::StrCat(sig.detail, pinned != TPM2_ALG_NULL
                                             ? " (scheme pinned by the AK)"
                                             : " (AK pins no scheme; signer's choice allowed)"));
  }

  QuoteCheck Magic() { return CheckMagic(in_.attest); }
  QuoteCheck Type() { return CheckQuoteType(in_.attest); }

  QuoteCheck AttestStructure() {
    auto attest = ParseTpmsAttest(in_.attest);
    if (!attest.ok()) {
      return Fail(kCheckAttestStructure, QuoteFinding::kAttestMalformed,
                  std::string(attest.status().message()));
    }
    auto selection = PcrSelectionFromTpml(attest->attested.quote.pcrSelect);
    if (!selection.ok()) {
      return Fail(kCheckAttestStructure, QuoteFinding::kAttestMalformed,
                  absl::StrCat("TPMS_ATTEST: ", selection.status().message()));
    }
    QuotedInfo info;
    info.clock.clock = attest->clockInfo.clock;
    info.clock.reset_count = attest->clockInfo.resetCount;
    info.clock.restart_count = attest->clockInfo.restartCount;
    info.clock.safe = attest->clockInfo.safe != 0;
    info.firmware_version = attest->firmwareVersion;
    info.qualified_signer.assign(attest->qualifiedSigner.name,
                                 attest->qualifiedSigner.name + attest->qualifiedSigner.size);
    info.extra_data.assign(attest->extraData.buffer,
                           attest->extraData.buffer + attest->extraData.size);
    const TPM2B_DIGEST& digest = attest->attested.quote.pcrDigest;
    info.pcr_digest.assign(digest.buffer, digest.buffer + digest.size);
    info.selection = *std::move(selection);
    result_.quote = std::move(info);
    return Pass(kCheckAttestStructure,
                absl::StrCat(in_.attest.size(), " bytes, clock ", result_.quote->clock.clock,
                             " resetCount ", result_.quote->clock.reset_count, " restartCount ",
                             result_.quote->clock.restart_count));
  }

  QuoteCheck Nonce() { return CheckNonce(result_.quote->extra_data, in_.nonce); }

  QuoteCheck Selection() {
    return CheckPcrSelection(result_.quote->selection, in_.requested_selection);
  }

  QuoteCheck Values() {
    const PcrSelection& selection = result_.quote->selection;
    if (in_.pcr_values != nullptr) {
      return CheckPcrValuesCoverSelection(selection, *in_.pcr_values, &result_.quoted_pcrs);
    }
    if (in_.replayed_pcrs == nullptr) {
      return Fail(kCheckPcrValues, QuoteFinding::kPcrValuesMismatchSelection,
                  "no PCR values and no event-log replay to check the quote against");
    }
    ReplayRestriction restricted = RestrictReplayToSelection(*in_.replayed_pcrs, selection);
    if (restricted.finding != QuoteFinding::kOk) {
      return Fail(kCheckPcrValues, restricted.finding, restricted.detail);
    }
    from_replay_ = true;
    result_.quoted_pcrs = std::move(restricted.values);
    return Pass(kCheckPcrValues, absl::StrCat("from event-log replay: ", restricted.detail));
  }

  QuoteCheck Digest() {
    const QuotedInfo& quote = *result_.quote;
    const QuoteFinding mismatch =
        from_replay_ ? QuoteFinding::kEventLogReplayMismatch : QuoteFinding::kPcrDigestMismatch;
    auto computed = ComputePcrDigest(result_.signature_hash, quote.selection, result_.quoted_pcrs);
    if (!computed.ok()) {
      return Fail(kCheckPcrDigest, mismatch, std::string(computed.status().message()));
    }
    const std::string what = absl::StrCat(HashAlgName(result_.signature_hash), " over ",
                                          SelectedPcrCount(quote.selection), " PCRs",
                                          from_replay_ ? " replayed from the event log" : "");
    if (!ConstantTimeEquals(*computed, quote.pcr_digest)) {
      return Fail(kCheckPcrDigest, mismatch,
                  absl::StrCat("computed ", HexEncode(*computed), " (", what, "), signed ",
                               HexEncode(quote.pcr_digest)));
    }
    return Pass(kCheckPcrDigest, absl::StrCat(HexEncode(*computed), " (", what, ")"));
  }

  QuoteCheck EventLogReplay() {
    const PcrSelection& selection = result_.quote->selection;
    ReplayRestriction restricted = RestrictReplayToSelection(*in_.replayed_pcrs, selection);
    if (restricted.finding != QuoteFinding::kOk) {
      return Fail(kCheckEventLogReplay, restricted.finding, restricted.detail);
    }
    std::vector<std::string> differing;
    PcrSet matched;
    PcrSet at_reset;
    PcrSet outside_log;
    for (const auto& [alg, bank] : result_.quoted_pcrs) {
      const PcrBank& replayed = restricted.values[alg];
      for (const auto& [pcr, value] : bank) {
        auto it = replayed.find(pcr);
        const bool equal = it != replayed.end() && it->second == value;
        if (restricted.not_extended.count({alg, pcr})) {
          (equal ? at_reset : outside_log).emplace(alg, pcr);
        } else if (equal) {
          matched.emplace(alg, pcr);
        } else {
          differing.push_back(absl::StrCat(Pcr(alg, pcr), " replay ",
                                           it == replayed.end() ? "-" : HexEncode(it->second),
                                           " quoted ", HexEncode(value)));
        }
      }
    }
    if (!differing.empty()) {
      return Fail(kCheckEventLogReplay, QuoteFinding::kEventLogReplayMismatch,
                  absl::StrCat(differing.size(), " PCRs differ: ", absl::StrJoin(differing, "; ")));
    }
    std::string detail = absl::StrCat("replay matches ", matched.size(), " quoted PCRs");
    if (!at_reset.empty()) {
      absl::StrAppend(&detail, "; not in the log and at reset value: ", FormatSet(at_reset));
    }
    if (!outside_log.empty()) {
      absl::StrAppend(&detail,
                      "; not in the log but extended (outside this log, not vouched for by it): ",
                      FormatSet(outside_log));
    }
    return Pass(kCheckEventLogReplay, std::move(detail));
  }

  const QuoteInput& in_;
  QuoteResult result_;
  TPMT_PUBLIC ak_ = {};
  EvpPkeyPtr key_;
  bool from_replay_ = false;
};

}  // namespace

const QuoteCheck* QuoteResult::FirstFailure() const {
  for (const QuoteCheck& check : checks) {
    if (!check.passed()) return &check;
  }
  return nullptr;
}

QuoteCheck CheckMagic(ByteSpan attest) {
  auto header = ReadAttestHeader(attest);
  if (!header.ok()) {
    return Fail(kCheckMagic, QuoteFinding::kAttestMalformed,
                std::string(header.status().message()));
  }
  if (header->magic != TPM2_GENERATED_VALUE) {
    return Fail(kCheckMagic, QuoteFinding::kBadMagic,
                absl::StrFormat("magic 0x%08x, expected TPM_GENERATED_VALUE 0x%08x", header->magic,
                                TPM2_GENERATED_VALUE));
  }
  return Pass(kCheckMagic, absl::StrFormat("0x%08x (TPM_GENERATED_VALUE)", header->magic));
}

QuoteCheck CheckQuoteType(ByteSpan attest) {
  auto header = ReadAttestHeader(attest);
  if (!header.ok()) {
    return Fail(kCheckType, QuoteFinding::kAttestMalformed, std::string(header.status().message()));
  }
  if (header->type != TPM2_ST_ATTEST_QUOTE) {
    return Fail(kCheckType, QuoteFinding::kNotAQuote,
                absl::StrFormat("type 0x%04x (%s), expected TPM_ST_ATTEST_QUOTE 0x%04x",
                                header->type, AttestTypeName(header->type), TPM2_ST_ATTEST_QUOTE));
  }
  return Pass(kCheckType, absl::StrFormat("0x%04x (TPM_ST_ATTEST_QUOTE)", header->type));
}

QuoteCheck CheckNonce(ByteSpan extra_data, ByteSpan expected_nonce) {
  if (!ConstantTimeEquals(extra_data, expected_nonce)) {
    return Fail(kCheckNonce, QuoteFinding::kNonceMismatch,
                absl::StrCat("expected ", Hex(expected_nonce), " (", expected_nonce.size(),
                             " bytes) got ", Hex(extra_data), " (", extra_data.size(), " bytes)"));
  }
  return Pass(kCheckNonce, absl::StrCat(Hex(extra_data), " (", extra_data.size(), " bytes)"));
}

QuoteCheck CheckPcrSelection(const PcrSelection& signed_selection,
                             const PcrSelection* requested_selection) {
  const PcrSet signed_set = ToPcrSet(signed_selection);
  if (signed_set.empty()) {
    return Fail(kCheckPcrSelection, QuoteFinding::kSelectionMismatch, "the quote selects no PCR");
  }
  const std::string signed_text = FormatPcrSelectionSpec(signed_selection);
  if (requested_selection == nullptr) {
    return Pass(kCheckPcrSelection, absl::StrCat(signed_text, " (no selection requested)"));
  }
  const PcrSet requested_set = ToPcrSet(*requested_selection);
  if (signed_set != requested_set) {
    std::vector<std::string> parts = {absl::StrCat("signed ", signed_text, ", requested ",
                                                   FormatPcrSelectionSpec(*requested_selection))};
    const PcrSet unsigned_pcrs = Minus(requested_set, signed_set);
    const PcrSet unrequested = Minus(signed_set, requested_set);
    if (!unsigned_pcrs.empty())
      parts.push_back(absl::StrCat("not signed: ", FormatSet(unsigned_pcrs)));
    if (!unrequested.empty())
      parts.push_back(absl::StrCat("not requested: ", FormatSet(unrequested)));
    return Fail(kCheckPcrSelection, QuoteFinding::kSelectionMismatch, absl::StrJoin(parts, "; "));
  }
  return Pass(kCheckPcrSelection, absl::StrCat(signed_text, " (as requested)"));
}

QuoteCheck CheckPcrValuesCoverSelection(const PcrSelection& signed_selection,
                                        const PcrValues& values, PcrValues* covered) {
  const PcrSet selected = ToPcrSet(signed_selection);
  PcrSet missing;
  PcrSet extra;
  std::vector<std::string> bad_size;
  std::vector<std::string> unquoted_banks;
  PcrValues out;
  std::set<uint16_t> selected_banks;
  for (const auto& [alg, pcr] : selected) {
    selected_banks.insert(alg);
    auto bank = values.find(alg);
    if (bank == values.end()) {
      missing.emplace(alg, pcr);
      continue;
    }
    auto value = bank->second.find(pcr);
    if (value == bank->second.end()) {
      missing.emplace(alg, pcr);
      continue;
    }
    const std::optional<size_t> size = KnownDigestSize(alg);
    if (!size.has_value() || value->second.size() != *size) {
      bad_size.push_back(absl::StrCat(Pcr(alg, pcr), " has ", value->second.size(), " bytes"));
      continue;
    }
    out[alg][pcr] = value->second;
  }
  for (const auto& [alg, bank] : values) {
    if (!selected_banks.count(alg)) {
      if (!bank.empty()) unquoted_banks.push_back(HashAlgName(alg));
      continue;
    }
    for (const auto& entry : bank) {
      if (!selected.count({alg, entry.first})) extra.emplace(alg, entry.first);
    }
  }
  if (!missing.empty() || !extra.empty() || !bad_size.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty())
      parts.push_back(absl::StrCat("selected but not supplied: ", FormatSet(missing)));
    if (!extra.empty())
      parts.push_back(absl::StrCat("supplied but not selected: ", FormatSet(extra)));
    if (!bad_size.empty()) parts.push_back(absl::StrJoin(bad_size, ", "));
    return Fail(kCheckPcrValues, QuoteFinding::kPcrValuesMismatchSelection,
                absl::StrJoin(parts, "; "));
  }
  std::string detail = absl::StrCat(selected.size(), " values cover ",
                                    FormatPcrSelectionSpec(signed_selection), " exactly");
  if (!unquoted_banks.empty()) {
    absl::StrAppend(&detail, "; banks not in this quote, not covered by it: ",
                    absl::StrJoin(unquoted_banks, ", "));
  }
  if (covered != nullptr) *covered = std::move(out);
  return Pass(kCheckPcrValues, std::move(detail));
}

Bytes PcrResetValue(uint16_t alg, uint32_t pcr) {
  const size_t size = KnownDigestSize(alg).value_or(0);
  return Bytes(size, pcr >= 17 && pcr <= 22 ? 0xff : 0x00);
}

ReplayRestriction RestrictReplayToSelection(const PcrValues& replayed,
                                            const PcrSelection& selection) {
  ReplayRestriction out;
  for (const PcrBankSelection& bank : selection) {
    if (bank.pcrs.empty()) continue;
    auto replayed_bank = replayed.find(bank.alg);
    if (replayed_bank == replayed.end() || !KnownDigestSize(bank.alg).has_value()) {
      out.finding = QuoteFinding::kEventLogBankMissing;
      out.detail = absl::StrCat("the event log has no ", HashAlgName(bank.alg),
                                " digests, but the quote selects ", FormatPcrSelectionSpec({bank}));
      out.values.clear();
      out.not_extended.clear();
      return out;
    }
    PcrBank& dst = out.values[bank.alg];
    for (uint32_t pcr : bank.pcrs) {
      auto value = replayed_bank->second.find(pcr);
      if (value == replayed_bank->second.end()) {
        dst[pcr] = PcrResetValue(bank.alg, pcr);
        out.not_extended.emplace(bank.alg, pcr);
      } else {
        dst[pcr] = value->second;
      }
    }
  }
  out.finding = QuoteFinding::kOk;
  out.detail = out.not_extended.empty()
                   ? "every selected PCR was extended by the log"
                   : absl::StrCat("never extended by the log, reset value used: ",
                                  FormatSet(out.not_extended));
  return out;
}

QuoteResult VerifyQuote(const QuoteInput& input) { return QuoteVerification(input).Run(); }

}  // namespace bootgate::attest
