#!/usr/bin/env bash
# The unit tests, once per ansible-core line: tests/unit.sh VENV [VENV...] (make unit passes .venv and
# .venv-2.21). The lab fakes' tests (tests/unit/lab) use no ansible-core and time real processes: they run
# once, alone, first, on the first venv. Then the rest runs on every line at once, one process per line:
# most of that time is spent waiting for the ansible-playbook runs the tests start, so two processes share
# the two cores well. Each line's output is printed when it ends; the script fails when any part failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
versions='import sys, ansible.release; print("ansible-core", ansible.release.__version__, "on Python", sys.version.split()[0])'
first=$1
rc=0
echo "unit: the lab fakes (tests/unit/lab), $("$first/bin/python" -c "$versions") ($first)"
PATH=$first/bin:$PATH "$first/bin/pytest" -q -p no:cacheprovider tests/unit/lab || rc=1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
for venv in "$@"; do
  echo "unit: started on $("$venv/bin/python" -c "$versions") ($venv)"
  PATH=$venv/bin:$PATH "$venv/bin/pytest" -q -p no:cacheprovider --ignore=tests/unit/lab tests/unit \
    > "$logs/${#pids[@]}.log" 2>&1 &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || rc=1
done
i=0
for venv in "$@"; do
  echo "unit: $venv"
  cat "$logs/$i.log"
  i=$((i + 1))
done
exit "$rc"
