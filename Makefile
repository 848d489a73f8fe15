# opentier-explore — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help
.PHONY: help install lint test test-fast lab demo notebooks db-stop bench clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## set-up alone: .venv + the kit (editable) with its test tools

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opentier-explore needs Python 3.11 or newer: install it, or run make PYTHON=python3.11.")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lint: install ## ruff: lint and format check of the whole tree (CI runs it before the tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install ## the whole suite, notebooks included (nbval), against throw-away local PostgreSQL servers (2 workers)
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: install ## the tests that need no database (every test not marked integration; notebooks left out)
	$(BIN)/python -m pytest -m "not integration" tests

lab: install ## set up, start PostgreSQL, migrate, seed demo data if empty, open JupyterLab on notebooks/
	$(BIN)/opentier-explore lab

demo: install ## the headless twin of `make lab`: run every notebook into reports/*.html
	$(BIN)/opentier-explore report

notebooks: install ## re-execute the notebooks in place on a throw-away demo database (seed 42); commit the result
	$(BIN)/opentier-explore refresh

db-stop: ## stop the embedded PostgreSQL server
	@test -x $(BIN)/opentier-explore && $(BIN)/opentier-explore db stop || true

bench: install ## run the benchmarks on throw-away databases and rewrite bench/RESULTS.md (LARGE=1 adds the large profile; HUGE=1 runs the huge profile's benchmark alone, ~15 GB of disk)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.all $(if $(LARGE),--large) $(if $(HUGE),--huge)

clean: db-stop ## remove .venv, the local database and reports
	rm -rf $(VENV) .opentier reports
