# spendcast: `make loadtest` and `make test` are the quick start; both set everything up in .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install model serve loadtest check fast test lint typecheck unit compare bench clean
# pytest-xdist workers for `make unit`: a running test keeps about half a core busy (it mostly
# waits on a timed load), so 3 left a quarter of 2 cores idle. On this 2-core machine (docs/ci.md),
# images kept: 15.2 min of pytest on 3, 12.2 on 4, 10.1 on 5; a fresh clone on 5 (images built
# during the run, beside the other tests): 12.9. CI takes 4, a margin against a slower machine's
# races; `make test WORKERS=5` on a machine that is yours alone.
WORKERS ?= 4

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(INSTALLED) ## Create .venv and install spendcast with every extra and its dev tools

model: $(INSTALLED) ## Train the model unless one is already saved in models/
	$(BIN)/spendcast train --if-missing

serve: model ## Serve the API on http://127.0.0.1:8000 (docs at /docs)
	$(BIN)/spendcast serve

loadtest: model ## Start the API, run a 30 s load test, print the results, write the report
	$(BIN)/python scripts/quickstart_loadtest.py

lint: $(INSTALLED) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALLED) ## mypy (strict)
	$(BIN)/mypy

unit: $(INSTALLED) ## pytest only: every test, on $(WORKERS) xdist workers
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup --no-loadscope-reorder

# lint and mypy run beside the fast tests, not before them: mypy is single-threaded and, cold,
# as long as a third of the tests' CPU. Each target's output is printed whole when it ends.
check: $(INSTALLED) ## The one-minute tier: lint, types and the fast tests (not `slow`), side by side
	@$(MAKE) --no-print-directory -j 3 --output-sync=target lint typecheck fast

fast: $(INSTALLED) ## pytest only: the fast tests (not `slow`), on 2 xdist workers
	$(BIN)/pytest -m "not slow" -n 2 --dist loadgroup --no-loadscope-reorder -q

test: lint typecheck unit ## Everything CI runs: lint, types, every test

compare: model ## The lab's before/after: lab baseline vs spendcast, report in runs/
	$(BIN)/python scripts/lab_compare.py

bench: model ## Throughput benchmark (wrk): see bench/README.md
	$(BIN)/python -m bench throughput

clean: ## Remove runs, local databases, logs and journals (keeps .venv and models)
	rm -rf runs journal spendcast.db spendcast.db-* api_logfile.log
