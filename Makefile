# Two set-up commands for a fresh Debian 12 machine, as root (README):
#   make demo   - install the runtime dependencies only, boot Kindling on the embedded
#                 default root and show the result
#   make test   - install every test dependency (apt + pip) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_ROOT ?= /tmp/kindling-demo

.PHONY: demo test deps venv runtime-venv lint unit bench clean docs man

# Two stamps: `.runtime` (the dependencies in pyproject.toml, all `make demo` needs) and
# `.installed` (runtime + the [test] extras). The test install stamps both, so `make test`
# then `make demo` installs nothing more; `make demo` then `make test` adds the extras.
venv: $(VENV)/.installed
runtime-venv: $(VENV)/.runtime
# The venv's own pip (Python 3.11's is new enough for editable installs) serves the demo;
# the test install upgrades it first. Editable in setuptools' compat mode: the checkout
# on sys.path through a plain .pth line, not the import finder the default mode installs,
# which imports pathlib, re, typing … (~40 modules, ~7 ms) at every start of every command.
EDITABLE = --config-settings editable_mode=compat
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
$(VENV)/.runtime: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q $(EDITABLE) -e .
	touch $@
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(EDITABLE) -e '.[test]'
	touch $@ $(VENV)/.runtime

deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  pkgs=$$(grep -v '^#' ci/apt-packages.txt | xargs); \
	  missing=$$(for p in $$pkgs; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done | xargs); \
	  if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	else echo "not root or no apt-get: skipping Debian packages (rig tests will skip)"; fi

demo: runtime-venv
	demo/run.sh $(VENV) $(DEMO_ROOT)

# The reference docs are generated from the code (settings model, argparse parsers) and
# committed; tests/kindling/test_reference_docs.py fails when they are stale.
docs: runtime-venv
	$(PY) -m kindling.reference .
man: docs

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

test: deps venv lint unit

bench: deps venv
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
