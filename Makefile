# Quick start: `make demo`, `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint unit smoke bench reliability clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,replay]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vba demo

test: lint unit smoke

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/python -m pytest

# Install the wheel (not editable) into a fresh venv and run the demo from elsewhere,
# so that missing package data is caught. Without extras: the demo is the server's path,
# and it must run on a light install (no Dask, no matplotlib).
smoke: $(STAMP)
	rm -rf $(VENV)/smoke && $(PYTHON) -m venv $(VENV)/smoke
	$(VENV)/smoke/bin/python -m pip install --quiet .
	cd /tmp && $(CURDIR)/$(VENV)/smoke/bin/vba demo > /dev/null && echo "smoke: vba demo ran from an installed wheel"
	cd /tmp && $(CURDIR)/$(VENV)/smoke/bin/python $(CURDIR)/tests/smoke_pages.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_clearing.py
	$(BIN)/python benchmarks/bench_intake.py
	$(BIN)/python benchmarks/bench_schedules.py
	$(BIN)/python benchmarks/bench_disaggregate.py
	$(BIN)/python benchmarks/bench_rebacking.py
	$(BIN)/python benchmarks/bench_settlement.py
	$(BIN)/python benchmarks/bench_replay.py

# Not part of `make test` (about ten minutes): hostile input, kill -9 trials, races and
# schemathesis on SQLite and PostgreSQL (VBA_TEST_POSTGRES_URL, else the local default);
# one table of figures, written to docs/reliability.md. Fails on any 5xx or lost bid.
reliability: $(STAMP)
	PYTHONPATH=$(CURDIR) $(BIN)/python tests/reliability/run.py --write docs/reliability-figures.md

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
