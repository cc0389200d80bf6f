# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in mails and share links name the address `make run` serves (unless BASE_URL is set).
BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint bench install serve clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Three processes, stopped together by Ctrl-C: the web server (it leaves SQLite checkpoints to the
# scheduler, see DATABASES in enablement/settings.py), a task worker (search indexing,
# analytics refreshes) and the analytics scheduler (a refresh every ANALYTICS_REFRESH_SECONDS).
run: export BASE_URL := $(BASE_URL)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	@echo "Serving http://$(HOST):$(PORT) with a task worker and the analytics scheduler."
	@TASKS_BACKEND=database; export TASKS_BACKEND; \
	$(PY) manage.py db_worker --interval 1 & worker=$$!; \
	$(PY) manage.py analytics_scheduler & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null; wait' EXIT INT TERM; \
	SQLITE_WAL_AUTOCHECKPOINT=0 $(PY) manage.py runserver $(HOST):$(PORT)

# The second run is django-modelsearch's own SQLite backend suite against the admin's
# one-pass SQLite backend (search/admin_sqlite.py), under that suite's own settings.
test: install
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m pytest -q --ds=tests.modelsearch_suite.settings tests/modelsearch_suite

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data
