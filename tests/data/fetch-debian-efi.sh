#!/usr/bin/env bash
# Fetches Debian 12's signed boot binaries for the `image` tests (from-image digests compared with
# pesign and systemd-measure, and with the QEMU Secure Boot capture in tests/data/qemu/):
#
#   tests/data/fetch-debian-efi.sh DIR
#
# Downloads the packages with `apt-get download` into DIR/debs (a cache: kept between runs) and
# extracts them into DIR/root. Idempotent: does nothing when DIR/stamp lists the same packages.
# The versions are the ones the QEMU capture booted (tests/data/PROVENANCE.md), so that the
# predicted PCR 4 digests can be compared with that log; override with BOOTGATE_EFI_PACKAGES
# (space-separated apt-get download arguments). Any failure is fatal: the image tests need these.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
packages=${BOOTGATE_EFI_PACKAGES:-"shim-signed=1.51~1+deb12u1+16.1-2~deb12u1 grub-efi-amd64-signed=1+2.06+13+deb12u2 linux-image-6.1.0-56-amd64=6.1.192-2"}

mkdir -p "$dir/debs"
dir=$(cd "$dir" && pwd)
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$packages" ] && [ -d "$dir/root" ]; then
  echo "fetch-debian-efi: $dir is up to date"
  exit 0
fi

cd "$dir/debs"
for p in $packages; do
  name=${p%%=*}
  version=${p#*=}
  [ "$version" = "$p" ] && version=""
  # apt-get download names the file NAME_VERSION_ARCH.deb with ':' in the version escaped as %3a.
  if [ -n "$version" ] && ls "${name}_${version//:/%3a}"_*.deb >/dev/null 2>&1; then
    continue
  fi
  if ! apt-get download -q "$p"; then
    # A fresh machine may have no package lists yet: refresh them once and retry.
    if [ -z "${refreshed:-}" ] && { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null; }; then
      refreshed=1
      SUDO=""
      [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -q
      apt-get download -q "$p" && continue
    fi
    echo "fetch-debian-efi: 'apt-get download $p' failed (is the version still in the archive?" \
         "set BOOTGATE_EFI_PACKAGES to versions that are)" >&2
    exit 1
  fi
done

rm -rf "$dir/root.new"
mkdir -p "$dir/root.new"
for p in $packages; do
  name=${p%%=*}
  version=${p#*=}
  [ "$version" = "$p" ] && version="*"
  deb=$(ls "${name}_${version//:/%3a}"_*.deb | head -n 1)
  if [[ $name == linux-image-* ]]; then
    # Only /boot (vmlinuz, config): the modules are hundreds of megabytes the tests do not need.
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/root.new" ./boot
  else
    dpkg-deb -x "$deb" "$dir/root.new"
  fi
done

# Stable names for the tests.
root=$dir/root.new
kernel=$(ls "$root"/boot/vmlinuz-* | head -n 1)
for f in "$root/usr/lib/shim/shimx64.efi.signed" \
         "$root/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$kernel"; do
  if [ ! -s "$f" ]; then
    echo "fetch-debian-efi: expected file missing after extraction: $f" >&2
    exit 1
  fi
done
ln -sf "usr/lib/shim/shimx64.efi.signed" "$root/shimx64.efi.signed"
ln -sf "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$root/grubx64.efi.signed"
ln -sf "boot/$(basename "$kernel")" "$root/vmlinuz"

rm -rf "$dir/root"
mv "$dir/root.new" "$dir/root"
echo "$packages" > "$dir/stamp"
echo "fetch-debian-efi: extracted $packages into $dir/root"
