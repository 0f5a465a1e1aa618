# voicegw developer commands. `make test` on a fresh clone sets everything up and runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The pjsua2-python wheels exist for CPython 3.11 and 3.12 only.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 12))' >/dev/null 2>&1 \
	&& { command -v $$p; break; }; done)

.PHONY: help setup system-deps venv lint typecheck unit test demo bench clean

help:
	@echo "make demo    set up, then a real call through the gateway to the offline emulator"
	@echo "make test    set up (.venv, Debian tools when root) and run lint, types and tests"
	@echo "make bench   run the benchmarks in bench/"
	@echo "make clean   remove .venv and caches"

system-deps:
	@deploy/install-system-deps.sh

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "voicegw needs Python 3.11 or 3.12 (pjsua2-python has no wheels for others)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

venv: $(STAMP)

setup: system-deps venv

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest

test: setup lint typecheck unit

demo: setup
	$(BIN)/voicegw demo

bench: venv
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python bench/audio.py
	$(BIN)/python bench/realtime.py
	$(BIN)/python bench/media.py
	$(BIN)/python bench/gateway_cpu.py
	$(BIN)/python bench/guarded_playout.py
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/compare_sdk.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
