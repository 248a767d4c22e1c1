#!/usr/bin/env bash
# Run `ansible-test sanity` over the collection: every test, pylint included.
#
# ansible-test needs the collection at .../ansible_collections/mailops/window, so the files git knows about
# (tracked, plus untracked ones that are not ignored) are copied to a temporary tree of that shape first.
# The `collections/` symlink (a loop back to the repository root, only there to resolve FQCNs) is left out.
# Findings that are false positives are listed, each with its reason, in tests/sanity/ignore-<line>.txt (one
# file per ansible-core line: ansible-test reads the one of its own version).
#
# The venv whose ansible-test runs (and whose Python the tests are run for) is .venv (ansible-core 2.19) unless
# --venv DIR (or SANITY_VENV=DIR) names another, e.g. .venv-2.21 (`make sanity` runs both).
#
# Requirements: ansible-test always runs a sanity test in a virtual environment of its
# own under ~/.ansible/test/venv/sanity.<test>/, installed from the pinned requirement files it ships
# (ansible_test/_data/requirements/sanity.*.txt) and reused until those pins change; packages installed into
# the project venv are not used by it. To put pip into such an empty environment it downloads a bootstrap
# script from ci-files.testing.ansible.com, which CI cannot reach; it uses
# ~/.ansible/test/cache/get_pip_<version>.py instead when that file exists. So this script places a small
# stand-in there (pip from the interpreter's ensurepip bundle, then the pinned pip from the package index).
# A file there that this script did not write (for example the upstream script) is left alone.
# The shellcheck test needs the shellcheck program (`make sanity` installs it); without it ansible-test
# only warns and skips that test. pslint is skipped by ansible-test itself: the collection has no PowerShell.
#
# Usage: tests/sanity.sh [--venv DIR] [ansible-test sanity options], e.g. tests/sanity.sh --test pylint plugins/
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${SANITY_VENV:-$root/.venv}
if [ "${1:-}" = --venv ]; then
  venv=${2:?--venv needs a directory}
  shift 2
fi
venv=$(cd "$venv" 2>/dev/null && pwd) || { echo "sanity: no venv at $venv; run 'make venv-test' (or 'make venv-current') first" >&2; exit 2; }
python="$venv/bin/python"
ansible_test="$venv/bin/ansible-test"
if [ ! -x "$ansible_test" ]; then
  echo "sanity: $ansible_test not found; run 'make venv-test' (or 'make venv-current') first" >&2
  exit 2
fi
py_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
core_version=$("$python" -c 'from ansible.release import __version__; print(__version__)')
echo "sanity: ansible-test $core_version on Python $py_version ($venv)"

# The pip version ansible-test bootstraps, which names the file it looks for.
pip_version=$("$python" - "$py_version" <<'PY'
import sys
from ansible_test._internal.host_configs import NativePythonConfig
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(NativePythonConfig(version=sys.argv[1], path=sys.executable))["pip"])
PY
) || { echo "sanity: could not read from ansible-test which pip version it bootstraps" >&2; exit 2; }
bootstrap="${HOME:?}/.ansible/test/cache/get_pip_${pip_version//./_}.py"
marker="Stand-in for get-pip.py, placed here by the mailops.window sanity script."
mkdir -p "$(dirname "$bootstrap")"
{
  printf '"""%s\n' "$marker"
  cat <<'PY'

ansible-test runs it with the Python of a new, empty virtual environment as:
    get_pip_<version>.py [pip options] pip==<version> [--no-setuptools] [--no-wheel]
It installs pip from the interpreter's own ensurepip bundle, then the requested pip from the package index.
"""
import importlib
import importlib.metadata
import subprocess
import sys

ARGS = sys.argv[1:]
LEAVE_OUT = {'--no-setuptools': 'setuptools', '--no-wheel': 'wheel'}

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet', '--upgrade']
                      + [arg for arg in ARGS if arg not in LEAVE_OUT])
importlib.invalidate_caches()
INSTALLED = {dist.metadata['Name'].lower() for dist in importlib.metadata.distributions()}
UNWANTED = [name for flag, name in LEAVE_OUT.items() if flag in ARGS and name in INSTALLED]
if UNWANTED:
    subprocess.check_call([sys.executable, '-m', 'pip', 'uninstall', '--quiet', '--yes'] + UNWANTED)
PY
} >"$bootstrap.tmp"
# Replace the file only when it is missing or an older copy of this stand-in.
if [ ! -s "$bootstrap" ] || { grep -qF "$marker" "$bootstrap" && ! cmp -s "$bootstrap.tmp" "$bootstrap"; }; then
  mv "$bootstrap.tmp" "$bootstrap"
else
  rm -f "$bootstrap.tmp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/mailops/window"
mkdir -p "$dest"
# The venvs are left out as well: .venv is ignored by git, .venv-<line> may not be.
git ls-files -z --cached --others --exclude-standard -- . ':!collections' ':!.venv*' \
  | rsync -a --from0 --ignore-missing-args --files-from=- "$root/" "$dest/"
cd "$dest"
"$ansible_test" sanity --python "$py_version" --color no "$@"
