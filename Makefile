# make run  - set up the environment (first time only) and start the dashboard on localhost
# make check - the fast tier while editing: ruff, then every test not marked slow (no server, browser,
#              Ray cluster, worker process or real training); within two minutes on a quiet 2-core machine
# make test - set up the environment and the browser, then run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run check test lint bench browser graphviz install clean

install: $(STAMP)

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { apt-get update -qq && apt-get install -y -qq nginx; }

graphviz:  # Graphviz's dot draws the network diagrams
	@command -v dot >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq graphviz; }

run: install graphviz
	$(BIN)/python -m cnnlab dashboard

check: install graphviz
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow"

test: install browser graphviz
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_analysis.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_dashboard.py
	$(BIN)/python benchmarks/bench_see.py
	$(BIN)/python benchmarks/bench_runner.py
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/fuzz.py
	$(BIN)/python benchmarks/bench_sweep.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
