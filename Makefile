# Every target sets up .venv first when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The suite runs its database tests on SQLite and, when this URL is set, on PostgreSQL too.
CREDENCE_TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export CREDENCE_TEST_DATABASE_URL

.PHONY: setup run test lint bench bench-quality bench-served bench-scale bench-http bench-store-cpu bench-store-growth bench-rescore bench-scoring bench-console bench-numeric bench-perturbed clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

run: setup
	$(BIN)/credence migrate
	$(BIN)/credence serve

# Work-stealing: the few long tests (the change feed's 4,000 writes, the fuzzers) go
# first to a free worker instead of queueing behind a worker's share.
test: setup
	$(BIN)/pytest -n auto --maxprocesses 4 --dist worksteal

lint: setup
	$(BIN)/ruff check scoring service tests bench integrations
	$(BIN)/ruff format --check scoring service tests bench integrations
	$(BIN)/mypy scoring service bench tests integrations

bench: bench-quality bench-perturbed bench-served bench-scale bench-http bench-store-cpu bench-store-growth bench-rescore bench-console bench-numeric

bench-quality: $(VENV)/.bench-installed
	$(BIN)/python -m bench.quality

bench-perturbed: $(VENV)/.bench-installed
	$(BIN)/python -m bench.perturbed

bench-served: $(VENV)/.bench-installed
	$(BIN)/python -m bench.served

bench-scale: $(VENV)/.bench-installed
	$(BIN)/python -m bench.scale

bench-http: setup
	$(BIN)/python -m bench.http

bench-store-cpu: setup
	$(BIN)/python -m bench.store_cpu

bench-store-growth: setup
	$(BIN)/python -m bench.store_growth

bench-rescore: setup
	$(BIN)/python -m bench.rescore

bench-robustness: setup
	$(BIN)/python -m bench.robustness

bench-scoring: setup
	$(BIN)/python -m bench.scoring_speed

bench-console: setup
	$(BIN)/python -m bench.console

bench-numeric: setup
	$(BIN)/python -m bench.numeric

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
