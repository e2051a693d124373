# Everything runs from a project-local virtualenv, so a fresh machine needs only python3.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The TypeScript compiler the codegen tests run on generated code (tests/codegen/ts), and the
# workspace's SDK it links (file:../../../sdk-ts) for the live test: built before it runs.
TS_CHECK := tests/codegen/ts
TS_STAMP := $(TS_CHECK)/node_modules/.installed
SDK_DIST := sdk-ts/dist/index.js

.PHONY: install install-all console demo test lint bench clean

install: $(STAMP)

# Python, then the npm workspace (sdk-ts, frontend) from the one root package-lock.json.
NODE_STAMP := node_modules/.installed
install-all: install $(NODE_STAMP) $(TS_STAMP) $(SDK_DIST) console

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# The web console: a static export of frontend/ copied into the Python package (git-ignored
# package data), so `pip install .` after this ships it and `cinch serve` serves it at /.
CONSOLE := cinch/server/console/index.html
CONSOLE_SOURCES := $(shell find frontend/app frontend/components frontend/lib sdk-ts/src -type f 2>/dev/null) \
	frontend/package.json frontend/next.config.ts sdk-ts/package.json
console: $(CONSOLE)

$(CONSOLE): $(NODE_STAMP) $(CONSOLE_SOURCES)
	npm run build -w sdk-ts
	NEXT_TELEMETRY_DISABLED=1 npm run build -w frontend
	rm -rf cinch/server/console
	cp -r frontend/out cinch/server/console

$(SDK_DIST): $(NODE_STAMP) $(shell find sdk-ts/src -type f 2>/dev/null) sdk-ts/package.json
	npm run build -w sdk-ts
	touch $(SDK_DIST)

$(TS_STAMP): $(TS_CHECK)/package.json $(TS_CHECK)/package-lock.json $(NODE_STAMP)
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
	npm test -w sdk-ts
	npm run e2e -w frontend

lint: install-all
	$(VENV)/bin/ruff check cinch git_hooks tests bench
	npm run typecheck -w sdk-ts
	npm run typecheck -w frontend
	npm run lint -w frontend

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache node_modules sdk-ts/dist \
	frontend/.next frontend/out cinch/server/console \
	$(TS_CHECK)/node_modules
