#!/usr/bin/env bash
# Offline tour: real measured-boot evidence through the bootgate CLI alone (no TPM, no server).
#
# Evidence: a real Secure Boot boot of OVMF -> shim -> grub -> Debian kernel under QEMU with swtpm
# (tests/data/qemu/qemu-ovmf-secureboot-shim-grub): the firmware's TCG event log, the TPM's quote
# over it and the attestation key. Steps: decode the log, replay it into PCR values, verify the
# quote against the log, then show three forgeries being rejected with named findings.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

"$root/scripts/install-deps.sh" >/dev/null
if [ ! -x "$root/build/bin/bootgate" ] || [ "${BOOTGATE_DEMO_REBUILD:-1}" = 1 ]; then
  bold "building bootgate (build/bin/)"
  cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$root/build" --target bootgate -j "$(nproc)" | tail -1
fi
bg="$root/build/bin/bootgate"
ev="$root/tests/data/qemu/qemu-ovmf-secureboot-shim-grub"
log="$ev/binary_bios_measurements"
nonce=$(tr -d ' \n' <"$ev/nonce")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bold "1. The firmware's event log, decoded (first 25 of $(wc -c <"$log") bytes' events)"
"$bg" eventlog show "$log" >"$work/events.txt"
head -n 25 "$work/events.txt"
echo "   ..."

bold "2. PCR 4 and PCR 7: what booted, and who vouched for it"
grep -m 14 -E '^ *[0-9]+ +PCR (4|7) ' "$work/events.txt"

bold "3. Replay: the PCR values this log must produce (sha256 bank)"
"$bg" eventlog replay "$log" --json >"$work/replay.json"
python3 - "$work/replay.json" <<'PY' 2>/dev/null || "$bg" eventlog replay "$log"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"format {r['format']}, {r['events']} events")
for i, v in sorted(r["pcrs"]["sha256"].items(), key=lambda kv: int(kv[0])):
    print(f"  PCR {int(i):2d}  {v}")
PY

bold "4. Verify the TPM's quote (nonce $nonce): PCR values read on the node, and the log against them"
# PCR 10 is extended by the kernel's IMA, not by firmware: the values come from the node, and the
# log must reproduce every PCR it touches.
pcrs="$ev/expected-pcrs.json"
"$bg" quote verify --ak "$ev/ak.tpm2b" --quote "$ev/quote.msg" --signature "$ev/quote.sig" \
  --nonce "$nonce" --pcrs "$pcrs" --eventlog "$log"

bold "5. A replayed quote with another nonce is rejected"
set +e
"$bg" quote verify --ak "$ev/ak.tpm2b" --quote "$ev/quote.msg" --signature "$ev/quote.sig" \
  --nonce 00112233445566778899aabbccddeeff --pcrs "$pcrs" --eventlog "$log" | grep -E 'FAIL|verdict' 
echo "   exit code $? (1 = evidence rejected)"

bold "6. A log with one PCR 4 digest changed (a different bootloader) is rejected"
cp "$log" "$work/tampered.log"
offset=$("$bg" eventlog show "$log" --json | python3 -c '
import json, sys
log = open(sys.argv[1], "rb").read()
for e in json.load(sys.stdin)["events"]:
    if e["pcr"] == 4 and e["type_name"] == "EV_EFI_BOOT_SERVICES_APPLICATION":
        print(log.index(bytes.fromhex(e["digests"]["sha256"]), e["offset"])); break' "$log")
printf '\xff' | dd of="$work/tampered.log" bs=1 seek="$offset" conv=notrunc status=none
"$bg" quote verify --ak "$ev/ak.tpm2b" --quote "$ev/quote.msg" --signature "$ev/quote.sig" \
  --nonce "$nonce" --pcrs "$pcrs" --eventlog "$work/tampered.log" | grep -E 'FAIL|verdict' 
echo "   exit code $? (1 = evidence rejected)"

bold "7. A truncated log is refused cleanly"
head -c 49 "$log" >"$work/short.log"
"$bg" eventlog replay "$work/short.log" --json
echo "   exit code $? (3 = malformed input)"
set -e

bold "done: every check named above is in 'bootgate quote verify --json'"
