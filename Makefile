# Kehu: `make run` (start it) and `make test` (test it), both from a fresh clone.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
VENDOR := kehu/static/vendor
PYTEST_ARGS ?=

.PHONY: help setup deps vendor messages migrate run demo test test-sqlite test-postgres bench lint typecheck fmt check clean

help:
	@echo "make run    - set up, load the demo data once, serve at http://127.0.0.1:8000"
	@echo "make test   - set up and run the whole test suite (SQLite; PostgreSQL too with KEHU_TEST_DATABASE_URL)"
	@echo "make bench  - generate the benchmark data set and print figures and ratios"
	@echo "make lint typecheck fmt"

$(VENV)/.stamp: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.lock
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/.stamp: node_modules/.stamp
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bootstrap-icons/fonts $(VENDOR)/htmx $(VENDOR)/echarts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map $(VENDOR)/bootstrap/
	cp node_modules/bootstrap-icons/font/bootstrap-icons.min.css $(VENDOR)/bootstrap-icons/
	cp node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff node_modules/bootstrap-icons/font/fonts/bootstrap-icons.woff2 $(VENDOR)/bootstrap-icons/fonts/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	touch $@

deps: $(VENV)/.stamp
vendor: $(VENDOR)/.stamp

messages: deps
	@command -v msgfmt >/dev/null || { echo "msgfmt missing: apt-get install gettext"; exit 1; }
	$(PY) -m kehu compilemessages -v0 --ignore=.venv --ignore=node_modules --ignore=var

migrate: deps
	$(PY) -m kehu migrate --noinput -v0

setup: deps vendor messages migrate

demo: setup
	$(PY) -m kehu demo

run: demo
	$(PY) -m kehu serve

test: setup test-sqlite test-postgres

test-sqlite:
	KEHU_ENV=test $(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

test-postgres:
	@if [ -n "$$KEHU_TEST_DATABASE_URL" ]; then \
		echo "== PostgreSQL: $$KEHU_TEST_DATABASE_URL"; \
		KEHU_ENV=test DATABASE_URL="$$KEHU_TEST_DATABASE_URL" $(PY) -m pytest -q -n 2 $(PYTEST_ARGS); \
	else echo "(KEHU_TEST_DATABASE_URL not set: PostgreSQL tests skipped)"; fi

bench: setup
	$(PY) -m bench

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: deps
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: deps
	$(VENV)/bin/mypy kehu

check: lint typecheck

clean:
	rm -rf $(VENV) node_modules $(VENDOR)
