#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests and the demo need.
# Idempotent and non-interactive; safe to run again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake pkg-config ninja-build git ca-certificates
  clang-14 libclang-rt-14-dev lld-14 clang-format
  # libraries
  libssl-dev libtss2-dev libabsl-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libsqlite3-dev sqlite3 libyaml-cpp-dev nlohmann-json3-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  # software TPM and reference tools used by integration tests
  swtpm swtpm-tools tpm2-tools openssl iproute2 procps
  # image tests (label image): pesign -h and systemd-measure as independent references for
  # Authenticode and UKI PCR 11, systemd-boot/systemd-stub binaries, objcopy to build a UKI
  pesign systemd systemd-boot-efi binutils
  # demo output formatting (and the QEMU harness's relay and checks)
  python3
  # real measured boots under QEMU (tests/qemu/measured-boot.sh, ctest label qemu): firmware with
  # Secure Boot, an initramfs (static busybox, cpio, zstd), a FAT ESP built without mounts, the
  # in-guest TCP <-> virtio-serial relay, and the device TCTI the agent dlopen()s in the guest.
  # Debian's signed shim, grub and kernel are fetched by the harness with apt-get download;
  # systemd-boot-efi has the UKI stub (systemd-measure, in systemd, predicts its PCR 11).
  qemu-system-x86 ovmf busybox-static cpio zstd mtools dosfstools socat binutils
  libtss2-tcti-device0 systemd-boot-efi systemd
  # report rendering: the `browser` ctest label renders `bootgate report --format html` in
  # headless Chromium and keeps a screenshot as a CI artefact (build/artifacts/report.png)
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
