#!/usr/bin/env bash
# Run every molecule scenario against one shared lab: the `default` scenario brings it up once (or
# reuses a running one) and tears it down at the end; each scenario resets it in its prepare step.
# MOLECULE_SCENARIOS="lab window" limits the run; MAILOPS_LAB_KEEP=1 keeps the lab up afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
# The lab's simulated durations run at half the `make window` time scale here (the whole suite shares
# CI's 2 cores); every nested run inherits it.
export MAILOPS_LAB_TIME_SCALE=${MAILOPS_LAB_TIME_SCALE:-0.005}
# Molecule remembers "created" between runs; give every run fresh state, so that `create` (which reuses a
# running lab and builds what is missing) always looks at what really exists on this machine.
MOLECULE_EPHEMERAL_DIRECTORY=$(mktemp -d)
export MOLECULE_EPHEMERAL_DIRECTORY
trap 'rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"' EXIT
args=()
if [ "${MAILOPS_LAB_KEEP:-}" = 1 ]; then args+=(--destroy never); fi
if [ -n "${MOLECULE_SCENARIOS:-}" ]; then
  for s in default $MOLECULE_SCENARIOS; do args+=(--scenario-name "$s"); done
  molecule test "${args[@]}"
  exit
fi
molecule test --all "${args[@]}"
