#!/usr/bin/env bash
# Build the CPMS 6.7.19.1 patch bundle: OUTDIR/cpms-6.7.19.1-patch.tar.gz and its .sha256.
# The bundle holds every file of the install tree's bin/ and lib/ (taken from ../opt/cpms, or from
# files/ where the patch changes more than the build marker) with CPMS_BUILD set to 6.7.19.1, VERSION,
# MANIFEST (`sha256  path`, in install order, VERSION last) and install.sh, all below
# cpms-6.7.19.1-patch/. Deterministic: same inputs, same bytes.
# Usage: build-patch.sh OUTDIR
set -euo pipefail
export LC_ALL=C

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: build-patch.sh OUTDIR" >&2
  exit 2
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../opt/cpms" && pwd)
from=6.7.19
to=6.7.19.1
name=cpms-$to-patch

[ "$(cat "$tree/VERSION")" = "$from" ] || {
  echo "build-patch.sh: $tree/VERSION is not $from" >&2
  exit 1
}
mkdir -p "$out"
out=$(cd "$out" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage=$work/$name
mkdir -p "$stage/files"

list_files() {
  (cd "$1" && find bin lib -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '*.pyo' 2>/dev/null | sort)
}

# Every override must replace a file of the install tree.
while IFS= read -r rel; do
  if [ ! -f "$tree/$rel" ]; then
    echo "build-patch.sh: files/$rel has no counterpart in the install tree" >&2
    exit 1
  fi
done < <(list_files "$here/files")

marker='^[[:space:]]*(#[[:space:]]*)?CPMS_BUILD[[:space:]]*=[[:space:]]*"'
count=0
while IFS= read -r rel; do
  src=$tree/$rel
  if [ -f "$here/files/$rel" ]; then
    src=$here/files/$rel
  fi
  dest=$stage/files/$rel
  mkdir -p "$(dirname "$dest")"
  sed -E "s/(${marker})[^\"]*\"/\\1${to}\"/" "$src" > "$dest"
  builds=$(grep -Ec "$marker" "$dest" || true)
  if [ "$builds" -ne 1 ] || ! grep -Eq "${marker}${to//./\\.}\"[[:space:]]*$" "$dest"; then
    echo "build-patch.sh: $rel must carry exactly one CPMS_BUILD line (found $builds)" >&2
    exit 1
  fi
  case $rel in
    bin/*) chmod 0755 "$dest" ;;
    *) chmod 0644 "$dest" ;;
  esac
  count=$((count + 1))
done < <(list_files "$tree")
[ "$count" -gt 0 ] || {
  echo "build-patch.sh: no files under $tree/bin and $tree/lib" >&2
  exit 1
}
printf '%s\n' "$to" > "$stage/files/VERSION"
chmod 0644 "$stage/files/VERSION"

{
  list_files "$stage/files"
  echo VERSION
} | while IFS= read -r rel; do
  printf '%s  %s\n' "$(sha256sum < "$stage/files/$rel" | cut -d' ' -f1)" "$rel"
done > "$stage/MANIFEST"
cp "$here/install.sh" "$stage/install.sh"
chmod 0755 "$stage/install.sh"
chmod 0644 "$stage/MANIFEST"
find "$stage" -type d -exec chmod 0755 {} +

tarball=$name.tar.gz
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$work" -cf - "$name" | gzip -9 -n > "$out/$tarball.tmp"
mv -f "$out/$tarball.tmp" "$out/$tarball"
(cd "$out" && sha256sum "$tarball" > "$tarball.sha256.tmp" && mv -f "$tarball.sha256.tmp" "$tarball.sha256")
cat "$out/$tarball.sha256"
