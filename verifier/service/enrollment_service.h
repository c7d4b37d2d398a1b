// Enrollment service (DESIGN.md "Enrollment"): EK chain and attributes, AK attributes, software
// MakeCredential, constant-time comparison of the activated secret. Rejections are results with
// named reasons (ENROLL_*), recorded with the raw request.
#ifndef BOOTGATE_VERIFIER_SERVICE_ENROLLMENT_SERVICE_H_
#define BOOTGATE_VERIFIER_SERVICE_ENROLLMENT_SERVICE_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "bootgate/v1/enrollment.grpc.pb.h"
#include "verifier/enroll/ek_allow_list.h"
#include "verifier/enroll/ek_trust.h"
#include "verifier/service/context.h"

namespace bootgate::verifier {

struct EnrollmentOptions {
  absl::Duration challenge_ttl = absl::Minutes(5);
};

class EnrollmentServiceImpl final : public bootgate::v1::Enrollment::Service {
 public:
  // `allow_list` may be null (no inventory pinning); the others must outlive the service.
  EnrollmentServiceImpl(ServiceContext ctx, const EkTrustStore* trust,
                        const EkAllowList* allow_list, EnrollmentOptions options)
      : ctx_(ctx), trust_(trust), allow_list_(allow_list), options_(options) {}

  grpc::Status StartEnrollment(grpc::ServerContext* context,
                               const bootgate::v1::StartEnrollmentRequest* request,
                               bootgate::v1::StartEnrollmentResponse* response) override;
  grpc::Status FinishEnrollment(grpc::ServerContext* context,
                                const bootgate::v1::FinishEnrollmentRequest* request,
                                bootgate::v1::FinishEnrollmentResponse* response) override;

  // The handlers without gRPC around them.
  absl::Status Start(const bootgate::v1::StartEnrollmentRequest& request,
                     bootgate::v1::StartEnrollmentResponse* response);
  absl::Status Finish(const bootgate::v1::FinishEnrollmentRequest& request,
                      bootgate::v1::FinishEnrollmentResponse* response);

 private:
  ServiceContext ctx_;
  const EkTrustStore* trust_;
  const EkAllowList* allow_list_;
  EnrollmentOptions options_;
};

}  // namespace bootgate::verifier

#endif  // BOOTGATE_VERIFIER_SERVICE_ENROLLMENT_SERVICE_H_
