#!/usr/bin/env bash
# ansible-test sanity needs the collection at .../ansible_collections/mailops/window: copy the tracked
# files of the collection (what `ansible-galaxy collection build` would ship) there and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/mailops/window"
mkdir -p "$dest"
git ls-files -z --cached --others --exclude-standard -- galaxy.yml meta plugins roles playbooks docs README.md changelogs \
  | rsync -a --from0 --files-from=- "$root/" "$dest/"
cd "$dest"
python=$(command -v python)
"$root/.venv/bin/ansible-test" sanity --python "$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no --skip-test pylint "$@"
