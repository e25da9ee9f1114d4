# The whole set-up on a fresh machine with Python 3.11 and make:
#   make book   - build the executed site into _build/html
#   make test   - unit tests, then a clean full build with warnings as errors, then page checks
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv book test unit book-strict check-site times lab clean

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

# Incremental build: chapters whose source did not change come from the execution cache.
book: venv
	$(BIN)/jupyter-book build . --path-output . --builder html

# Unit tests (fast), then the book from a clean _build with warnings as errors, then the page checks.
test: unit book-strict check-site

unit: venv
	$(BIN)/python -m pytest -q tests --ignore=tests/test_site.py

book-strict: venv
	rm -rf _build
	$(BIN)/jupyter-book build . --path-output . --builder html -W -n --keep-going

check-site: venv
	$(BIN)/python -m pytest -q tests/test_site.py

# Execution time of each chapter in the last build (the README's table).
times: venv
	$(BIN)/python scripts/chapter_times.py

# The chapters as live notebooks: jupytext opens the MyST .md files as notebooks.
lab: venv
	$(BIN)/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) book/01_introduction.md

clean:
	rm -rf _build .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
