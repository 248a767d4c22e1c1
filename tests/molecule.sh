#!/usr/bin/env bash
# Run every molecule scenario against one shared lab: the `default` scenario brings it up once (or
# reuses a running one) and tears it down at the end; each scenario resets it in its prepare step.
# MOLECULE_SCENARIOS="lab window" limits the run; MAILOPS_LAB_KEEP=1 keeps the lab up afterwards.
# The output ends with each scenario's seconds, longest first (tests/molecule_times.py).
# The suite runs on ansible-core 2.19 (.venv); window_current runs the window with .venv-2.21's ansible-playbook
# (ansible-core 2.21) and is left out, saying why, when that venv is missing or broken.
set -euo pipefail
cd "$(dirname "$0")/.."
# An empty ANSIBLE_CALLBACKS_ENABLED is an error in ansible-core 2.19.14 and later; unset, ansible.cfg's applies.
if [ -z "${ANSIBLE_CALLBACKS_ENABLED:-}" ]; then unset ANSIBLE_CALLBACKS_ENABLED; fi
current_version=$(.venv-2.21/bin/ansible-playbook --version 2>/dev/null) || true
excluded=()
if [[ "$current_version" != *"core 2.21."* ]]; then
  echo "molecule: window_current left out: no working .venv-2.21 (ansible-core 2.21 needs Python 3.12+; 'make venv-current' makes it where there is one)"
  excluded=(window_current)
fi
# The lab's simulated durations run at a quarter of the `make window` time scale here (the whole suite
# shares CI's 2 cores); every nested run inherits it.
export MAILOPS_LAB_TIME_SCALE=${MAILOPS_LAB_TIME_SCALE:-0.0025}
# Molecule remembers "created" between runs; give every run fresh state, so that `create` (which reuses a
# running lab and builds what is missing) always looks at what really exists on this machine.
MOLECULE_EPHEMERAL_DIRECTORY=$(mktemp -d)
export MOLECULE_EPHEMERAL_DIRECTORY
trap 'rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"' EXIT
args=()
if [ "${MAILOPS_LAB_KEEP:-}" = 1 ]; then args+=(--destroy never); fi
if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
  for s in default $MOLECULE_SCENARIOS; do
    if [[ " ${excluded[*]} " != *" $s "* ]]; then args+=(--scenario-name "$s"); fi
  done
  molecule test "${args[@]}" 2>&1 | python3 tests/molecule_times.py
  exit
fi
for s in "${excluded[@]}"; do args+=(--exclude "$s"); done
molecule test --all "${args[@]}" 2>&1 | python3 tests/molecule_times.py
