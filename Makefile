# Everything runs from a project-local virtualenv, so a fresh machine needs only python3.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-all demo test lint bench clean

install: $(STAMP)

# Python, then the npm workspace (sdk-ts, frontend) from the one root package-lock.json.
NODE_STAMP := node_modules/.installed
install-all: install $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	$(PY) -m cinch.demo

test: install-all
	$(VENV)/bin/pytest
	npm test -w sdk-ts

lint: install-all
	$(VENV)/bin/ruff check cinch tests bench
	npm run typecheck -w sdk-ts

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache node_modules sdk-ts/dist
