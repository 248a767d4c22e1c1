#!/bin/sh
# Installer of the CPMS 6.7.19.1 patch (the lab's bundle format). Run it as root from the unpacked
# bundle, with CPMS stopped, on an install at exactly 6.7.19. It checks the bundle against MANIFEST,
# then replaces the files one by one in MANIFEST order, VERSION last.
# Exit: 0 patched (or already 6.7.19.1), 1 other, 2 usage, 3 CPMS running, 4 installed version not 6.7.19
# or install inconsistent, 8 bundle incomplete or corrupt, 9 died halfway (fault switch).
# Fault switches (lab only): $FAULT dies half-way; $FAULT_LOST dies half-way and takes sshd down with it,
# so the host stops answering SSH mid-patch, as a host lost during the window does.
set -eu

FROM=6.7.19
TO=6.7.19.1
CPMS_HOME=/opt/cpms
CTL=$CPMS_HOME/bin/cpmsctl
FAULT=/etc/cpms-lab/faults/patch_die_halfway
FAULT_LOST=/etc/cpms-lab/faults/patch_lose_host
LOG=/var/log/cpms/cpms.log
here=$(cd "$(dirname "$0")" && pwd)

log() {
  mkdir -p "$(dirname "$LOG")" 2>/dev/null || true
  printf '%s action=patch result=%s detail=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2" >> "$LOG" 2>/dev/null || true
}

fail() {
  code=$1
  shift
  echo "install.sh: $*" >&2
  log error "exit=$code to=$TO $*"
  exit "$code"
}

if [ "$#" -ne 0 ]; then
  echo "usage: install.sh   (no arguments; run as root from the unpacked bundle with CPMS stopped)" >&2
  exit 2
fi
[ "$(id -u)" -eq 0 ] || fail 1 "must be run as root"

# The bundle: MANIFEST lists `sha256  path` for every file under files/, VERSION last.
manifest=$here/MANIFEST
if [ ! -f "$manifest" ] || [ ! -d "$here/files" ]; then
  fail 8 "bundle incomplete: MANIFEST or files/ missing in $here"
fi
bad=$(grep -Ev '^[0-9a-f]{64}  (VERSION|(bin|lib)(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+)$' "$manifest" || true)
[ -z "$bad" ] || fail 8 "bundle corrupt: MANIFEST has unexpected lines: $(echo "$bad" | head -3 | tr '\n' ' ')"
[ "$(tail -n 1 "$manifest" | cut -c67-)" = VERSION ] || fail 8 "bundle corrupt: MANIFEST does not end with VERSION"
[ "$(grep -c '  VERSION$' "$manifest")" -eq 1 ] || fail 8 "bundle corrupt: MANIFEST lists VERSION more than once"
listed=$(cut -c67- "$manifest" | LC_ALL=C sort)
present=$(cd "$here/files" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
[ "$listed" = "$present" ] || fail 8 "bundle corrupt: files/ does not hold exactly the files MANIFEST lists"
if ! sums=$(cd "$here/files" && sha256sum --strict -c "$manifest" 2>&1); then
  fail 8 "bundle corrupt: checksum mismatch: $(echo "$sums" | grep -v ': OK$' | head -3 | tr '\n' ' ')"
fi
[ "$(cat "$here/files/VERSION")" = "$TO" ] || fail 8 "bundle corrupt: files/VERSION is not $TO"

# The install.
if [ ! -x "$CTL" ] || [ ! -f "$CPMS_HOME/VERSION" ]; then
  fail 4 "no CPMS install at $CPMS_HOME"
fi
installed=$(cat "$CPMS_HOME/VERSION")
if [ "$installed" = "$TO" ]; then
  if version=$("$CTL" version 2>&1) && [ "$version" = "$TO" ]; then
    echo "install.sh: CPMS is already at $TO; nothing to do"
    log ok "exit=0 to=$TO already installed"
    exit 0
  fi
  fail 4 "VERSION says $TO but the install is not consistent: $version"
fi
[ "$installed" = "$FROM" ] || fail 4 "installed version is '$installed'; this patch applies to $FROM only"
version=$("$CTL" version 2>&1) || fail 4 "$version (restore $CPMS_HOME from its backup before patching)"

status=0
"$CTL" status > /dev/null 2>&1 || status=$?
case $status in
  3) ;;
  0|1) fail 3 "CPMS is running on $(hostname); stop it first (cpmsctl stop)" ;;
  *) fail 3 "cannot tell whether CPMS runs (cpmsctl status exited $status); refusing to patch" ;;
esac

replace() {
  rel=$1
  dest=$CPMS_HOME/$rel
  case $rel in
    bin/*) mode=0755 ;;
    *) mode=0644 ;;
  esac
  mkdir -p "$(dirname "$dest")"
  install -m "$mode" -o root -g root "$here/files/$rel" "$dest.patch-new"
  mv -f "$dest.patch-new" "$dest"
}

total=$(grep -vc '  VERSION$' "$manifest" || true)
[ "$total" -gt 0 ] || fail 8 "bundle corrupt: MANIFEST lists no files besides VERSION"
half=$(( (total + 1) / 2 ))
done_count=0
while read -r sum rel; do
  [ -n "$sum" ] || continue
  [ "$rel" = VERSION ] && continue
  replace "$rel"
  done_count=$((done_count + 1))
  if [ -e "$FAULT" ] && [ "$done_count" -ge "$half" ]; then
    fail 9 "fault switch $FAULT: died after replacing $done_count of $total files; the install is now inconsistent"
  fi
  if [ -e "$FAULT_LOST" ] && [ "$done_count" -ge "$half" ]; then
    log error "exit=9 to=$TO fault switch $FAULT_LOST: host lost after replacing $done_count of $total files"
    pkill -KILL -x sshd || true
    exit 9
  fi
done < "$manifest"
replace VERSION
log ok "exit=0 to=$TO replaced $total files and VERSION"
echo "install.sh: CPMS patched from $FROM to $TO ($total files and VERSION replaced)"
