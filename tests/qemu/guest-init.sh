#!/bin/busybox sh
# /init of the measured-boot guest (tests/qemu/measured-boot.sh builds it into the initramfs).
#
# The guest has no network. The host passes, as SMBIOS OEM strings (type 11, not measured by OVMF):
#   bootgate-mode:reference   send the firmware event log on the virtio port bootgate-log, power off
#   bootgate-mode:attest      also enroll (virtio port bootgate0) and join (port bootgate1)
#   bootgate-mode:rejoin      the node rebooted: restore the agent's state directory (AK, node id)
#                             from bootgate-state:BASE64 (a tar.gz) and only join (port bootgate0)
#   bootgate-ca:BASE64        the verifier's CA certificate (PEM, base64), for --ca
# After a join, the agent's state directory goes back to the host as a tar.gz on the virtio port
# bootgate-state when that port exists (the initramfs is the node's only disk).
# Each agent command opens its own gRPC/TLS connection, so each gets its own virtio port: a socat on
# 127.0.0.1:GUEST_PORT forwards exactly one connection to /dev/virtio-ports/bootgateN, and the host
# relays that port to a fresh TCP connection to the verifier.
#
# Everything the host checks is a line on the serial console starting with BOOTGATE-RESULT:
#   BOOTGATE-RESULT: reference eventlog-bytes=N
#   BOOTGATE-RESULT: joined token-id=ID
#   BOOTGATE-RESULT: refused step=enroll|join exit=N
#   BOOTGATE-RESULT: error WHAT
# The guest always powers off at the end (QEMU runs with -no-reboot).
export PATH=/bin:/usr/bin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
/bin/busybox --install -s /bin

readonly GUEST_PORT=7443
readonly EVENTLOG=/sys/kernel/security/tpm0/binary_bios_measurements

# Kernel uptime in seconds: with the host's wall time of the whole boot it splits firmware + shim +
# grub from kernel + agent.
uptime_s() { cut -d' ' -f1 /proc/uptime 2>/dev/null; }
say() { echo "BOOTGATE: [$(uptime_s)s] $*"; }
result() { echo "BOOTGATE-RESULT: $* uptime=$(uptime_s)s"; }
finish() {
  sync
  say "powering off"
  poweroff -f
  sleep 30
}
fail() {
  dmesg | grep -iE 'tpm|efi:|secure ?boot|lockdown' | sed 's/^/BOOTGATE: dmesg: /'
  result "error $*"
  finish
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t securityfs securityfs /sys/kernel/security
mkdir -p /tmp /run /var/lib /dev/virtio-ports
mount -t tmpfs tmpfs /tmp
say "init started, kernel $(uname -r), cmdline: $(cat /proc/cmdline)"

# virtio, virtio_pci and virtio_console are modules in Debian's kernel (the TPM drivers are built in).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console; do
  insmod "/lib/modules/$m.ko" || fail "insmod $m"
done

# Waits up to $2 tenths of a second for path $1.
wait_for() {
  i=0
  while [ ! -e "$1" ]; do
    i=$((i + 1))
    [ "$i" -gt "$2" ] && return 1
    sleep 0.1
  done
}

# No udev here: make the /dev/virtio-ports/NAME links ourselves.
link_ports() {
  for d in /sys/class/virtio-ports/*; do
    [ -e "$d/name" ] || continue
    name=$(cat "$d/name")
    [ -n "$name" ] && [ ! -e "/dev/virtio-ports/$name" ] && ln -s "/dev/${d##*/}" "/dev/virtio-ports/$name"
  done
}
i=0
while [ ! -e /dev/virtio-ports/bootgate-log ] && [ "$i" -lt 100 ]; do
  sleep 0.1
  link_ports
  i=$((i + 1))
done
link_ports
[ -e /dev/virtio-ports/bootgate-log ] || fail "no virtio port bootgate-log"
wait_for /dev/tpmrm0 100 || fail "no /dev/tpmrm0"

# The SMBIOS OEM strings (NUL-separated after a 5-byte header).
oem() { tr '\0' '\n' </sys/firmware/dmi/entries/11-0/raw 2>/dev/null | sed -n "s/.*$1:/ /p" | tr -d ' '; }
mode=$(oem bootgate-mode)
say "mode ${mode:-none}, TPM $(cat /sys/class/tpm/tpm0/tpm_version_major 2>/dev/null)"

# The firmware event log, for the host's records (and, in reference mode, its policy). The kernel
# has it only when its EFI stub ran and copied it (TPMEventLog in the efi: line of dmesg); Debian's
# grub starts the kernel without the EFI stub when Secure Boot is off, and then there is none: the
# agent then attests without a log, and the verifier must refuse.
: >/tmp/eventlog.bin
log_flag=""
if wait_for "$EVENTLOG" 20; then
  cat "$EVENTLOG" >/tmp/eventlog.bin || fail "read $EVENTLOG"
else
  [ "$mode" = reference ] && fail "no $EVENTLOG"
  dmesg | grep -E 'efi: .*(TPMFinalLog|TPMEventLog)' | sed 's/^/BOOTGATE: dmesg: /'
  say "no firmware event log in securityfs: attesting with an empty one"
  log_flag="--eventlog /tmp/eventlog.bin"
fi
cat /tmp/eventlog.bin >/dev/virtio-ports/bootgate-log || fail "write bootgate-log"
log_bytes=$(wc -c </tmp/eventlog.bin)
say "event log: $log_bytes bytes sent on bootgate-log"

if [ "$mode" = reference ]; then
  result "reference eventlog-bytes=$log_bytes"
  finish
fi
[ "$mode" = attest ] || [ "$mode" = rejoin ] || fail "unknown mode '$mode'"

mkdir -p /etc/bootgate
oem bootgate-ca | base64 -d >/etc/bootgate/ca.pem 2>/dev/null
grep -q "BEGIN CERTIFICATE" /etc/bootgate/ca.pem || fail "no verifier CA in SMBIOS OEM strings"
ip link set lo up || fail "ip link set lo up"

# Forwards one TCP connection on 127.0.0.1:GUEST_PORT to the virtio port $1.
relay() {
  [ -e "/dev/virtio-ports/$1" ] || fail "no virtio port $1"
  socat TCP-LISTEN:$GUEST_PORT,bind=127.0.0.1,reuseaddr "OPEN:/dev/virtio-ports/$1" &
  relay_pid=$!
  port_hex=$(printf '%04X' "$GUEST_PORT")
  i=0
  until grep -q "0100007F:$port_hex 00000000:0000 0A" /proc/net/tcp; do
    i=$((i + 1))
    [ "$i" -gt 100 ] && fail "socat did not listen for $1"
    sleep 0.1
  done
}

agent() {
  /usr/bin/bootgate-agent "$@" --verifier "127.0.0.1:$GUEST_PORT" --ca /etc/bootgate/ca.pem \
    --tcti device:/dev/tpmrm0 --state-dir /var/lib/bootgate-agent --timeout 120
}

if [ "$mode" = rejoin ]; then
  mkdir -p /var/lib
  oem bootgate-state | base64 -d | tar -C /var/lib -xzf - || fail "restore the agent state"
  [ -s /var/lib/bootgate-agent/node_id ] || fail "no node_id in the restored agent state"
  say "agent state restored: node $(cat /var/lib/bootgate-agent/node_id)"
  join_port=bootgate0
else
  relay bootgate0
  say "enroll"
  agent enroll --hostname bootgate-measured-boot
  rc=$?
  kill "$relay_pid" 2>/dev/null
  wait "$relay_pid" 2>/dev/null
  if [ "$rc" -ne 0 ]; then
    result "refused step=enroll exit=$rc"
    finish
  fi
  join_port=bootgate1
fi

relay "$join_port"
say "join"
agent join --token-file /tmp/join-token $log_flag
rc=$?
kill "$relay_pid" 2>/dev/null
wait "$relay_pid" 2>/dev/null
if [ "$rc" -ne 0 ]; then
  result "refused step=join exit=$rc"
  finish
fi
[ -s /tmp/join-token ] || fail "join succeeded but wrote no token"
if [ -e /dev/virtio-ports/bootgate-state ]; then
  tar -C /var/lib -czf /tmp/agent-state.tgz bootgate-agent || fail "tar the agent state"
  cat /tmp/agent-state.tgz >/dev/virtio-ports/bootgate-state || fail "write bootgate-state"
  say "agent state sent on bootgate-state ($(wc -c </tmp/agent-state.tgz) bytes)"
fi
result "joined token-id=$(cut -d. -f1 /tmp/join-token) token-bytes=$(wc -c </tmp/join-token)"
finish
