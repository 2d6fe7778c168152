# GenAuth Pipeline. `make run` serves the console and API; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first interpreter found that is Python 3.12 or newer (or PYTHON=/path/to/python3).
PYTHON ?= $(shell for c in python3.13 python3.12 python3 \
	$$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 \
	/usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12; do \
	if $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
	command -v $$c; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
# Local development defaults; production sets DEBUG=False with its own keys.
DEV_ENV := DEBUG=$${DEBUG:-True}
ASSETS_STAMP := static/vendor/.built
IDP := examples/idp
PORT ?= 8000

.PHONY: help setup venv assets migrate run test test-idp lint bench ensure-chromium

help:
	@echo "make run    set up and serve on http://127.0.0.1:$(PORT) (with a Celery worker; PORT=, DATABASE_URL= honoured)"
	@echo "make test   set up and run the whole test suite (the reference IdP's too: make test-idp)"
	@echo "make lint   ruff, mypy and the import contracts (lint-imports)"

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.12+ not found; pass PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -e clients/python
	@touch $@

venv: $(VENV)/.installed

# The editor bundle (Monaco and charts) is built from frontend/ into a git-ignored folder.
$(ASSETS_STAMP): $(wildcard frontend/package.json frontend/package-lock.json frontend/*.mjs frontend/src/*)
	@if [ -f frontend/package.json ]; then \
		cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	fi
	@mkdir -p static/vendor && touch $@

assets: $(ASSETS_STAMP)

migrate: venv
	@$(DEV_ENV) $(PY) manage.py migrate --noinput -v0

setup: venv assets migrate

run: setup
	@$(DEV_ENV) $(PY) manage.py seed_demo --port $(PORT)
	@echo "Serving on http://127.0.0.1:$(PORT) (console at /admin/, API at /api/v1/)"
	@trap 'trap - EXIT INT TERM; kill 0' EXIT INT TERM; \
	$(DEV_ENV) $(VENV)/bin/celery -A genauth_pipeline worker -B --concurrency=1 --loglevel=warning & \
	$(DEV_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The browser tests drive Debian's Chromium; installed here when missing and possible.
ensure-chromium:
	@bash scripts/ensure_chromium.sh

# The reference IdP's venv comes first: the end-to-end browser test runs it as a process.
test: venv assets ensure-chromium $(IDP)/.venv/.installed
	@$(DEV_ENV) $(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing." >&2; exit 1; fi; exit $$status
	@$(MAKE) --no-print-directory test-idp

# The reference IdP (examples/idp) has its own venv and dependencies; its tests take seconds.
$(IDP)/.venv/.installed: $(IDP)/requirements.txt clients/python/pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Python 3.12+ not found; pass PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@test -x $(IDP)/.venv/bin/python || $(PYTHON) -m venv $(IDP)/.venv
	$(IDP)/.venv/bin/python -m pip install --quiet -r $(IDP)/requirements.txt -e clients/python
	@touch $@

test-idp: $(IDP)/.venv/.installed
	@cd $(IDP) && .venv/bin/python -m pytest -q

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@$(DEV_ENV) $(VENV)/bin/mypy apps genauth_pipeline
	$(VENV)/bin/mypy --config-file clients/python/pyproject.toml clients/python/genauth_pipeline_client
	$(VENV)/bin/lint-imports

bench: setup
	@$(DEV_ENV) $(PY) benchmarks/sandbox.py
