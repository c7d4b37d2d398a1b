#!/usr/bin/env bash
# The demo: a node proves its measured boot to the verifier and receives a kubeadm join token that
# only its TPM can unwrap; then a node with a changed boot chain is refused, with named reasons.
#
#   swtpm (with an EK certificate chain from a private CA) <- a real firmware event log played in
#   bootgate-verifier (gRPC over TLS, SQLite evidence store, PCR policy from the known-good boot)
#   bootgate-agent enroll -> join (quote + event log -> verdict -> token unwrapped by the TPM)
#
# Everything runs on loopback, on free ports, in a temporary directory; everything started here is
# stopped at the end (by pid). Set BOOTGATE_DEMO_KEEP=1 to keep the directory for a look around.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }

"$root/scripts/install-deps.sh" | sed 's/^/   /'
bold "Building bootgate (build/bin/)"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$(nproc)" \
  --target bootgate bootgate-verifier bootgate-agent bootgate-boot-player | tail -n 1
bin="$root/build/bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/bootgate-demo.XXXXXX")
verifier_pid=""
cleanup() {
  [ -n "$verifier_pid" ] && kill "$verifier_pid" 2>/dev/null && wait "$verifier_pid" 2>/dev/null
  [ -f "$work/tpm/swtpm.json" ] && "$root/swtpm-fixtures/bootgate-swtpm" stop --dir "$work/tpm" >/dev/null 2>&1
  if [ "${BOOTGATE_DEMO_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

evidence="$root/tests/data/qemu/qemu-ovmf-secureboot-shim-grub"
log="$evidence/binary_bios_measurements"

bold "1. A node's TPM: swtpm with EK certificates from a private CA, on a free port"
"$root/swtpm-fixtures/bootgate-swtpm" start --dir "$work/tpm" >/dev/null
tcti=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcti"])' "$work/tpm/swtpm.json")
ca_bundle=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca_bundle"])' "$work/tpm/swtpm.json")
note "TCTI $tcti, EK CA bundle $ca_bundle"

bold "2. The node boots: a real Secure Boot firmware log (OVMF -> shim -> grub -> Debian kernel) is played into its PCRs"
"$bin/bootgate-boot-player" --tcti "$tcti" --eventlog "$log" | sed 's/^/   /'

bold "3. The verifier: development PKI, golden PCR values from the known-good boot, SQLite store"
"$bin/bootgate-verifier" init "$work/verifier" --ek-ca "$ca_bundle" | sed 's/^/   /'
"$bin/bootgate" eventlog replay "$log" --json >"$work/known-good.json"
"$bin/bootgate-verifier" policy from-pcrs "$work/known-good.json" --id debian12-secureboot \
  --selection sha256:0-9,11,14 --out "$work/verifier/policy.yaml" | sed 's/^/   /'
sed -i 's/^listen: .*/listen: 127.0.0.1:0/; s/^admin_listen: .*/admin_listen: 127.0.0.1:0/' \
  "$work/verifier/verifier.yaml"
"$bin/bootgate-verifier" serve --config "$work/verifier" --port-file "$work/port" \
  --admin-port-file "$work/admin-port" >"$work/verifier.log" 2>&1 &
verifier_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && [ -s "$work/admin-port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/verifier.log"; echo "verifier did not start"; exit 1; }
port=$(cat "$work/port"); admin_port=$(cat "$work/admin-port")
note "verifier pid $verifier_pid: agent API 127.0.0.1:$port (TLS), admin API 127.0.0.1:$admin_port (mutual TLS)"
note "evidence store: $work/verifier/bootgate.db"

agent="$bin/bootgate-agent"
conn=(--verifier "127.0.0.1:$port" --ca "$work/verifier/ca.pem" --tcti "$tcti"
      --state-dir "$work/agent")

bold "4. The agent enrolls: EK certificate chain, EK and AK, credential activation in the TPM"
"$agent" enroll "${conn[@]}" | sed 's/^/   /'

bold "5. The agent joins: fresh nonce -> quote + event log -> appraisal -> join token wrapped to this TPM"
"$agent" join "${conn[@]}" --eventlog "$log" --token-file "$work/join-token" | sed 's/^/   /'
note "token unwrapped by the TPM into $work/join-token: $(cut -d. -f1 "$work/join-token").<secret>"
note "issued by the verifier's file issuer ($work/verifier/tokens.txt); with issuer.exec it would run"
note "'kubeadm token create {token} --ttl {ttl}' instead"

bold "6. A node whose bootloader differs (one PCR 4 measurement changed in its log) is refused"
"$bin/bootgate" eventlog show "$log" --json >"$work/events.json"
python3 - "$log" "$work/events.json" "$work/tampered.log" <<'PY'
import json, sys
data = bytearray(open(sys.argv[1], "rb").read())
events = json.load(open(sys.argv[2]))["events"]
# grub: the second EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4 (after shim).
apps = [e for e in events if e["pcr"] == 4 and e["type_name"] == "EV_EFI_BOOT_SERVICES_APPLICATION"]
e = apps[1]
i = data.index(bytes.fromhex(e["digests"]["sha256"]), e["offset"])
data[i] ^= 0xFF
open(sys.argv[3], "wb").write(data)
print(f"   changed event {e['index']} (PCR 4, {e['decoded'].get('device_path', 'grub')}) at byte {i}")
PY
set +e
"$agent" attest "${conn[@]}" --eventlog "$work/tampered.log" | sed 's/^/   /'
rc=${PIPESTATUS[0]}
set -e
note "agent exit code $rc (1 = the verifier refused the evidence; no token was issued)"

bold "7. What the verifier recorded (admin API, mutual TLS)"
admin=(--server "127.0.0.1:$admin_port" --ca "$work/verifier/ca.pem"
       --cert "$work/verifier/admin.pem" --key "$work/verifier/admin.key")
"$bin/bootgate" nodes list "${admin[@]}" | sed 's/^/   /'
"$bin/bootgate" attestations list "${admin[@]}" | sed 's/^/   /'
"$bin/bootgate" tokens list "${admin[@]}" | sed 's/^/   /'

bold "8. Watching the fleet: a report for people, and an audit bundle an auditor verifies offline"
"$bin/bootgate" report --store "$work/verifier/bootgate.db" --out "$work/fleet.html"
note "fleet report (one HTML file, inline SVG charts): $work/fleet.html (BOOTGATE_DEMO_KEEP=1 keeps it)"
"$bin/bootgate" audit export --config "$work/verifier" --out "$work/audit" | sed 's/^/   /'
"$bin/bootgate" audit verify "$work/audit" --ca "$ca_bundle" \
  --verifier-pub "$work/verifier/ear-signing.pub.pem" | sed 's/^/   /'

bold "done: stopping the verifier (pid $verifier_pid) and swtpm; scripts/demo-offline.sh tours the CLI on the same evidence"
