# SIGMAX developer commands. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job on the embedded defaults: the multi-agent strategy backtested on
# bundled real BTC/USD hourly candles; prints metrics, writes JSON and HTML reports.
run: setup
	$(BIN)/sigmax backtest --data bundled:BTC-USD-1h --symbol BTC/USD --timeframe 1h \
		--strategy sigmax --cash 10000 --fee-bps 10 --slippage-bps 0 \
		--json reports/backtest.json --report reports/backtest.html

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check sigmax actors serve_app tests bench scripts
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/backtest.py

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache
