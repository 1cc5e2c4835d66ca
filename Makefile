# One entry point for set-up, running and testing. `make run` and `make test` both create
# .venv and install every Python and system dependency that is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SYSDEPS_STAMP := $(VENV)/.sysdeps
# Debian packages the LiteX/Verilator simulator needs to compile a virtual board,
# openFPGALoader, which loads bitstreams into real ECP5 boards, and bubblewrap, the builds' and
# simulators' sandbox; chromium, the headless browser the web view's test drives; gtkwave, whose
# fst2vcd checks that the service's waveform recordings open in GTKWave's own reader.
APT_PACKAGES := verilator libevent-dev libjson-c-dev zlib1g-dev make g++ pkg-config openfpgaloader \
	bubblewrap chromium gtkwave

.PHONY: run test test-fast lint bench docs clean sysdeps deps

run: deps
	$(BIN)/fpga-cloud up

test: deps docs
	$(BIN)/pytest

test-fast: deps
	$(BIN)/pytest -m "not slow"

lint: deps
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

bench: deps
	$(BIN)/python -m bench

# The documentation site (MkDocs, in site/); --strict: a broken link or anchor fails the build.
docs: deps
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

deps: $(STAMP) $(SYSDEPS_STAMP)

$(STAMP): pyproject.toml sdk/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ./sdk
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(SYSDEPS_STAMP): scripts/install-sysdeps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	sh scripts/install-sysdeps.sh $(APT_PACKAGES)
	touch $@

clean:
	rm -rf $(VENV) var site
