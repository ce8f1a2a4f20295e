# creditscore: `make run` serves the demo, `make test` runs the suite. Both set up .venv themselves.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test test-fast test-sqlite test-browser browser pdf-libs install install-dev migrate lint format check audit bench bench-full bench-run clean messages compilemessages

$(VENV)/bin/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: pdf-libs $(VENV)/.installed
install-dev: pdf-libs $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

## run: the demo on http://127.0.0.1:8000 (SQLite, in-process Celery, the bundled model, demo users)
run: migrate
	$(PY) manage.py activate_bundle --if-none
	$(PY) manage.py activate_default_policy --if-none
	$(PY) manage.py create_demo_users
	@echo "Log in at http://$(HOST):$(PORT)/ as officer, manager, auditor, modeladmin or policy (password: creditscore-demo)"
	$(PY) manage.py runserver $(HOST):$(PORT)

## test: the whole suite (SQLite by default; PostgreSQL when DATABASE_URL says so)
test: install-dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

## test-fast: the development loop: no browser, Redis, PostgreSQL-only or slow tests; reuses the test database
FAST_MARKS = not browser and not redis and not postgres and not slow
test-fast: install-dev
	$(PY) -m pytest -m "$(FAST_MARKS)" --reuse-db $(PYTEST_ARGS)

## test-sqlite: CI's run on SQLite after the whole suite on PostgreSQL: the fast set's tests that use the
## database (tests that use none are marked db_independent by tests/conftest.py and ran on PostgreSQL)
SQLITE_MARKS = $(FAST_MARKS) and not db_independent
test-sqlite: install-dev
	$(PY) -m pytest -m "$(SQLITE_MARKS)" $(PYTEST_ARGS)

## test-browser: the browser tests alone, in headless Chromium
test-browser: install-dev browser
	$(PY) -m pytest -m browser tests/browser $(PYTEST_ARGS)

## browser: Debian's Chromium and ChromeDriver for the browser tests (installed with apt when root)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null; \
	  else echo "The browser tests need Debian's chromium at /usr/bin/chromium: sudo apt-get install chromium chromium-driver"; exit 1; fi; \
	fi

## pdf-libs: Debian's Pango, HarfBuzz and a font, which WeasyPrint needs for the notices' PDF (installed with apt when root)
PDF_LIBS = libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
pdf-libs:
	@missing=$$(for p in $(PDF_LIBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "WARNING: notice PDFs (and their tests) need these Debian packages: sudo apt-get install $$missing"; fi; \
	fi

## messages: extract every translatable string of templates and Python into locale/fr/LC_MESSAGES/django.po
## (needs GNU gettext); then translate the new entries and run `make compilemessages`.
## compilemessages: compile django.po into the committed django.mo (`make run` never needs gettext).
messages: install-dev
	$(PY) manage.py makemessages -l fr --no-obsolete -i .venv -i tests -i bench -i var -i node_modules
compilemessages: install-dev
	$(PY) manage.py compilemessages -l fr -i .venv

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install-dev
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/bandit -q -c pyproject.toml -r creditscore scoring accounts --severity-level medium

## audit: known-vulnerability scan of the pinned requirements (needs the internet; not run in CI here)
audit: install-dev
	$(PIP) install --quiet pip-audit==2.10.1
	$(VENV)/bin/pip-audit -r requirements.txt -r requirements-dev.txt

## bench: every benchmark at a size that fits in about ten minutes (needs PostgreSQL and Redis; see bench/README.md)
## bench-full: the sizes the targets are set for (1M-row batch, 10M-row history: 20 to 45 minutes, by how busy the host is)
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_ENV = CELERY_BROKER_URL= REDIS_URL= LOG_LEVEL=WARNING
bench: install-dev
	$(MAKE) --no-print-directory bench-run BATCH_ROWS=200000 HISTORY_ROWS=1000000 EXPORT_ROWS=200000 API_SECONDS=15 SIMULATION_ROWS=200000 BACKTEST_ROWS=200000

bench-full: install-dev
	$(MAKE) --no-print-directory bench-run BATCH_ROWS=1000000 HISTORY_ROWS=10000000 EXPORT_ROWS=1000000 API_SECONDS=30 SIMULATION_ROWS=1000000 BACKTEST_ROWS=1000000

bench-run:
	@for db in creditscore_bench_batch creditscore_bench_swap creditscore_bench_misc creditscore_bench_monitoring; do \
	  $(PY) -c "import psycopg, sys; c = psycopg.connect('$(BENCH_PG)/postgres', autocommit=True); \
	    c.execute('DROP DATABASE IF EXISTS $$db WITH (FORCE)'); c.execute('CREATE DATABASE $$db')"; done
	@echo "== batch scoring ($(BATCH_ROWS) rows)"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/creditscore_bench_batch $(PY) bench/batch.py --rows $(BATCH_ROWS)
	@echo "== history ($(HISTORY_ROWS) decisions)"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/postgres $(PY) bench/history.py --rows $(HISTORY_ROWS) --export-rows $(EXPORT_ROWS)
	@echo "== API under load"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/postgres $(PY) bench/api.py --seconds $(API_SECONDS)
	@echo "== API, one and many applications per request"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/creditscore_bench_misc $(PY) bench/api_scoring.py
	@echo "== model hot swap"
	DATABASE_URL=$(BENCH_PG)/creditscore_bench_swap $(PY) bench/hotswap.py
	@echo "== monitoring reads"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/creditscore_bench_monitoring $(PY) bench/monitoring.py --rows 100000
	@echo "== realised performance (100000 outcomes)"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/creditscore_bench_monitoring $(PY) bench/realised_performance.py --rows 100000
	@echo "== offers search"
	$(PY) bench/offers.py --cases 200
	@echo "== loan outcomes in (10,000 rows per set)"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/postgres $(PY) bench/outcomes.py --rows 10000 --database creditscore_bench_outcomes
	@echo "== export memory"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/creditscore_bench_misc $(PY) bench/export_memory.py
	@echo "== credit policy simulation ($(SIMULATION_ROWS) decisions)"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/creditscore_bench_monitoring $(PY) bench/policy_simulation.py --rows $(SIMULATION_ROWS)
	@echo "== model backtest ($(BACKTEST_ROWS) decisions, a database of its own)"
	$(BENCH_ENV) DATABASE_URL=$(BENCH_PG)/postgres $(PY) bench/backtest.py --rows $(BACKTEST_ROWS)

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache .ruff_cache
