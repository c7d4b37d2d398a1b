# Dependencies of the verifier service and the admin CLI only (never of the pure layers), all
# from Debian 12 packages (scripts/install-deps.sh). Included from each directory that uses them
# (proto/, verifier/, tests/): imported targets are visible only in the directory that found them.

# gRPC 1.51's CMake config needs Threads found first and protobuf-compiler-grpc installed.
find_package(Threads REQUIRED)
# protobuf 3.21 ships no protobuf-config.cmake on Debian 12: module mode.
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_program(BOOTGATE_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
