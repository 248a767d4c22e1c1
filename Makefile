# mailops.window: the two commands of README.md are `make window` and `make test`.
# Every target installs what it needs (apt packages, a project venv) and is safe to re-run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
export CONTAINERS_CONF := $(ROOT)/tests/lab/containers.conf
export ANSIBLE_CONFIG := $(ROOT)/ansible.cfg
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

# shellcheck: for ansible-test sanity (it skips the test silently without it). chromium: the HTML report test.
APT_PACKAGES := podman runc mmdebstrap openssh-client uidmap rsync git shellcheck chromium
LAB_INVENTORY := inventories/lab
PLAYBOOK := $(BIN)/ansible-playbook -i $(LAB_INVENTORY)

.PHONY: help apt venv venv-test window work-plan test unit lint sanity molecule lab-up lab-down lab-reset images build bench

help:
	@echo "make window     run the maintenance window against the container lab (brings the lab up)"
	@echo "make test       install everything the tests need and run all tests"
	@echo "make work-plan  the window's work plan document (Spanish and English) from its plan file, into reports/"
	@echo "make lab-up | lab-down | lab-reset    manage the container lab"
	@echo "make unit | lint | sanity | molecule  parts of 'make test'"
	@echo "make build      build the collection tarball"
	@echo "make bench      timing benchmarks (numbers for notes, not assertions)"

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

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

unit: venv-test
	$(BIN)/pytest -q tests/unit

lint: venv-test
	$(BIN)/ansible-lint --profile production playbooks roles

# ansible-test keeps one pinned venv per sanity test under ~/.ansible/test/venv (see tests/sanity.sh). Its
# shellcheck test needs the shellcheck program; git and rsync copy the collection into the tree it needs.
sanity: apt venv-test
	bash tests/sanity.sh

molecule: apt venv-test
	bash tests/molecule.sh

test: apt venv-test
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory molecule

bench: lab-up venv-test
	$(BIN)/python bench/run.py
