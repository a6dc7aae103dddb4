# bookdesk — `make demo` runs the whole system, `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

# PostgreSQL for the second test run: TEST_DATABASE_URL, or the local server if it answers.
PG_URL ?= $(or $(TEST_DATABASE_URL),postgres://postgres@127.0.0.1:5432/bookdesk)

.PHONY: demo test lint typecheck pytest pytest-sqlite pytest-postgres chromium bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@ $(VENV)/.installed-app

demo: $(VENV)/.installed-app
	$(BIN)/bookdesk demo

test: $(VENV)/.installed-dev chromium lint typecheck pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: pytest-sqlite pytest-postgres

pytest-sqlite: $(VENV)/.installed-dev
	@echo "== pytest on SQLite =="
	env -u DATABASE_URL $(BIN)/pytest -n 2 --dist loadfile

pytest-postgres: $(VENV)/.installed-dev
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect(sys.argv[1].rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" "$(PG_URL)" 2>/dev/null; then \
		echo "== pytest on PostgreSQL ($(PG_URL)) =="; \
		DATABASE_URL="$(PG_URL)" $(BIN)/pytest -n 2 --dist loadfile; \
	elif [ -n "$(TEST_DATABASE_URL)" ]; then \
		echo "TEST_DATABASE_URL is set but PostgreSQL does not answer at $(PG_URL)"; exit 1; \
	else \
		echo "== PostgreSQL not reachable at $(PG_URL): suite ran on SQLite only =="; \
	fi

# The browser tests drive Debian's Chromium; install it when we can (root), else say how.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else echo "Chromium is missing: sudo apt-get install -y chromium"; exit 1; fi; }

bench: $(VENV)/.installed-dev
	@for b in bench/bench_*.py; do echo "== $$b =="; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var test-output
