#!/usr/bin/env bash
# The demo: a node proves its measured boot to the verifier and receives a kubeadm join token that
# only its TPM can unwrap; then a node with a changed boot chain is refused, with named reasons.
#
#   swtpm (with an EK certificate chain from a private CA) <- a real firmware event log played in
#   bootgate-verifier (gRPC over TLS, SQLite evidence store, a signed golden-image policy learned
#   from the known-good boot)
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
  for t in tpm tpm2; do
    [ -f "$work/$t/swtpm.json" ] && "$root/swtpm-fixtures/bootgate-swtpm" stop --dir "$work/$t" >/dev/null 2>&1
  done
  if [ "${BOOTGATE_DEMO_KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

evidence="$root/tests/data/qemu/qemu-ovmf-secureboot-shim-grub"
log="$evidence/binary_bios_measurements"

bold "1. Two nodes' TPMs: swtpm with EK certificates from a private CA each, on free ports"
mkdir -p "$work/ek-ca"
for t in tpm tpm2; do
  "$root/swtpm-fixtures/bootgate-swtpm" start --dir "$work/$t" >/dev/null
  cp "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca_bundle"])' \
    "$work/$t/swtpm.json")" "$work/ek-ca/$t-ca.pem"
done
tcti=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcti"])' "$work/tpm/swtpm.json")
tcti2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcti"])' "$work/tpm2/swtpm.json")
note "node A: TCTI $tcti; node B: TCTI $tcti2; their EK CAs (the vendors' roots) in $work/ek-ca"

bold "2. The nodes boot: a real Secure Boot firmware log (OVMF -> shim -> grub -> Debian kernel) is played into their PCRs"
"$bin/bootgate-boot-player" --tcti "$tcti" --eventlog "$log" | sed 's/^/   /'
note "node B boots the same image except for a different grub build (its grub measurement differs):"
"$bin/bootgate" eventlog show "$log" --json >"$work/events.json"
python3 - "$log" "$work/events.json" "$work/other-grub.log" <<'PY'
import json, sys
data = bytearray(open(sys.argv[1], "rb").read())
events = json.load(open(sys.argv[2]))["events"]
# grub: the second EV_EFI_BOOT_SERVICES_APPLICATION in PCR 4 (after shim).
apps = [e for e in events if e["pcr"] == 4 and e["type_name"] == "EV_EFI_BOOT_SERVICES_APPLICATION"]
e = apps[1]
for bank in e["digests"]:
    i = data.index(bytes.fromhex(e["digests"][bank]), e["offset"])
    data[i] ^= 0xFF
open(sys.argv[3], "wb").write(data)
print(f"   event {e['index']} (PCR 4, {e['decoded'].get('device_path', 'grub')}): another Authenticode digest")
PY
"$bin/bootgate-boot-player" --tcti "$tcti2" --eventlog "$work/other-grub.log" | sed 's/^/   /'

bold "3. The verifier: development PKI, a signed golden-image policy learned from the known-good boot, SQLite store"
"$bin/bootgate-verifier" init "$work/verifier" --ek-ca "$work/ek-ca" | sed 's/^/   /'
mkdir -p "$work/verifier/policies"
"$bin/bootgate" policy learn --eventlog "$log" --name debian12-secureboot --version 2026.11 \
  --out "$work/verifier/policies/fleet.yaml" 2>&1 | sed 's/^/   /'
note "golden image: PCR 4 chain shim -> grub -> kernel (Authenticode digests), grub commands and files,"
note "kernel command line, Secure Boot state, db/dbx, authorities, SBAT, MOK; platform: OVMF's PCR 0-3/6 events"
openssl genpkey -algorithm ed25519 -out "$work/policy-signing.key" 2>/dev/null
openssl pkey -in "$work/policy-signing.key" -pubout -out "$work/verifier/policy-signing.pub"
"$bin/bootgate" policy sign --key "$work/policy-signing.key" --detached \
  "$work/verifier/policies/fleet.yaml" | sed 's/^/   /'
sed -i 's/^listen: .*/listen: 127.0.0.1:0/; s/^admin_listen: .*/admin_listen: 127.0.0.1:0/' \
  "$work/verifier/verifier.yaml"
sed -i 's/^policy: .*/policy_dir: policies\npolicy_keys: [policy-signing.pub]/' "$work/verifier/verifier.yaml"
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

bold "6. Node A lies about its boot (sends node B's log): the log does not replay to its TPM's quote"
set +e
"$agent" attest "${conn[@]}" --eventlog "$work/other-grub.log" | sed 's/^/   /'
rc=${PIPESTATUS[0]}
set -e
note "agent exit code $rc (1 = the verifier refused the evidence; no token was issued)"

bold "7. Node B honestly reports its different grub: TPM and log agree, the golden image does not"
conn2=(--verifier "127.0.0.1:$port" --ca "$work/verifier/ca.pem" --tcti "$tcti2"
       --state-dir "$work/agent2")
"$agent" enroll "${conn2[@]}" --labels group=workers | sed 's/^/   /'
set +e
"$agent" join "${conn2[@]}" --eventlog "$work/other-grub.log" --token-file "$work/join-token2" \
  | sed 's/^/   /'
rc=${PIPESTATUS[0]}
set -e
note "agent exit code $rc: refused by the policy; no token"
note "the same decision explained offline, as an auditor or release engineer would run it:"
set +e
"$bin/bootgate" policy check --policy "$work/verifier/policies/fleet.yaml" \
  --pub "$work/verifier/policy-signing.pub" --sig "$work/verifier/policies/fleet.yaml.sig" \
  --eventlog "$work/other-grub.log" 2>&1 | sed 's/^/   /'
set -e

bold "8. What the verifier recorded (admin API, mutual TLS)"
admin=(--server "127.0.0.1:$admin_port" --ca "$work/verifier/ca.pem"
       --cert "$work/verifier/admin.pem" --key "$work/verifier/admin.key")
"$bin/bootgate" nodes list "${admin[@]}" | sed 's/^/   /'
"$bin/bootgate" attestations list "${admin[@]}" | sed 's/^/   /'
"$bin/bootgate" tokens list "${admin[@]}" | sed 's/^/   /'
"$bin/bootgate" policies list "${admin[@]}" | sed 's/^/   /'

bold "9. Watching the fleet: a report for people, and an audit bundle an auditor verifies offline"
"$bin/bootgate" report --store "$work/verifier/bootgate.db" --out "$work/fleet.html"
note "fleet report (one HTML file, inline SVG charts): $work/fleet.html (BOOTGATE_DEMO_KEEP=1 keeps it)"
"$bin/bootgate" audit export --config "$work/verifier" --out "$work/audit" | sed 's/^/   /'
cat "$work"/ek-ca/*.pem >"$work/ek-ca-bundle.pem"
"$bin/bootgate" audit verify "$work/audit" --ca "$work/ek-ca-bundle.pem" \
  --verifier-pub "$work/verifier/ear-signing.pub.pem" \
  --policy-key "$work/verifier/policy-signing.pub" | sed 's/^/   /'

bold "done: stopping the verifier (pid $verifier_pid) and swtpm; scripts/demo-offline.sh tours the CLI on the same evidence"
