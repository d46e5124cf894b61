# DealScale Discord — `make run` starts the app, `make test` runs the tests. See README.md.

# Python 3.12: a pyenv install if there is one (pyenv's shim may point elsewhere), else python3.12 on PATH.
PYTHON312 ?= $(shell ls -d $(HOME)/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -1 | grep . \
	|| (python3.12 -c 'import sys' >/dev/null 2>&1 && command -v python3.12))
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The Discord sandbox's port, when `make run` starts it (no Discord application configured; docs/sandbox.md).
DISCORD_SANDBOX_PORT ?= 8001

# `make test` runs against the real services on this machine; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dealscale
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install run test migrate check clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON312)" || { echo "Python 3.12 is required: install it (e.g. 'pyenv install 3.12') or set PYTHON312=/path/to/python3.12"; exit 1; }
	$(PYTHON312) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Embedded mode unless DATABASE_URL / REDIS_URL are set: SQLite, a filesystem Celery broker, a file cache.
# Discord: the local sandbox unless DISCORD_CLIENT_ID / DISCORD_BOT_TOKEN are set (environment or .env).
# run_local migrates, loads the demo and hands over to honcho (Procfile.dev); Ctrl-C stops everything.
run: export DEBUG ?= true
run: install
	@mkdir -p .run/broker .run/cache
	@$(PY) manage.py run_local --port $(PORT) --discord-port $(DISCORD_SANDBOX_PORT)

test: install
	DEBUG=true SECRET_KEY=test-secret-key DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		CELERY_BROKER_URL=memory:// $(PY) -m pytest $(ARGS)

# Layers and cycles (import-linter), lint and format (ruff), types (mypy), Django's checks, migrations.
check: install
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=true $(VENV)/bin/mypy
	DEBUG=true $(PY) manage.py check
	DEBUG=true $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) .run staticfiles .pytest_cache

# Benchmarks: PostgreSQL and Redis on this machine (BENCH_PG, BENCH_REDIS_URL), wrk for the HTTP load
# (installed here when missing, with apt-get). Not part of `make test`. See bench/README.md.
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/2
BENCH_ARGS ?=
.PHONY: bench bench-tools bench-leaderboard

# Every benchmark, the mixed load (1 gunicorn, then 2 of every process), one table of figures and targets.
bench: install bench-tools
	BENCH_PG=$(BENCH_PG) BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/run_all.py $(BENCH_ARGS)

bench-tools:
	@command -v wrk >/dev/null || apt-get install -y wrk || { echo "bench needs wrk: apt-get install -y wrk"; exit 1; }

bench-leaderboard: install bench-tools
	$(PY) bench/leaderboard_recalc.py --users 100000
	$(PY) bench/leaderboard_api.py --users 100000
