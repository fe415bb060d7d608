# Two commands do all the set-up on a machine with only Python 3.11 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/busconsole demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

# Peers (websocat, wscat, mitmdump) go under benchmarks/.peers; a missing one is skipped with a
# line saying why. BENCH picks scripts: make bench BENCH="benchmarks/ingest.py benchmarks/proxy.py"
BENCH ?= $(filter-out benchmarks/peers.py,$(wildcard benchmarks/*.py))
bench: $(VENV)/.installed-dev
	-$(BIN)/python benchmarks/peers.py
	for b in $(BENCH); do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
