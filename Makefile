# Everything runs from a project-local virtualenv, so a fresh machine needs only python3.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The TypeScript compiler the codegen tests run on generated code (tests/codegen/ts).
TS_CHECK := tests/codegen/ts
TS_STAMP := $(TS_CHECK)/node_modules/.installed

.PHONY: install install-all demo test lint bench clean

install: $(STAMP)

# Python and node packages: what `make test` needs.
install-all: $(STAMP) $(TS_STAMP)

$(TS_STAMP): $(TS_CHECK)/package.json $(TS_CHECK)/package-lock.json
	cd $(TS_CHECK) && npm ci --no-audit --no-fund --loglevel=error
	touch $(TS_STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(PY) -m cinch.demo

test: install-all
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check cinch tests bench

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache $(TS_CHECK)/node_modules
