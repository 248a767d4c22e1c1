#!/usr/bin/env bash
# Build the lab's Debian bookworm base image offline-from-registries:
# mmdebstrap fetches packages from the Debian mirror, podman imports the tarball.
# Usage: build.sh IMAGE_NAME CONTENT_HASH
set -euo pipefail
image=$1
hash=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkgs=$(grep -v '^#' "$here/packages.txt" | grep -v '^$' | paste -sd, -)
mmdebstrap --variant=minbase --include="$pkgs" \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
  bookworm "$work/base.tar" http://deb.debian.org/debian
podman import --change "LABEL mailops.lab.hash=$hash" --change 'CMD ["/bin/bash"]' \
  "$work/base.tar" "$image"
