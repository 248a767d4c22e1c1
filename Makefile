# mailops.window: the two commands of README.md are `make window` and `make test`.
# Every target installs what it needs (apt packages, the project venvs) and is safe to re-run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(CURDIR)

# Two supported ansible-core lines, each installed from its lock file (constraints/ansible-<line>.txt):
# - 2.19, the oldest still supported (the `ansible` 12 bundle), on python3: the project venv .venv. `make window`,
#   the lab, lint and the molecule suite run on it.
# - 2.21, the current one (the `ansible` 14 bundle), on the newest Python 3.12+ here (tests/python-for finds it):
#   .venv-2.21. Unit tests, sanity and the window_current molecule scenario run on it too. A machine without
#   Python 3.12+ says so and tests 2.19 alone.
OLDEST_LINE := 2.19
CURRENT_LINE := 2.21
LINES := $(OLDEST_LINE) $(CURRENT_LINE)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
VENV_CURRENT := $(ROOT)/.venv-$(CURRENT_LINE)
PYTHON_CURRENT := $(shell bash tests/python-for $(CURRENT_LINE) 2>/dev/null)
# The venvs the unit tests and sanity run in, one per line this machine can run.
TEST_VENVS := $(VENV) $(if $(PYTHON_CURRENT),$(VENV_CURRENT))
NO_CURRENT := no Python 3.12+ here: ansible-core $(CURRENT_LINE) is not tested on this machine (unit and sanity run on $(OLDEST_LINE) alone; molecule leaves window_current out)
LOCK = constraints/ansible-$(1).txt
PIP_FLAGS := -q --disable-pip-version-check
REQUIREMENTS := $(wildcard requirements*.txt)

export CONTAINERS_CONF := $(ROOT)/tests/lab/containers.conf
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1
# An empty ANSIBLE_CALLBACKS_ENABLED in the caller's environment is an error in ansible-core 2.19.14 and later
# ("A non-empty plugin name is required"); without it ansible.cfg's callbacks_enabled applies.
ifeq ($(strip $(ANSIBLE_CALLBACKS_ENABLED)),)
unexport ANSIBLE_CALLBACKS_ENABLED
endif

# shellcheck: for ansible-test sanity (it skips the test silently without it). chromium: the HTML report test.
APT_PACKAGES := podman runc mmdebstrap openssh-client uidmap rsync git shellcheck chromium
LAB_INVENTORY := inventories/lab
PLAYBOOK := $(BIN)/ansible-playbook -i $(LAB_INVENTORY)

.PHONY: help apt venv venv-test venv-current window work-plan test unit lint sanity molecule lab-up lab-down lab-reset images build bench lock

help:
	@echo "make window     run the maintenance window against the container lab (brings the lab up)"
	@echo "make test       install everything the tests need and run all tests"
	@echo "make work-plan  the window's work plan document (Spanish and English) from its plan file, into reports/"
	@echo "make lab-up | lab-down | lab-reset    manage the container lab"
	@echo "make unit | lint | sanity | molecule  parts of 'make test' (unit and sanity on ansible-core $(OLDEST_LINE) and $(CURRENT_LINE))"
	@echo "make build      build the collection tarball"
	@echo "make bench      timing benchmarks (numbers for notes, not assertions)"
	@echo "make lock       regenerate the lock files constraints/ansible-{$(OLDEST_LINE),$(CURRENT_LINE)}.txt"

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# ansible-core 2.19: requirements.txt for `make window`, requirements-test.txt on top for the tests.
$(VENV)/.installed: requirements.txt $(wildcard requirements-runtime.txt) $(call LOCK,$(OLDEST_LINE))
	[ -x $(BIN)/python ] || { python=$$(bash tests/python-for $(OLDEST_LINE)) && $$python -m venv $(VENV); }
	$(BIN)/pip install $(PIP_FLAGS) -c $(call LOCK,$(OLDEST_LINE)) -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(REQUIREMENTS) $(call LOCK,$(OLDEST_LINE)) $(VENV)/.installed
	$(BIN)/pip install $(PIP_FLAGS) -c $(call LOCK,$(OLDEST_LINE)) -r requirements-test.txt
	touch $@

# ansible-core 2.21: only the tests use it. The venv is made anew when the Python found is another one.
$(VENV_CURRENT)/.installed-test: $(REQUIREMENTS) $(call LOCK,$(CURRENT_LINE))
	@test -n "$(PYTHON_CURRENT)" || { echo "$(NO_CURRENT)" >&2; exit 1; }
	if [ "$$(readlink -f $(VENV_CURRENT)/bin/python 2>/dev/null)" != "$$(readlink -f $(PYTHON_CURRENT))" ]; then \
	  $(PYTHON_CURRENT) -m venv --clear $(VENV_CURRENT); \
	fi
	$(VENV_CURRENT)/bin/pip install $(PIP_FLAGS) -c $(call LOCK,$(CURRENT_LINE)) -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test
ifneq ($(PYTHON_CURRENT),)
venv-current: $(VENV_CURRENT)/.installed-test
else
venv-current:  # nothing to make: unit, sanity and molecule say so
endif

# The lock files: for each line, a fresh temporary venv on that line's Python, requirements-test.txt (and the
# files it includes) installed unpinned but for the line itself (ansible-core==<line>.*), then pip freeze.
# A line whose Python this machine lacks keeps its lock file. Review the diff, then `make test`.
lock:
	@set -euo pipefail; \
	for line in $(LINES); do \
	  lock=constraints/ansible-$$line.txt; \
	  python=$$(bash tests/python-for $$line) || { echo "lock: $$lock kept: no Python for ansible-core $$line here"; continue; }; \
	  tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  echo "lock: $$lock from requirements-test.txt with $$($$python -V) ($$python)"; \
	  $$python -m venv "$$tmp/venv"; \
	  echo "ansible-core==$$line.*" >"$$tmp/line.txt"; \
	  "$$tmp/venv/bin/pip" install $(PIP_FLAGS) -c "$$tmp/line.txt" -r requirements-test.txt; \
	  mkdir -p constraints; \
	  { echo "# Lock file of the ansible-core $$line line ($$($$python -V)): every package that requirements-test.txt and the"; \
	    echo "# files it includes install, pinned. make installs from it: pip install -c $$lock -r requirements-test.txt"; \
	    echo "# Do not edit by hand. To refresh: make lock (for each line a fresh temporary venv, an unpinned install but for"; \
	    echo "# ansible-core==$$line.*, pip freeze); review the diff, then make test."; \
	    "$$tmp/venv/bin/pip" freeze --disable-pip-version-check; } >"$$tmp/lock.txt"; \
	  mv "$$tmp/lock.txt" "$$lock"; \
	  rm -rf "$$tmp"; \
	done

images: apt venv
	$(PLAYBOOK) tests/lab/images.yml

lab-up: apt venv
	$(PLAYBOOK) tests/lab/up.yml

lab-down: apt venv
	$(PLAYBOOK) tests/lab/down.yml

lab-reset: apt venv
	$(PLAYBOOK) tests/lab/reset.yml

window: lab-up
	$(PLAYBOOK) playbooks/maintenance.yml

# The work plan people sign off before the night, generated from the plan file and the inventory.
work-plan: venv
	$(PLAYBOOK) playbooks/work_plan.yml

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path $(ROOT)

# The unit tests and sanity run once per line, each with its own venv (the unit tests start that venv's
# ansible-playbook); both lines run even when the first fails, and the target fails if either did.
# tests/unit.sh runs the lines' unit tests side by side (the lab fakes' tests once, first, alone).
unit: venv-test venv-current
	@rc=0; bash tests/unit.sh $(TEST_VENVS) || rc=1; \
	$(if $(PYTHON_CURRENT),,echo "$(NO_CURRENT)";) exit $$rc

# The whole repository, under .ansible-lint (production profile).
lint: venv-test
	$(BIN)/ansible-lint

# ansible-test keeps one pinned venv per sanity test and Python under ~/.ansible/test/venv (see tests/sanity.sh):
# the first run on a line builds them. Its shellcheck test needs the shellcheck program; git and rsync copy the
# collection into the tree it needs. Each line has its ignore file (tests/sanity/ignore-<line>.txt).
sanity: apt venv-test venv-current
	@rc=0; for venv in $(TEST_VENVS); do \
	  bash tests/sanity.sh --venv $$venv || rc=1; \
	done; \
	$(if $(PYTHON_CURRENT),,echo "$(NO_CURRENT)";) exit $$rc

# The suite runs on 2.19; window_current runs the window with .venv-2.21's ansible-playbook (tests/molecule.sh
# leaves it out, saying why, when that venv is missing).
molecule: apt venv-test venv-current
	@$(if $(PYTHON_CURRENT),,echo "$(NO_CURRENT)")
	bash tests/molecule.sh

# Every part of unit, lint, sanity and molecule; tests/all.sh runs the molecule suite in the background while
# the others run (see there).
test: apt venv-test venv-current
	@$(if $(PYTHON_CURRENT),,echo "$(NO_CURRENT)")
	bash tests/all.sh $(TEST_VENVS)

bench: lab-up venv-test
	$(BIN)/python bench/run.py
