#!/usr/bin/env bash
# make test: every test, in about two thirds of the time the parts take one after another.
#   tests/all.sh VENV [VENV...]   (make test passes .venv and, where there is Python 3.12+, .venv-2.21)
# 1. The lab fakes' unit tests (tests/unit/lab), alone: they time real processes, and use no ansible-core.
# 2. The molecule suite against the container lab (tests/molecule.sh, on the first venv) in the background,
#    its output kept in a log; most of its time is spent waiting on SSH round trips and the lab's simulated
#    work, so it shares the 2 cores with step 3 well.
# 3. Meanwhile, in the foreground: the other unit tests on every line, ansible-lint, ansible-test sanity on
#    every line.
# 4. The molecule log, followed until the suite ends. The script fails when any part failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
versions='import sys, ansible.release; print("ansible-core", ansible.release.__version__, "on Python", sys.version.split()[0])'
first=$1
rc=0
failed=()
part() {  # part NAME COMMAND...: run one part, remember a failure
  local name=$1
  shift
  echo "== $name"
  "$@" || { rc=1; failed+=("$name"); }
}

part "unit: the lab fakes ($("$first/bin/python" -c "$versions"))" \
  env PATH="$first/bin:$PATH" "$first/bin/pytest" -q -p no:cacheprovider tests/unit/lab

molecule_log=$(mktemp)
trap 'rm -f "$molecule_log"' EXIT
echo "== molecule: started in the background (its output follows the other parts)"
PATH=$first/bin:$PATH bash tests/molecule.sh > "$molecule_log" 2>&1 < /dev/null &
molecule=$!

for venv in "$@"; do
  part "unit: $("$venv/bin/python" -c "$versions")" \
    env PATH="$venv/bin:$PATH" "$venv/bin/pytest" -q -p no:cacheprovider --ignore=tests/unit/lab tests/unit
done
part "lint: ansible-lint" "$first/bin/ansible-lint"
for venv in "$@"; do
  part "sanity: $venv" bash tests/sanity.sh --venv "$venv"
done

echo "== molecule: its output so far, then as it goes"
tail -n +1 -f --pid="$molecule" "$molecule_log"
wait "$molecule" || { rc=1; failed+=(molecule); }
if [ "$rc" -ne 0 ]; then
  echo "make test: failed: ${failed[*]}"
fi
exit "$rc"
