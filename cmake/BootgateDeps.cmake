# Third-party dependencies, all from Debian 12 packages (scripts/install-deps.sh).
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
# tpm2-tss 3.2.1 ships no CMake config. tss2-mu is pure marshalling and may be used by attest.
pkg_check_modules(TSS2_MU REQUIRED IMPORTED_TARGET tss2-mu)
pkg_check_modules(TSS2_ESYS REQUIRED IMPORTED_TARGET tss2-esys tss2-tctildr tss2-rc)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
if(BOOTGATE_BENCHMARKS)
  find_package(benchmark CONFIG REQUIRED)
endif()
