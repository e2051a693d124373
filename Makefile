# Everything runs from a project-local virtualenv, so a fresh machine needs only python3.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The TypeScript compiler the codegen tests run on generated code (tests/codegen/ts), and the
# workspace's SDK it links (file:../../../sdk-ts) for the live test: built before it runs.
TS_CHECK := tests/codegen/ts
TS_STAMP := $(TS_CHECK)/node_modules/.installed
SDK_DIST := sdk-ts/dist/index.js

.PHONY: install install-all console demo test coverage dev lint bench clean docs docs-serve \
	docs-ref docs-ref-check sdk-ref-check docs-check build-all lock

install: $(STAMP)

# Python, then the npm workspace (sdk-ts, frontend, docs) from the one root package-lock.json.
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

# constraints.txt: the Python packages' versions the suite passes with, so every fresh machine
# installs the same ones. `make lock` moves them to the newest releases pyproject.toml allows.
$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lock:
	rm -rf $(VENV)-lock
	python3 -m venv $(VENV)-lock
	$(VENV)-lock/bin/pip install --quiet '.[dev]'
	{ echo "# Written by make lock: the versions make install pins (pip install -c)."; \
	  $(VENV)-lock/bin/pip freeze --exclude cinch; } > constraints.txt
	rm -rf $(VENV)-lock build

# The documentation site: a static export of docs/ (Nextra on Next.js, pagefind search) in
# docs/out, served by `make docs-serve` and, copied into the package by `make build-all`, by
# `cinch serve` at /docs-site/.
DOCS_SITE := docs/out/index.html
DOCS_SOURCES := $(shell find docs/app docs/content -type f 2>/dev/null) docs/package.json \
	docs/next.config.mjs docs/mdx-components.tsx
docs: $(DOCS_SITE)

$(DOCS_SITE): $(NODE_STAMP) $(DOCS_SOURCES)
	NEXT_TELEMETRY_DISABLED=1 npm run build -w docs

docs-serve: docs
	npm run serve -w docs

# The references in docs/content/reference/, regenerated from the code (re-run after any change
# to a command, option, route, setting or error; tests/docs/test_reference_drift.py and
# `make docs-ref-check` fail until then).
docs-ref: install $(NODE_STAMP)
	$(PY) scripts/gen_docs_ref.py
	npm run -s typedoc -w docs

docs-ref-check: install $(NODE_STAMP) sdk-ref-check
	$(PY) scripts/gen_docs_ref.py --check

# The TypeScript SDK's reference alone (`make test` runs this: its pytest run already checks
# the Python-generated pages, tests/docs/test_reference_drift.py).
sdk-ref-check: $(NODE_STAMP)
	rm -rf docs/.sdk-check && cd docs && npx typedoc --options typedoc.json --out .sdk-check
	diff -r docs/.sdk-check docs/content/reference/sdk \
		|| { echo "the TypeScript SDK reference drifted: run make docs-ref"; exit 1; }
	rm -rf docs/.sdk-check

# The built site in headless chromium: every page, every internal link and anchor, search.
docs-check: docs
	rm -rf cinch/server/docs_site
	cp -r docs/out cinch/server/docs_site
	npm run check -w docs

# A wheel in dist/ with the console and the documentation site inside.
build-all: install-all docs
	rm -rf cinch/server/docs_site
	cp -r docs/out cinch/server/docs_site
	$(VENV)/bin/pip wheel --quiet --no-deps -w dist .

demo: install
	$(PY) -m cinch.demo

# The suite runs in parallel, one worker per core (each test keeps its own tmp paths, ports and
# environment); a file's tests stay on one worker, so module fixtures are built once.
PYTEST_PARALLEL ?= -n auto --dist loadfile

# Where the machine has a RAM disk, the suites' temporary files live on it (TMPDIR, pytest's
# basetemp): they write half a gigabyte of SQLite files, git objects and copies, and the disk's
# syncs of them cost a tenth of the suite's CPU. Cleared at the start of a run and after one
# that passed (a failed run's files stay for a look).
# (At least 2 GiB free there: a container's default /dev/shm of 64 MiB would run out.)
ifeq ($(origin TEST_TMP),undefined)
TEST_TMP := $(shell [ -w /dev/shm ] && [ "$$(df -Pk /dev/shm | awk 'NR == 2 {print $$4}')" -ge 2097152 ] \
	&& echo /dev/shm/cinch-tests-$$(id -u))
endif
IN_TEST_TMP := $(if $(TEST_TMP),TMPDIR=$(TEST_TMP))
PYTEST_TMP := $(if $(TEST_TMP),--basetemp=$(TEST_TMP)/pytest)
FRESH_TEST_TMP := $(if $(TEST_TMP),rm -rf $(TEST_TMP) && mkdir -p $(TEST_TMP))
DROP_TEST_TMP := $(if $(TEST_TMP),rm -rf $(TEST_TMP))

test: install-all
	$(FRESH_TEST_TMP)
	$(IN_TEST_TMP) $(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_TMP)
	$(IN_TEST_TMP) npm test -w sdk-ts
	$(IN_TEST_TMP) npm run e2e -w frontend
	$(IN_TEST_TMP) $(MAKE) sdk-ref-check docs-check
	$(DROP_TEST_TMP)

lint: install-all
	$(VENV)/bin/ruff check cinch git_hooks tests bench scripts fixtures
	npm run typecheck -w sdk-ts
	npm run typecheck -w frontend
	npm run typecheck -w docs
	npm run lint -w frontend

# Line coverage of cinch/ over the Python suite, the processes it starts included (the cinch
# command, cinch serve: [tool.coverage.run] in pyproject.toml); fails under 85%.
coverage: install
	$(FRESH_TEST_TMP)
	$(IN_TEST_TMP) $(VENV)/bin/pytest $(PYTEST_PARALLEL) $(PYTEST_TMP) \
		--cov=cinch --cov-report=term:skip-covered --cov-fail-under=85
	$(DROP_TEST_TMP)

# The API with auto-reload on cinch/ changes (port 8000, on DEV_PROJECT, made if missing)
# beside the console's Next.js dev server with hot reload (port 3000); Ctrl-C stops both.
DEV_PROJECT ?= .dev-project
dev: install $(NODE_STAMP)
	[ -d $(DEV_PROJECT)/.git ] || $(VENV)/bin/cinch init $(DEV_PROJECT)
	trap 'kill 0' EXIT INT TERM; \
	CINCH_PROJECT=$(DEV_PROJECT) \
	CINCH_SERVER_SETTINGS='{"cors_origins": ["http://localhost:3000"]}' \
	$(VENV)/bin/uvicorn --factory cinch.server.app:app_from_environment --reload \
		--reload-dir cinch --port 8000 & \
	NEXT_TELEMETRY_DISABLED=1 npm run dev -w frontend -- --port 3000 & \
	wait

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache node_modules sdk-ts/dist \
	frontend/.next frontend/out cinch/server/console \
	$(TS_CHECK)/node_modules docs/.next docs/out cinch/server/docs_site dist
