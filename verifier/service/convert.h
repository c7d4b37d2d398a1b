// Conversions between the store's records / attest values and the bootgate.v1 API messages, and
// the one absl::Status -> grpc::Status mapping (the codes are identical by design).
#ifndef BOOTGATE_VERIFIER_SERVICE_CONVERT_H_
#define BOOTGATE_VERIFIER_SERVICE_CONVERT_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attest/pcr/pcr_values.h"
#include "attest/tpm/pcr_selection.h"
#include "bootgate/v1/admin.pb.h"
#include "bootgate/v1/attestation.pb.h"
#include "bootgate/v1/common.pb.h"
#include "bootgate/v1/enrollment.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "verifier/appraise/appraisal.h"
#include "verifier/store/records.h"

namespace bootgate::verifier {

grpc::Status ToGrpcStatus(const absl::Status& status);

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);

bootgate::v1::Verdict VerdictToProto(const std::string& verdict);
void FindingsToProto(const Findings& findings,
                     google::protobuf::RepeatedPtrField<bootgate::v1::Finding>* out);
void StagesToProto(const std::vector<Stage>& stages,
                   google::protobuf::RepeatedPtrField<bootgate::v1::Check>* out);
void ClockToProto(const ClockState& clock, bootgate::v1::ClockInfo* out);

// All three forms of the selection (spec, structured banks, marshalled TPML_PCR_SELECTION).
absl::Status SelectionToProto(const attest::PcrSelection& selection,
                              bootgate::v1::PcrSelection* out);

// Strict: a known bank at most once, PCR indexes 0-23 at most once per bank, each digest exactly
// the bank's size. InvalidArgument naming the offending entry.
absl::StatusOr<attest::PcrValues> PcrBanksFromProto(
    const google::protobuf::RepeatedPtrField<bootgate::v1::PcrBank>& banks);
void PcrValuesToProto(const attest::PcrValues& values,
                      google::protobuf::RepeatedPtrField<bootgate::v1::PcrBank>* out);

void NodeToProto(const NodeRecord& node, bootgate::v1::Node* out);
void NodeTransitionToProto(const NodeTransition& t, bootgate::v1::NodeTransition* out);
bootgate::v1::EnrollmentStatus EnrollmentStatusToProto(EnrollmentState state);
void EnrollmentToProto(const EnrollmentRecord& e, bootgate::v1::EnrollmentRecord* out);
void AttestationToProto(const AttestationRecord& a, bootgate::v1::AttestationRecord* out);
void TokenToProto(const TokenRecord& t, bootgate::v1::TokenRecord* out);

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_SERVICE_CONVERT_H_
