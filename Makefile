# Two set-up commands for a fresh Debian 12 machine, as root (README):
#   make demo   - boot Kindling on the embedded default root and show the result
#   make test   - install every test dependency (apt + pip) and run the whole suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_ROOT ?= /tmp/kindling-demo

.PHONY: demo test deps venv lint unit bench clean

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  pkgs=$$(grep -v '^#' ci/apt-packages.txt | xargs); \
	  missing=$$(for p in $$pkgs; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done | xargs); \
	  if [ -n "$$missing" ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi; \
	else echo "not root or no apt-get: skipping Debian packages (rig tests will skip)"; fi

demo: venv
	demo/run.sh $(VENV) $(DEMO_ROOT)

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
