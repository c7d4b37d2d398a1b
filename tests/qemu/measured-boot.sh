#!/usr/bin/env bash
# Real measured boot under QEMU: OVMF (Secure Boot, Microsoft keys) measures Debian's signed
# shim -> grub -> kernel into a swtpm vTPM; bootgate-agent runs inside the booted guest, reads
# /dev/tpmrm0 and the kernel's event log, enrolls and joins through virtio-serial ports relayed to
# bootgate-verifier on the host's loopback; the verifier decides with a signed golden-image policy
# computed from the boot files before the boot.
#
#   tests/qemu/measured-boot.sh SCENARIO [--console] [--keep] [--build-dir DIR]
#   tests/qemu/measured-boot.sh --list
#
# Scenarios (each is a ctest case, label qemu). The verifier runs a signed golden-image policy
# computed from the image files before the boot (make_policy below):
#   secureboot-accept   shim -> grub -> kernel with Secure Boot on: accepted, token issued and
#                       unwrapped in the guest, the verifier records an affirming attestation whose
#                       policy_matched names the golden image and the platform
#   cmdline-changed     the same image with a changed kernel command line in grub.cfg: refused, no
#                       token; the findings name grub's kernel_cmdline and commands on PCR 8
#                       (POLICY_CMDLINE_MISMATCH, POLICY_GRUB_COMMAND_MISMATCH) and grub.cfg's
#                       digest on PCR 9 (POLICY_FILE_MISMATCH)
#   secureboot-off      a UKI (as uki-accept) booted with non-Secure-Boot OVMF variables against a
#                       golden image of that UKI that requires Secure Boot: refused on PCR 7
#                       (POLICY_SECUREBOOT_DISABLED), no token. The UKI, not shim -> grub: with
#                       Secure Boot off Debian's grub starts the kernel without its EFI stub, so no
#                       event log would reach the agent and the verifier would stop at
#                       EVENTLOG_MISSING before the policy ran (that fail-closed path is covered by
#                       the verifier's own tests, not by a boot here).
#   uki-accept          a unified kernel image (systemd-stub 252 + the same kernel, initrd and
#                       command line) booted directly by OVMF with Secure Boot off (the UKI is
#                       unsigned): accepted against a golden image computed from the UKI file
#                       (`bootgate policy from-image --uki --secure-boot off`: PCR 4, 9 and 11;
#                       PCR 11 also cross-checked against systemd-measure)
#   reboot-rejoin       secureboot-accept, then the same node (same TPM state, the agent's state
#                       directory carried over) boots again: the quote's resetCount went up, the
#                       verifier flags a new boot, re-appraises the whole log against the golden
#                       image and issues a second token
#
# --console   also show the guest's serial console live (it is always in RUN/*.console.log)
# --keep      keep the run directory (default: kept only when the scenario fails)
#
# What it does (all under `timeout`, free ports only, a private run directory; everything started
# here is stopped by pid on exit):
#   1. fetches shim-signed, grub-efi-amd64-signed and the kernel that linux-image-amd64 depends on
#      with `apt-get download` + `dpkg-deb -x` into BUILD/qemu-cache (idempotent, no install);
#   2. builds a reproducible initramfs (busybox-static, bootgate-agent + every shared library it
#      loads incl. the dlopen'ed device TCTI, socat, the virtio modules, tests/qemu/guest-init.sh)
#      and a FAT ESP image with mtools (no mounts): \EFI\BOOT\BOOTX64.EFI = shim,
#      \EFI\BOOT\grubx64.efi, \EFI\debian\grub.cfg (the prefix of Debian's signed grub), \vmlinuz,
#      \initrd.img;
#   3. computes the verifier's golden-image policy from the ESP's files, plus a platform reference
#      learned from a (cached) reference boot, signs it with a key made for the run (make_policy);
#   4. starts swtpm for QEMU (bootgate-swtpm --qemu: EK certificates from a CA private to the run),
#      bootgate-verifier (init + serve on port 0) trusting that CA, one host relay per virtio port,
#      and QEMU (q35, accel=tcg, SMM, Secure Boot OVMF, -no-reboot, serial console to a file);
#   5. checks the guest's BOOTGATE-RESULT line and the verifier's records (admin API).
#
# Guest <-> verifier transport: the guest has no network. Each agent command opens its own
# gRPC/TLS connection, and one virtio-serial port is one byte stream whose close the host never
# sees, so every agent command gets its own port (bootgate0: enroll, bootgate1: join). In the guest
# socat listens on 127.0.0.1:7443 (a name in the verifier certificate's SANs) and forwards one
# connection to its port; on the host tests/qemu/vport_relay.py opens a fresh TCP connection to the
# verifier when the guest's first bytes arrive (see its header for why not socat there). The
# firmware event log also comes back on a third port (bootgate-log, a file on the host).
#
# Exit status: 0 the scenario behaved as expected, 1 it did not, 2 usage, 77 never (no skips).
set -euo pipefail
umask 022

readonly PROG=measured-boot
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

readonly SCENARIOS="secureboot-accept cmdline-changed secureboot-off uki-accept reboot-rejoin"
readonly UKI_STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
readonly GOOD_CMDLINE="console=ttyS0 panic=-1 loglevel=4"
readonly CHANGED_CMDLINE="console=ttyS0 panic=-1 loglevel=4 ima_appraise=off"
readonly PCR_SELECTION="sha256:0-9,11,14"
readonly OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd
readonly OVMF_VARS_SECBOOT=/usr/share/OVMF/OVMF_VARS_4M.ms.fd  # Microsoft + Debian keys enrolled
readonly OVMF_VARS_NOKEYS=/usr/share/OVMF/OVMF_VARS_4M.fd      # no keys: Secure Boot off
BOOT_TIMEOUT=${BOOTGATE_QEMU_BOOT_TIMEOUT:-480}  # seconds per QEMU boot (TCG, shared cores)
STATE_OUT=0  # boot(): add the bootgate-state port (the agent's state comes back after a join)
STATE_IN=""  # boot() in rejoin mode: the agent state (tar.gz) handed to the guest

die() {
  echo "$PROG: $*" >&2
  exit 1
}
t_start=$(date +%s%3N)
log() { printf '%s: [%6.1fs] %s\n' "$PROG" "$((($(date +%s%3N) - t_start)))e-3" "$*" >&2; }

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

scenario=""
console=0
keep=0
build=${BOOTGATE_BUILD_DIR:-$root/build}
while (($#)); do
  case $1 in
    --console) console=1; shift ;;
    --keep) keep=1; shift ;;
    --build-dir) (($# >= 2)) || die "--build-dir needs a value"; build=$2; shift 2 ;;
    --list) tr ' ' '\n' <<<"$SCENARIOS"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "$PROG: unknown option $1" >&2; exit 2 ;;
    *) [[ -z $scenario ]] || { echo "$PROG: one scenario at a time" >&2; exit 2; }
       scenario=$1; shift ;;
  esac
done
[[ -n $scenario ]] || { usage >&2; exit 2; }
[[ " $SCENARIOS " == *" $scenario "* ]] || { echo "$PROG: unknown scenario '$scenario' (--list)" >&2; exit 2; }
build=$(realpath -m -- "$build")
bin=$build/bin
cache=${BOOTGATE_QEMU_CACHE:-$build/qemu-cache}

for t in qemu-system-x86_64 swtpm swtpm_setup mkfs.vfat mcopy mmd cpio zstd socat python3 \
  apt-get dpkg-deb dpkg-query openssl timeout flock strip objcopy ldd; do
  command -v "$t" >/dev/null 2>&1 || die "$t is missing: run scripts/install-deps.sh"
done
[[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 ||
  die "busybox-static is missing: run scripts/install-deps.sh"
for f in "$OVMF_CODE" "$OVMF_VARS_SECBOOT" "$OVMF_VARS_NOKEYS" "$UKI_STUB" \
  /usr/lib/systemd/systemd-measure; do
  [[ -r $f ]] || die "$f is missing: run scripts/install-deps.sh (ovmf, systemd-boot-efi, systemd)"
done
for b in bootgate bootgate-verifier bootgate-agent; do
  [[ -x $bin/$b ]] || die "$bin/$b is missing: build it first (cmake --build $build)"
done

# Drops a reaped child from the pids that cleanup signals.
forget_pid() {
  local p kept=()
  for p in "${pids[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  pids=("${kept[@]}")
}

mkdir -p "$cache"
run=$(mktemp -d "${TMPDIR:-/tmp}/bootgate-qemu.XXXXXX")
pids=()
swtpm_dirs=()
ok=0
cleanup() {
  local pid d
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for d in "${swtpm_dirs[@]}"; do
    "$root/swtpm-fixtures/bootgate-swtpm" stop --dir "$d" >/dev/null 2>&1 || true
  done
  if ((keep || !ok)); then
    echo "$PROG: run directory kept: $run" >&2
  else
    rm -rf -- "$run"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log "scenario $scenario, run directory $run, cache $cache"

# ---------------------------------------------------------------------------------------------
# 1. Debian's signed boot chain, fetched without installing it.

# Prints the path of the one package file NAME_*.deb in the cache, downloading it if needed.
fetch_deb() {
  local name=$1 deb
  deb=$(ls "$cache/debs/${name}"_*.deb 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $deb ]]; then
    mkdir -p "$cache/debs"
    (cd "$cache/debs" && timeout 600 apt-get download -q "$name" >&2) ||
      die "apt-get download $name failed (apt-get update?)"
    deb=$(ls "$cache/debs/${name}"_*.deb | sort -V | tail -n 1)
  fi
  echo "$deb"
}

# Extracts a .deb once into the cache; prints the directory.
extract_deb() {
  local deb=$1 dir
  dir=$cache/pkgroot/$(basename "$deb" .deb)
  if [[ ! -f $dir/.extracted ]]; then
    rm -rf -- "$dir"
    mkdir -p "$dir"
    dpkg-deb -x "$deb" "$dir"
    touch "$dir/.extracted"
  fi
  echo "$dir"
}

fetch_boot_chain() {
  local kpkg shim_dir grub_dir kernel_dir
  # The kernel apt offers: the one linux-image-amd64 depends on (e.g. linux-image-6.1.0-56-amd64).
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | sed -n 1p)
  if [[ -z $kpkg ]]; then  # no apt lists: use what the cache already has
    kpkg=$(ls "$cache/debs" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-amd64\)_.*/\1/p' |
      sort -V | tail -n 1)
  fi
  [[ -n $kpkg ]] || die "cannot tell which linux-image-6.1.0-*-amd64 apt offers (apt-get update?)"
  exec 9>"$cache/.lock"
  flock -w 900 9 || die "cache lock $cache/.lock busy for 15 min"
  local shim_deb grub_deb kernel_deb
  shim_deb=$(fetch_deb shim-signed)
  grub_deb=$(fetch_deb grub-efi-amd64-signed)
  kernel_deb=$(fetch_deb "$kpkg")
  shim_dir=$(extract_deb "$shim_deb")
  grub_dir=$(extract_deb "$grub_deb")
  kernel_dir=$(extract_deb "$kernel_deb")
  flock -u 9
  SHIM=$shim_dir/usr/lib/shim/shimx64.efi.signed
  GRUB=$grub_dir/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
  VMLINUZ=$(ls "$kernel_dir"/boot/vmlinuz-* | sed -n 1p)
  KMODS=$(ls -d "$kernel_dir"/lib/modules/* | sed -n 1p)
  for f in "$SHIM" "$GRUB" "$VMLINUZ" "$KMODS/kernel/drivers/char/virtio_console.ko"; do
    [[ -e $f ]] || die "$f missing after extracting the packages"
  done
  log "boot chain: $(basename "$shim_deb" .deb), $(basename "$grub_deb" .deb), $(basename "$kernel_deb" .deb)"
}

# ---------------------------------------------------------------------------------------------
# 2. The initramfs and the ESP image.

# Copies every shared library FILE... need (ldd prints the whole closure, the loader included) into
# the staging root, at the same paths.
copy_with_libs() {
  local stage=$1 f lib
  shift
  for f in "$@"; do
    for lib in $(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
      [[ -e $stage$lib ]] && continue
      mkdir -p "$stage$(dirname "$lib")"
      cp -L "$lib" "$stage$lib"
    done
  done
}

build_initramfs() {
  local out=$1 stage=$run/initramfs-root tcti m
  rm -rf -- "$stage"
  mkdir -p "$stage"/{bin,usr/bin,lib/modules,proc,sys,dev,tmp,run,etc,var/lib}
  cp /bin/busybox "$stage/bin/busybox"
  install -m 0755 "$here/guest-init.sh" "$stage/init"
  strip -o "$stage/usr/bin/bootgate-agent" "$bin/bootgate-agent"
  cp "$(command -v socat)" "$stage/usr/bin/socat"
  # tss2-tctildr dlopen()s the TCTI named by --tcti, so ldd never lists it: copy it explicitly.
  tcti=$("$(command -v ldconfig || echo /sbin/ldconfig)" -p | awk '/libtss2-tcti-device\.so\.0 .*x86-64/ && !n++ { print $NF }')
  [[ -n $tcti ]] || die "libtss2-tcti-device.so.0 not found (apt-get install libtss2-tcti-device0)"
  mkdir -p "$stage$(dirname "$tcti")"
  cp -L "$tcti" "$stage$tcti"
  copy_with_libs "$stage" "$bin/bootgate-agent" "$(command -v socat)" "$tcti"
  for m in virtio/virtio_ring virtio/virtio virtio/virtio_pci_modern_dev \
    virtio/virtio_pci_legacy_dev virtio/virtio_pci char/virtio_console; do
    cp "$KMODS/kernel/drivers/$m.ko" "$stage/lib/modules/"
  done
  # Reproducible: fixed mtimes, sorted names, no device numbers, no gzip timestamp. The same
  # inputs give the same initrd bytes, so PCR 9 (grub measures the file) is stable across runs.
  find "$stage" -exec touch -h -d @0 {} +
  (cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
    cpio -o -H newc --reproducible -R 0:0 --quiet) | zstd -q -10 -T1 >"$out"
}

# Writes grub.cfg for CMDLINE: one menu entry, started at once (timeout 0). grub measures every
# command it runs into PCR 8 (the menuentry block, then the linux/initrd lines it runs) and the
# files it reads into PCR 9. A menuentry rather than top-level linux/initrd/boot lines: that is the
# grub.cfg shape `bootgate policy from-image` predicts (a linear config of set/menuentry/...).
# grub's own prefix is (hd0)/EFI/debian (the ESP is an unpartitioned FAT disk), so root is already
# the ESP.
write_grub_cfg() {
  cat >"$1" <<EOF
set timeout=0
set default=0
menuentry bootgate {
  linux /vmlinuz $2
  initrd /initrd.img
}
EOF
}

# make_esp OUT FILE=ESP_PATH...: an unpartitioned FAT image (mtools, no mounts) holding each FILE
# at ESP_PATH, OUT.manifest ("sha256 ESP_PATH" per file): what the firmware and the boot loaders
# can measure, unlike the FAT metadata, and OUT.tree/, the same files as a directory (the staged
# ESP that `bootgate policy from-image --esp` reads).
make_esp() {
  local out=$1 spec src dst bytes=0 d part parts made=()
  shift
  for spec in "$@"; do bytes=$((bytes + $(stat -c %s "${spec%%=*}"))); done
  rm -rf -- "$out" "$out.manifest" "$out.tree"
  mkdir -p "$out.tree"
  mkfs.vfat -C -i 0b007a7e -n BOOTGATE "$out" $((bytes / 1024 + 16384)) >/dev/null
  export MTOOLS_SKIP_CHECK=1
  for spec in "$@"; do
    src=${spec%%=*}
    dst=${spec#*=}
    d=""
    IFS=/ read -r -a parts <<<"$(dirname "${dst#/}")"
    for part in "${parts[@]}"; do  # mkdir -p
      [[ $part == . ]] && continue
      d+="/$part"
      [[ " ${made[*]-} " == *" $d "* ]] && continue
      mmd -i "$out" "::$d"
      made+=("$d")
    done
    mcopy -i "$out" -m "$src" "::$dst"
    mkdir -p "$out.tree$(dirname "$dst")"
    cp "$src" "$out.tree$dst"
    echo "$(sha256sum <"$src" | cut -d' ' -f1) $dst" >>"$out.manifest"
  done
}

# The shim -> grub -> kernel ESP for grub.cfg $2. No \EFI\BOOT\fbx64.efi: shim would run the
# fallback loader instead of grub.
build_esp() {
  local out=$1 grub_cfg=$2 initrd=$3
  make_esp "$out" "$SHIM=/EFI/BOOT/BOOTX64.EFI" "$GRUB=/EFI/BOOT/grubx64.efi" \
    "$grub_cfg=/EFI/debian/grub.cfg" "$VMLINUZ=/vmlinuz" "$initrd=/initrd.img"
}

# A unified kernel image: systemd-stub 252 (systemd-boot-efi) + .osrel .cmdline .linux .initrd,
# assembled with objcopy (Debian 12 has no ukify). Unsigned, so it boots with Secure Boot off.
build_uki() {
  local out=$1 cmdline=$2 initrd=$3
  printf 'ID=bootgate-measured-boot\nNAME="bootgate measured-boot test image"\n' >"$run/uki-osrel"
  printf '%s' "$cmdline" >"$run/uki-cmdline"
  # The section addresses systemd's documentation uses; .linux must end below .initrd.
  (($(stat -c %s "$VMLINUZ") < 0x1000000)) || die "kernel larger than 16 MiB: move .initrd up"
  objcopy \
    --add-section .osrel="$run/uki-osrel" --change-section-vma .osrel=0x20000 \
    --add-section .cmdline="$run/uki-cmdline" --change-section-vma .cmdline=0x30000 \
    --add-section .linux="$VMLINUZ" --change-section-vma .linux=0x2000000 \
    --add-section .initrd="$initrd" --change-section-vma .initrd=0x3000000 \
    "$UKI_STUB" "$out"
  # objcopy stamps the PE header with the current time (no option or SOURCE_DATE_EPOCH for it):
  # zero TimeDateStamp and recompute the PE checksum, so the same inputs give the same UKI (and
  # the same Authenticode digest in PCR 4, and a cache hit for the reference boot).
  python3 - "$out" <<'PY'
import struct, sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
pe = struct.unpack_from("<I", data, 0x3C)[0]
assert data[pe:pe + 4] == b"PE\0\0", "not a PE file"
struct.pack_into("<I", data, pe + 8, 0)           # COFF TimeDateStamp
csum_off = pe + 24 + 64                           # OptionalHeader.CheckSum
struct.pack_into("<I", data, csum_off, 0)
total = 0
padded = data + (b"\0" if len(data) % 2 else b"")
for (word,) in struct.iter_unpack("<H", padded):
    total += word
    total = (total & 0xFFFF) + (total >> 16)
struct.pack_into("<I", data, csum_off, ((total & 0xFFFF) + len(data)) & 0xFFFFFFFF)
open(path, "wb").write(data)
PY
}

# PCR 11 after systemd-stub measured the UKI's sections, computed from the files (no boot).
predict_uki_pcr11() {
  /usr/lib/systemd/systemd-measure calculate --linux="$VMLINUZ" --osrel="$run/uki-osrel" \
    --cmdline="$run/uki-cmdline" --initrd="$1" --bank=sha256 --phase= 2>"$run/systemd-measure.log" |
    sed -n 's/^11:sha256=\([0-9a-f]\{64\}\)$/\1/p'
}

# ---------------------------------------------------------------------------------------------
# 3. One QEMU boot.

# start_swtpm DIR [--power-cycle]: a private swtpm for QEMU in DIR (a fresh TPM, or with
# --power-cycle the one already in DIR); sets TPM_SOCK and TPM_CA.
start_swtpm() {
  local dir=$1
  shift
  swtpm_dirs+=("$dir")
  timeout 60 "$root/swtpm-fixtures/bootgate-swtpm" start --dir "$dir" --qemu "$@" >/dev/null ||
    die "bootgate-swtpm start --qemu $* failed in $dir"
  TPM_SOCK=$dir/swtpm-ctrl.sock
  TPM_CA=$dir/ca-bundle.pem
}

# The machine. Reference and scenario boots use the same devices, so PCR 0-7 only differ by what
# the scenario changes; the virtio ports are not PCI devices and SMBIOS type 11 is not measured.
qemu_machine_args() {
  local vars=$1 esp=$2 tpm_sock=$3
  QEMU_ARGS=(
    -machine q35,smm=on,accel=tcg -m 1024 -smp 1
    -global driver=cfi.pflash01,property=secure,value=on
    -global ICH9-LPC.disable_s3=1
    -drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
    -drive "if=pflash,format=raw,unit=1,file=$vars"
    -chardev "socket,id=chrtpm,path=$tpm_sock" -tpmdev emulator,id=tpm0,chardev=chrtpm
    -device tpm-tis,tpmdev=tpm0
    -drive "if=none,id=esp,format=raw,readonly=on,file=$esp"
    -device virtio-blk-pci,drive=esp,bootindex=1
    -device virtio-serial-pci,id=vser
    -display none -monitor none -parallel none -net none -no-reboot
  )
}

# boot NAME VARS_TEMPLATE ESP MODE TPM_DIR [RELAY_SOCKETS...]: boots once with the swtpm started
# in TPM_DIR (start_swtpm), waits for the guest to power off. Leaves RUN/NAME.console.log and
# RUN/NAME.eventlog.bin; sets BOOT_SECONDS.
boot() {
  local name=$1 vars_template=$2 esp=$3 mode=$4 tpm_dir=$5 ca_b64="" t0 rc tail_pid="" qemu_pid
  shift 5
  [[ -S $tpm_dir/swtpm-ctrl.sock ]] || die "no swtpm serving $tpm_dir"
  cp "$vars_template" "$run/$name-vars.fd"
  qemu_machine_args "$run/$name-vars.fd" "$esp" "$tpm_dir/swtpm-ctrl.sock"
  QEMU_ARGS+=(-serial "file:$run/$name.console.log")
  : >"$run/$name.eventlog.bin"
  QEMU_ARGS+=(-chardev "file,id=vlog,path=$run/$name.eventlog.bin"
    -device virtserialport,bus=vser.0,chardev=vlog,name=bootgate-log)
  if ((STATE_OUT)); then  # the agent's state directory comes back here after a join
    : >"$run/$name.agent-state.tgz"
    QEMU_ARGS+=(-chardev "file,id=vstate,path=$run/$name.agent-state.tgz"
      -device virtserialport,bus=vser.0,chardev=vstate,name=bootgate-state)
  fi
  local i=0 sock
  for sock in "$@"; do  # host relay sockets, in port order bootgate0, bootgate1, ...
    QEMU_ARGS+=(-chardev "socket,id=vport$i,path=$sock"
      -device "virtserialport,bus=vser.0,chardev=vport$i,name=bootgate$i")
    i=$((i + 1))
  done
  QEMU_ARGS+=(-smbios type=11,value=bootgate,value=bootgate-mode:$mode)
  if [[ $mode == attest || $mode == rejoin ]]; then
    ca_b64=$(base64 -w0 "$run/verifier/ca.pem")
    QEMU_ARGS+=(-smbios "type=11,value=bootgate-ca:$ca_b64")
  fi
  if [[ $mode == rejoin ]]; then  # the agent's state from the previous boot (the node's "disk")
    QEMU_ARGS+=(-smbios "type=11,value=bootgate-state:$(base64 -w0 "$STATE_IN")")
  fi
  : >"$run/$name.console.log"
  if ((console)); then
    # --pid: tail also ends by itself if this script dies without running its trap.
    tail --pid=$$ -n +1 -F "$run/$name.console.log" 2>/dev/null > >(sed -u 's/^/    guest| /' >&2) &
    tail_pid=$!
    pids+=("$tail_pid")
  fi
  printf '%q ' timeout qemu-system-x86_64 "${QEMU_ARGS[@]}" >"$run/$name.qemu-cmdline"
  log "booting $name ($mode, $(basename "$vars_template")); console: $run/$name.console.log"
  t0=$(date +%s%3N)
  timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 "${QEMU_ARGS[@]}" \
    >"$run/$name.qemu.log" 2>&1 &
  qemu_pid=$!
  pids+=("$qemu_pid")
  rc=0
  wait "$qemu_pid" || rc=$?
  forget_pid "$qemu_pid"  # reaped: the number may now belong to someone else
  BOOT_SECONDS=$(awk -v ms="$(($(date +%s%3N) - t0))" 'BEGIN { printf "%.1f", ms / 1000 }')
  if [[ -n $tail_pid ]]; then
    sleep 0.5
    kill "$tail_pid" 2>/dev/null || true
  fi
  "$root/swtpm-fixtures/bootgate-swtpm" stop --dir "$tpm_dir" >/dev/null 2>&1 || true
  ((rc != 124 && rc != 137)) || { tail -n 30 "$run/$name.console.log" >&2
    die "$name: QEMU did not finish within $BOOT_TIMEOUT s"; }
  ((rc == 0)) || { cat "$run/$name.qemu.log" >&2; die "$name: QEMU exited with $rc"; }
  grep -a '^BOOTGATE' "$run/$name.console.log" | tr -d '\r' | sed "s/^/    $name| /" >&2 || true
  log "$name: guest powered off after $BOOT_SECONDS s"
}

# The guest's result line ("joined token-id=...", "refused ...", ...), empty if none.
guest_result() {
  grep -a -m1 '^BOOTGATE-RESULT: ' "$run/$1.console.log" | tr -d '\r' | sed 's/^BOOTGATE-RESULT: //'
}

# ---------------------------------------------------------------------------------------------
# 4. The policy.
#
# make_policy (below) writes a signed golden-image policy (docs/policy.md) for the known-good image
# before anything boots that image as a node:
#
#   GoldenImage (PCR 4, 5, 7, 8, 9, 11, 14) computed from the files themselves with
#     `bootgate policy from-image`: for shim -> grub -> kernel from the staged ESP tree (--esp: the
#     very shim, grub, grub.cfg, kernel and initrd put into the FAT image; --grub-device "(hd0)" so
#     grub's whole command sequence on PCR 8 is predicted, not only checked for integrity), for the
#     UKI from the UKI file (--uki: PCR 4 Authenticode digests, PCR 9 EFI-stub load options and
#     initrd, PCR 11 systemd-stub sections; the PCR 11 value is cross-checked against
#     `systemd-measure calculate` on the UKI's inputs). --secure-boot on|off sets
#     secureBoot.enabled (PCR 7's SecureBoot variable).
#   PlatformReference (PCR 0, 1, 2, 3, 6) for this OVMF build and QEMU machine, learned with
#     `bootgate policy learn` from the event log of a reference boot (only that document is kept).
#
# What the files cannot determine, and what the policy does about it:
#   PCR 0-3, 6   firmware, option ROMs, boot variables, SMBIOS/ACPI: the PlatformReference.
#   PCR 7        the image fixes only secureBoot.enabled; the PK/KEK/db/dbx contents, the
#                authorities that verified each boot application (db's Microsoft UEFI CA for shim,
#                shim's built-in Debian CA for grub and the kernel) and shim's SbatLevel depend on
#                the machine's UEFI variables (OVMF_VARS_*.fd) and on shim. They are taken from the
#                reference boot's learned GoldenImage (secureBoot.pk/kek/db/dbxRequired/authorities/
#                sbatLevel) and merged into the computed image, keeping the computed `enabled`: so
#                PCR 7 is enforced in full (a different key database or an unexpected signer is
#                rejected), and a node without Secure Boot against an image that requires it gets
#                POLICY_SECUREBOOT_DISABLED.
#   PCR 14       shim's MokList/MokListX/MokListTrusted measurements are NVRAM state (no MOK is
#                enrolled in OVMF's templates); from-image leaves `mok` unset (= not compared), so
#                the learned `mok` list of the reference boot is merged too, and PCR 14 is enforced
#                (a MOK enrolled on the node would be rejected). The UKI boot has no shim: the
#                learned list is empty, and any PCR 14 event is rejected.
#   PCR 5        no GPT event (the ESP is an unpartitioned disk) and only the Exit Boot Services
#                pair plus the separator, which the evaluator's event-order rules check: the
#                computed image (otherEvents: []) covers it without reference values.
# The policy enforces the sha256 bank on PCRs 0-9, 11 and 14 (everything bootgate can enforce;
# PCR 10 is IMA, 12/13 are not described), in one group for every node. Before the boot,
# `bootgate policy check` evaluates it against the reference boot's log (pinned to that log's
# replayed PCR values), and the known-good scenarios stop right there if it does not accept it.
# It is signed (`bootgate policy sign --detached`) with an Ed25519 key generated for this run, and
# the verifier loads it from `policy_dir:` trusting only that key (`policy_keys:`), never with
# --allow-unsigned-policies.
#
# The reference boot: one boot of the known-good image on the same machine (OVMF code + vars
# template, QEMU, machine arguments), only for the PlatformReference and the PCR 7/14 values above,
# never for PCR 4/8/9/11. It is learned at the start of the run, not kept in tests/data: PCR 0-7
# depend on the exact OVMF and QEMU builds Debian ships (and PCR 1 on the virtual hardware), so a
# copy in tests/data would go stale silently with the next ovmf/qemu security update, while a boot
# at run time follows the installed packages. It is cached in BUILD/qemu-cache/reference/KEY, KEY =
# SHA-256 over everything that determines its measurements (OVMF code + vars, QEMU version, the
# machine arguments, guest-init.sh and the ESP's files), so it is redone only when one of those
# changes (e.g. a rebuilt bootgate-agent changes the initrd).
#
# reference_key ESP VARS_TEMPLATE
reference_key() {
  local machine
  qemu_machine_args VARS ESP TPM
  machine=${QEMU_ARGS[*]}
  {
    echo "measured-boot reference v1"
    qemu-system-x86_64 --version | sed -n 1p
    echo "$machine"
    sha256sum "$OVMF_CODE" "$2" "$here/guest-init.sh" | awk '{ print $1 }'
    cat "$1.manifest"
  } | sha256sum | cut -c1-32
}

# learn_reference ESP VARS_TEMPLATE: sets REFERENCE_LOG (and REFERENCE_BOOT_SECONDS when it booted).
learn_reference() {
  local esp=$1 vars=$2 key dir
  key=$(reference_key "$esp" "$vars")
  dir=$cache/reference/$key
  exec 8>"$cache/.reference.lock"
  flock -w 1200 8 || die "reference lock busy for 20 min"
  if [[ -s $dir/eventlog.bin ]]; then
    log "reference boot cached: $dir"
  else
    start_swtpm "$run/reference-tpm"
    boot reference "$vars" "$esp" reference "$run/reference-tpm"
    [[ $(guest_result reference) == "reference eventlog-bytes="* ]] ||
      die "reference boot: no event log (console: $run/reference.console.log)"
    [[ -s $run/reference.eventlog.bin ]] || die "reference boot: empty event log"
    mkdir -p "$dir.tmp"
    cp "$run/reference.eventlog.bin" "$dir.tmp/eventlog.bin"
    cp "$run/reference.console.log" "$dir.tmp/console.log"
    echo "$BOOT_SECONDS" >"$dir.tmp/boot-seconds"
    rm -rf -- "$dir"
    mv "$dir.tmp" "$dir"
    REFERENCE_BOOT_SECONDS=$BOOT_SECONDS
  fi
  flock -u 8
  REFERENCE_LOG=$dir/eventlog.bin
}

readonly POLICY_PCRS="0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 14"

# make_policy POLICY_DIR KNOWN_GOOD_ESP VARS_TEMPLATE SECURE_BOOT(on|off) [UKI]: writes
# POLICY_DIR/policy.yaml (Policy + GoldenImage + PlatformReference) and its detached signature,
# RUN/policy-signing.pub.pem; sets IMAGE_NAME, IMAGE_VERSION, PLATFORM_NAME, PLATFORM_VERSION.
make_policy() {
  local dir=$1 esp=$2 vars=$3 secure_boot=$4 uki=${5:-} ovmf_version rc
  mkdir -p "$dir"
  ovmf_version=$(dpkg-query -W -f '${Version}' ovmf 2>/dev/null || echo unknown)
  PLATFORM_NAME=qemu-q35-ovmf
  PLATFORM_VERSION="$ovmf_version~$(basename "$vars" .fd)"
  IMAGE_VERSION="$(basename "$VMLINUZ" | sed 's/^vmlinuz-//')+esp.$(sha256sum <"$esp.manifest" | cut -c1-12)"

  # The GoldenImage, from the files alone.
  if [[ -n $uki ]]; then
    IMAGE_NAME=debian12-uki-sb-$secure_boot
    "$bin/bootgate" policy from-image --name "$IMAGE_NAME" --version "$IMAGE_VERSION" --uki "$uki" \
      --secure-boot "$secure_boot" --banks sha256 --json >"$run/golden-image.json" \
      2>"$run/from-image.log" || { cat "$run/from-image.log" >&2; die "bootgate policy from-image --uki failed"; }
    local predicted measured
    predicted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pcr11"]["sha256"])' \
      "$run/golden-image.json")
    measured=$(predict_uki_pcr11 "$run/initrd.img")
    [[ -n $predicted && $predicted == "$measured" ]] ||
      die "PCR 11 from bootgate policy from-image ($predicted) != systemd-measure ($measured)"
    log "golden image $IMAGE_NAME $IMAGE_VERSION from the UKI file; PCR 11 prediction ${predicted:0:16}... (= systemd-measure)"
  else
    IMAGE_NAME=debian12-shim-grub-sb-$secure_boot
    "$bin/bootgate" policy from-image --name "$IMAGE_NAME" --version "$IMAGE_VERSION" \
      --esp "$esp.tree" --grub-device "(hd0)" --secure-boot "$secure_boot" --banks sha256 --json \
      >"$run/golden-image.json" 2>"$run/from-image.log" ||
      { cat "$run/from-image.log" >&2; die "bootgate policy from-image --esp failed"; }
    log "golden image $IMAGE_NAME $IMAGE_VERSION from the staged ESP (shim, grub, grub.cfg, kernel, initrd)"
  fi

  # The PlatformReference and the PCR 7/14 machine state, from the reference boot.
  learn_reference "$esp" "$vars"
  "$bin/bootgate" policy learn --eventlog "$REFERENCE_LOG" --platform-name "$PLATFORM_NAME" \
    --platform-version "$PLATFORM_VERSION" --out "$run/reference-learned.yaml" 2>"$run/learn.log" ||
    { cat "$run/learn.log" >&2; die "bootgate policy learn on the reference log failed"; }
  "$bin/bootgate" eventlog replay "$REFERENCE_LOG" --json >"$run/reference-replay.json" ||
    die "bootgate eventlog replay of the reference log failed"

  # Assembled as text (bootgate writes one key per line, strings quoted; no YAML module needed):
  # the computed image as JSON with the learned secureBoot (except `enabled`) and mok merged in,
  # the learned PlatformReference verbatim, and the Policy.
  python3 - "$run/golden-image.json" "$run/reference-learned.yaml" "$dir/policy.yaml" \
    "$PLATFORM_NAME" "$PLATFORM_VERSION" "$POLICY_PCRS" "$run/reference-replay.json" \
    "$run/reference-pcrs.json" <<'PY' || die "assembling the policy failed"
import json, re, sys
golden_json, learned_yaml, out, plat_name, plat_version, pcrs, replay, pcrs_out = sys.argv[1:]
image = json.load(open(golden_json))["goldenImage"]
docs = re.split(r"(?m)^---[ \t]*$", open(learned_yaml).read())
def kind(d):
    m = re.search(r'(?m)^kind: "?([A-Za-z]+)"?\s*$', d)
    return m.group(1) if m else None
learned_image = [d for d in docs if kind(d) == "GoldenImage"]
platform = [d for d in docs if kind(d) == "PlatformReference"]
if len(learned_image) != 1 or len(platform) != 1:
    sys.exit("measured-boot: bootgate policy learn wrote no GoldenImage/PlatformReference pair")

def spec_block(doc, key):
    """The YAML text of spec.KEY (2-space indented key, deeper-indented body), or None."""
    lines, block = doc.split("\n"), None
    for line in lines:
        if block is None:
            if re.match(rf"  {key}:( |$)", line):
                block = [line]
        elif line.startswith("    "):
            block.append(line)
        else:
            break
    return "\n".join(block) if block else None

def parse_block(text):
    """spec.KEY as data: the block is re-indented into a tiny YAML subset bootgate emits, and read
    with a minimal reader for it (mappings, lists of mappings/scalars, quoted strings, flow [] {})."""
    lines = [l for l in text.split("\n") if l.strip()]
    pos = 0
    def scalar(s):
        s = s.strip()
        if s.startswith('"'):
            return json.loads(s)
        if s == "[]": return []
        if s == "{}": return {}
        if s in ("true", "false"): return s == "true"
        if re.fullmatch(r"-?\d+", s): return int(s)
        if s.startswith("["): return json.loads(s)
        return s
    def indent(l): return len(l) - len(l.lstrip(" "))
    def node(level):
        nonlocal pos
        if lines[pos].lstrip().startswith("- "):
            items = []
            while pos < len(lines) and indent(lines[pos]) == level and lines[pos].lstrip().startswith("- "):
                first = lines[pos].lstrip()[2:]
                if re.match(r'"?[A-Za-z0-9_]+"?:( |$)', first):
                    # a mapping item: rewrite "- k: v" as "  k: v" at level+2
                    lines[pos] = " " * (level + 2) + first
                    items.append(node(level + 2))
                else:
                    items.append(scalar(first)); pos += 1
            return items
        m = {}
        while pos < len(lines) and indent(lines[pos]) == level and not lines[pos].lstrip().startswith("- "):
            k, _, v = lines[pos].strip().partition(":")
            k = k.strip('"')
            pos += 1
            if v.strip():
                m[k] = scalar(v)
            else:
                m[k] = node(indent(lines[pos]))
        return m
    return node(indent(lines[0]))[text.split(":")[0].strip()]

learned_sb = spec_block(learned_image[0], "secureBoot")
learned_mok = spec_block(learned_image[0], "mok")
sb = parse_block(learned_sb) if learned_sb else {}
sb.pop("enabled", None)
def sha256_only(v):  # the policy enforces sha256 only: keep the digests small and comparable
    if isinstance(v, dict):
        return {k: sha256_only(x) for k, x in v.items() if k not in ("sha1", "sha384", "sha512")}
    if isinstance(v, list):
        return [sha256_only(x) for x in v]
    return v
image["spec"]["secureBoot"] = {**sb, "enabled": image["spec"]["secureBoot"]["enabled"]}
image["spec"]["mok"] = sha256_only(parse_block(learned_mok)) if learned_mok else []
image["metadata"]["description"] = ("computed from the image files (bootgate policy from-image); "
    "secureBoot keys/authorities/sbatLevel and mok learned from the reference boot of this platform")
policy = {
    "apiVersion": "bootgate.dev/v1", "kind": "Policy",
    "metadata": {"name": "measured-boot",
                 "description": "the known-good image of tests/qemu/measured-boot.sh on this QEMU/OVMF"},
    "spec": {"banks": ["sha256"], "pcrs": [int(p) for p in pcrs.split(",")],
             "groups": [{"name": "default", "selector": {},
                         "images": [{"name": image["metadata"]["name"],
                                     "version": image["metadata"]["version"]}],
                         "platforms": [{"name": plat_name, "version": plat_version}]}]},
}
with open(out, "w") as f:
    f.write("# Written by tests/qemu/measured-boot.sh (make_policy).\n---\n")
    f.write(json.dumps(policy, indent=2) + "\n---\n")
    f.write(json.dumps(image, indent=2) + "\n---\n")
    f.write(platform[0].strip("\n") + "\n")
# The reference log's PCR values for `policy check --pcrs`: a PCR without events (e.g. 11 in a
# grub boot) is all zeros in a real quote, and the replay leaves it out.
replayed = json.load(open(replay))["pcrs"]
for p in policy["spec"]["pcrs"]:
    replayed.setdefault("sha256", {}).setdefault(str(p), "00" * 32)
json.dump(replayed, open(pcrs_out, "w"))
PY

  openssl genpkey -algorithm ed25519 -out "$run/policy-signing.key" 2>/dev/null ||
    die "openssl genpkey -algorithm ed25519 failed"
  openssl pkey -in "$run/policy-signing.key" -pubout -out "$run/policy-signing.pub.pem" ||
    die "openssl pkey -pubout failed"
  "$bin/bootgate" policy sign --key "$run/policy-signing.key" --detached "$dir/policy.yaml" \
    >/dev/null || die "bootgate policy sign failed on $dir/policy.yaml"

  # The policy against the reference boot's log, offline, before the node boots.
  rc=0
  "$bin/bootgate" policy check --policy "$dir/policy.yaml" --pub "$run/policy-signing.pub.pem" \
    --sig "$dir/policy.yaml.sig" --eventlog "$REFERENCE_LOG" --pcrs "$run/reference-pcrs.json" \
    >"$run/policy-check-reference.txt" 2>&1 || rc=$?
  sed -n 's/^\(verdict\|golden image\|platform\|policy\): /&/p' "$run/policy-check-reference.txt" |
    sed "s/^/$PROG: reference log: /" >&2
  if [[ $secure_boot == on && $vars == "$OVMF_VARS_NOKEYS" ]]; then
    # The reference boot itself ran without Secure Boot: the image that requires it must not match.
    ((rc == 1)) && grep -q POLICY_SECUREBOOT_DISABLED "$run/policy-check-reference.txt" || {
      cat "$run/policy-check-reference.txt" >&2
      die "policy check: expected the Secure-Boot-off reference log to be rejected (PCR 7)"; }
  else
    ((rc == 0)) || { cat "$run/policy-check-reference.txt" >&2
      die "the golden-image policy does not accept the reference boot of the same image (exit $rc)"; }
  fi
}

# ---------------------------------------------------------------------------------------------
# 5. The verifier and the relays.

# start_verifier EK_CA_BUNDLE POLICY_DIR POLICY_PUB: the golden-image policy directory, trusted
# only with the run's policy-signing key (the init-generated `policy:` line is replaced).
start_verifier() {
  local dir=$run/verifier i
  timeout 60 "$bin/bootgate-verifier" init "$dir" --ek-ca "$1" >/dev/null
  grep -q "^policy: " "$dir/verifier.yaml" || die "verifier.yaml has no policy: line to replace"
  sed -i "s|^listen: .*|listen: 127.0.0.1:0|; s|^admin_listen: .*|admin_listen: 127.0.0.1:0|;
          s|^pcr_selection: .*|pcr_selection: $PCR_SELECTION|;
          s|^policy: .*|policy_dir: $2\npolicy_keys: [$3]|" "$dir/verifier.yaml"
  grep -q "^pcr_selection: $PCR_SELECTION" "$dir/verifier.yaml" ||
    die "verifier.yaml has no pcr_selection line to set"
  grep -q "^policy_keys: \[$3\]" "$dir/verifier.yaml" || die "verifier.yaml: policy_keys not set"
  timeout 60 "$bin/bootgate-verifier" check --config "$dir" >/dev/null ||
    die "bootgate-verifier check failed"
  "$bin/bootgate-verifier" serve --config "$dir" --port-file "$dir/port" \
    --admin-port-file "$dir/admin-port" >"$run/verifier.log" 2>&1 &
  pids+=($!)
  for i in $(seq 300); do
    [[ -s $dir/port && -s $dir/admin-port ]] && break
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$run/verifier.log" >&2; die "verifier exited"; }
    sleep 0.1
  done
  [[ -s $dir/port && -s $dir/admin-port ]] || die "verifier wrote no port files"
  VERIFIER_PORT=$(<"$dir/port")
  ADMIN=(--server "127.0.0.1:$(<"$dir/admin-port")" --ca "$dir/ca.pem" --cert "$dir/admin.pem"
    --key "$dir/admin.key")
  log "verifier pid ${pids[-1]} on 127.0.0.1:$VERIFIER_PORT (signed golden-image policy: $IMAGE_NAME $IMAGE_VERSION on $PLATFORM_NAME $PLATFORM_VERSION)"
}

# start_relay N: relays virtio port bootgateN to a fresh connection to the verifier.
start_relay() {
  local n=$1 sock=$run/vport$1.sock i
  python3 "$here/vport_relay.py" --listen "$sock" --connect "127.0.0.1:$VERIFIER_PORT" \
    --ready-file "$run/vport$n.ready" >"$run/relay$n.log" 2>&1 &
  pids+=($!)
  for i in $(seq 100); do [[ -s $run/vport$n.ready ]] && break; sleep 0.05; done
  [[ -S $sock ]] || { cat "$run/relay$n.log" >&2; die "relay $n did not listen"; }
  RELAY_SOCKS+=("$sock")
}

admin_json() { timeout 60 "$bin/bootgate" "$@" "${ADMIN[@]}" --json; }

# ---------------------------------------------------------------------------------------------
# 6. The scenario.

fetch_boot_chain
log "building the initramfs and the ESP images"
build_initramfs "$run/initrd.img"
log "initrd $(stat -c %s "$run/initrd.img") bytes (sha256 $(sha256sum "$run/initrd.img" | cut -c1-16))"

# The known-good image, the firmware variables of its reference boot and whether its golden image
# requires Secure Boot, then what this scenario boots instead (esp, vars).
uki=""
case $scenario in
  uki-accept | secureboot-off)
    # secureboot-off boots the UKI, not shim -> grub: with Secure Boot off Debian's grub starts the
    # kernel without its EFI stub, so the kernel never gets the firmware's event log (the verifier
    # would stop at EVENTLOG_MISSING before any policy ran); systemd-stub hands it over either way.
    build_uki "$run/uki.efi" "$GOOD_CMDLINE" "$run/initrd.img"
    make_esp "$run/good-esp.img" "$run/uki.efi=/EFI/BOOT/BOOTX64.EFI"
    uki=$run/uki.efi
    good_vars=$OVMF_VARS_NOKEYS
    # uki-accept: an unsigned UKI, so Secure Boot off. secureboot-off: the same UKI, but the golden
    # image requires Secure Boot (from-image's default), and the node boots it without.
    if [[ $scenario == uki-accept ]]; then image_secure_boot=off; else image_secure_boot=on; fi
    ;;
  *)
    write_grub_cfg "$run/good-grub.cfg" "$GOOD_CMDLINE"
    build_esp "$run/good-esp.img" "$run/good-grub.cfg" "$run/initrd.img"
    good_vars=$OVMF_VARS_SECBOOT
    image_secure_boot=on
    ;;
esac
esp=$run/good-esp.img
vars=$good_vars
if [[ $scenario == cmdline-changed ]]; then
  write_grub_cfg "$run/changed-grub.cfg" "$CHANGED_CMDLINE"
  build_esp "$run/changed-esp.img" "$run/changed-grub.cfg" "$run/initrd.img"
  esp=$run/changed-esp.img
fi
log "ESP $(stat -c %s "$esp") bytes: $(awk '{ printf "%s%s", sep, $2; sep = ", " }' "$esp.manifest")"

REFERENCE_BOOT_SECONDS=""
make_policy "$run/policies" "$run/good-esp.img" "$good_vars" "$image_secure_boot" "$uki"

# The node's TPM: its EK certificates come from a CA private to this run, which the verifier trusts.
start_swtpm "$run/node-tpm"
start_verifier "$TPM_CA" "$run/policies" "$run/policy-signing.pub.pem"
RELAY_SOCKS=()
start_relay 0  # enroll
start_relay 1  # join
[[ $scenario == reboot-rejoin ]] && STATE_OUT=1
boot node "$vars" "$esp" attest "$run/node-tpm" "${RELAY_SOCKS[@]}"
node_boot_seconds=$BOOT_SECONDS
result=$(guest_result node)
[[ -n $result ]] || { tail -n 40 "$run/node.console.log" >&2; die "the guest printed no BOOTGATE-RESULT"; }

admin_json attestations list >"$run/attestations.json" || die "bootgate attestations list failed"
admin_json tokens list >"$run/tokens.json" || die "bootgate tokens list failed"
admin_json nodes list >"$run/nodes.json" || die "bootgate nodes list failed"
att_id=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a[0]["attestation_id"] if a else "")' "$run/attestations.json")
if [[ -n $att_id ]]; then
  admin_json attestations show "$att_id" --evidence >"$run/attestation-evidence.json" ||
    die "bootgate attestations show --evidence failed"
else
  echo '{}' >"$run/attestation-evidence.json"
fi
cp "$run/node.eventlog.bin" "$run/node-eventlog.bin" 2>/dev/null || true

# check_records EXPECT [REQUIRED_CODES ALLOWED_CODES PCR...]: the verifier's records agree with
# the guest's result.
#   EXPECT=affirming: one affirming attestation without findings whose token is the one the guest
#   unwrapped, and whose policy_matched names the golden image and platform of make_policy.
#   EXPECT=contraindicated: one contraindicated attestation, no token; at least one finding of
#   REQUIRED_CODES (comma-separated), each such finding names one of the PCRs given, and every
#   finding's code is in REQUIRED_CODES or ALLOWED_CODES.
check_records() {
  python3 - "$run/attestations.json" "$run/tokens.json" "$run/nodes.json" "$result" \
    "$run/attestation-evidence.json" "$IMAGE_NAME" "$IMAGE_VERSION" "$PLATFORM_NAME" \
    "$PLATFORM_VERSION" "$@" <<'PY'
import json, re, sys
atts, tokens, nodes = (json.load(open(p)) for p in sys.argv[1:4])
result, shown = sys.argv[4], json.load(open(sys.argv[5]))
image, image_version, platform, platform_version, expect = sys.argv[6:11]
required = set(sys.argv[11].split(",")) if len(sys.argv) > 11 else set()
allowed = set(sys.argv[12].split(",")) if len(sys.argv) > 12 else set()
pcrs = sorted(int(p) for p in sys.argv[13:])
def fail(msg):
    print(f"measured-boot: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)
if len(nodes) != 1:
    fail(f"expected 1 enrolled node, the verifier lists {len(nodes)}")
if len(atts) != 1:
    fail(f"expected 1 attestation, the verifier lists {len(atts)}: {atts}")
a = atts[0]
findings = a.get("findings", [])
matched = a.get("policy_matched") or shown.get("policy_matched", "")
print(f"measured-boot: verifier: attestation {a['attestation_id']} verdict {a['verdict']}, "
      f"policy {a['policy_id']}, matched {matched!r}, {len(findings)} finding(s)", file=sys.stderr)
for f in findings:
    print(f"measured-boot:   {f['code']}: {f['detail']}", file=sys.stderr)
if a["verdict"] != expect:
    fail(f"verdict {a['verdict']!r}, expected {expect!r}")
if not a["policy_id"].startswith("measured-boot@sha256:"):
    fail(f"policy id {a['policy_id']!r} is not the golden-image policy measured-boot@sha256:...")
if expect == "affirming":
    m = re.match(r"joined token-id=(\S+)", result)
    if not m:
        fail(f"the guest says {result!r}, expected 'joined token-id=...'")
    if findings:
        fail(f"affirming with findings: {findings}")
    want = f"golden image {image} {image_version} on platform {platform} {platform_version}"
    if not matched.startswith(want):
        fail(f"policy_matched {matched!r}, expected {want!r}")
    if a["token_id"] != m.group(1):
        fail(f"attestation token {a['token_id']!r} != guest's {m.group(1)!r}")
    if [t["token_id"] for t in tokens] != [m.group(1)]:
        fail(f"tokens list {tokens} does not hold exactly {m.group(1)}")
    print(f"measured-boot: token {m.group(1)} issued by the verifier and unwrapped by the guest's TPM",
          file=sys.stderr)
else:
    if not result.startswith("refused step=join"):
        fail(f"the guest says {result!r}, expected 'refused step=join ...'")
    if tokens or a["token_id"]:
        fail(f"a token was issued: {tokens}")
    codes = {f["code"] for f in findings}
    if not codes & required:
        fail(f"finding codes {sorted(codes)} include none of {sorted(required)}")
    if not codes <= required | allowed:
        fail(f"unexpected finding codes {sorted(codes - required - allowed)}")
    for f in findings:
        if f["code"] in required:
            named = {int(p) for p in re.findall(r"\bPCR (\d+)\b", f["detail"])}
            if not named & set(pcrs):
                fail(f"{f['code']} finding names PCRs {sorted(named)}, expected one of {pcrs}: {f['detail']}")
    print(f"measured-boot: refused as expected: {', '.join(sorted(codes & required))} "
          f"on PCR {'/'.join(map(str, pcrs))}", file=sys.stderr)
PY
}

if [[ $scenario == reboot-rejoin ]]; then
  first_boot_seconds=$node_boot_seconds
  first_result=$(guest_result node)
  [[ $first_result == "joined token-id="* ]] || die "first boot: the guest says '$first_result'"
  [[ -s $run/node.agent-state.tgz ]] || die "first boot: the agent's state did not come back"
  # The same machine again: same TPM (power cycle), same disk (the agent's state), a new relay.
  STATE_IN=$run/node.agent-state.tgz
  STATE_OUT=0
  start_swtpm "$run/node-tpm" --power-cycle
  RELAY_SOCKS=()
  start_relay 2
  boot node-reboot "$vars" "$esp" rejoin "$run/node-tpm" "${RELAY_SOCKS[@]}"
  node_boot_seconds="$first_boot_seconds + $BOOT_SECONDS"
  second_result=$(guest_result node-reboot)
  admin_json attestations list >"$run/attestations.json" || die "bootgate attestations list failed"
  admin_json tokens list >"$run/tokens.json" || die "bootgate tokens list failed"
  admin_json nodes list >"$run/nodes.json" || die "bootgate nodes list failed"
  python3 - "$run/attestations.json" "$run/tokens.json" "$run/nodes.json" "$first_result" \
    "$second_result" "golden image $IMAGE_NAME $IMAGE_VERSION on platform $PLATFORM_NAME $PLATFORM_VERSION" <<'PY'
import json, re, sys
atts, tokens, nodes = (json.load(open(p)) for p in sys.argv[1:4])
results, want_matched = sys.argv[4:6], sys.argv[6]
def fail(msg):
    print(f"measured-boot: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)
if len(nodes) != 1:
    fail(f"expected 1 node across both boots, the verifier lists {len(nodes)}")
if len(atts) != 2:
    fail(f"expected 2 attestations, the verifier lists {len(atts)}")
atts.sort(key=lambda a: a["clock"]["reset_count"] if "clock" in a else -1)
ids = []
for a, r in zip(atts, results):
    m = re.match(r"joined token-id=(\S+)", r)
    if not m:
        fail(f"the guest says {r!r}, expected 'joined token-id=...'")
    ids.append(m.group(1))
    print(f"measured-boot: verifier: {a['attestation_id']} verdict {a['verdict']}, new_boot "
          f"{a['new_boot']}, resetCount {a['clock']['reset_count']}, restartCount "
          f"{a['clock']['restart_count']}, token {a['token_id']}", file=sys.stderr)
    if a["verdict"] != "affirming" or a["findings"]:
        fail(f"{a['attestation_id']}: {a['verdict']} {a['findings']}")
    if not a.get("policy_matched", "").startswith(want_matched):
        fail(f"{a['attestation_id']}: policy_matched {a.get('policy_matched')!r}, expected {want_matched!r}")
    if a["token_id"] != m.group(1):
        fail(f"attestation token {a['token_id']!r} != guest's {m.group(1)!r}")
if atts[1]["clock"]["reset_count"] <= atts[0]["clock"]["reset_count"]:
    fail("resetCount did not increase across the reboot")
if not atts[1]["new_boot"]:
    fail("the verifier did not flag the second attestation as a new boot")
if atts[0]["node_id"] != atts[1]["node_id"]:
    fail("the two attestations are for different nodes")
if sorted(t["token_id"] for t in tokens) != sorted(ids) or ids[0] == ids[1]:
    fail(f"tokens {tokens} are not the two distinct tokens the guest unwrapped {ids}")
print("measured-boot: the rebooted node was re-appraised in full and joined again", file=sys.stderr)
PY
fi

case $scenario in
  reboot-rejoin) ;;
  secureboot-accept | uki-accept) check_records affirming ;;
  cmdline-changed)
    # grub's kernel_cmdline and the changed linux/menuentry commands (PCR 8); grub.cfg's own
    # digest differs too (PCR 9, POLICY_FILE_MISMATCH).
    check_records contraindicated POLICY_CMDLINE_MISMATCH,POLICY_GRUB_COMMAND_MISMATCH \
      POLICY_NO_MATCHING_IMAGE,POLICY_FILE_MISMATCH 8 9 ;;
  secureboot-off)
    check_records contraindicated POLICY_SECUREBOOT_DISABLED POLICY_NO_MATCHING_IMAGE 7 ;;
esac
ok=1
total=$(awk -v ms="$(($(date +%s%3N) - t_start))" 'BEGIN { printf "%.1f", ms / 1000 }')
log "PASS $scenario: node boot ${node_boot_seconds} s${REFERENCE_BOOT_SECONDS:+, reference boot ${REFERENCE_BOOT_SECONDS} s}, scenario ${total} s"
