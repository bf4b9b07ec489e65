# SIGMAX developer commands. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup web browser run backtest test lint bench clean

# Everything the tests need: Python packages, the dashboard build, Chromium.
setup: $(STAMP) web browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The web dashboard (served by the API at /): npm ci, then the Vite build into web/dist.
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.js
web: web/dist/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run build

# Debian's Chromium for the dashboard's browser tests (a fresh machine has none).
# Root here and in .ci/run; sudo on a CI runner that is not root.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	test -x /usr/bin/chromium || ($(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver)

# The main job on the embedded defaults: a finite paper-trading session of a portfolio.
# 1,000 hourly steps of real bars of five coins (BTC hourly; ETH, LTC, XRP and EOS
# resampled from 30 minutes) are replayed at full speed through the Ray actors (agents,
# decision graph, risk, execution, portfolio) in one account; orders and fills persisted
# in an embedded PostgreSQL under ~/.sigmax; ends with a summary of the account and of
# every symbol, and an HTML report.
RUN_LEGS := --data bundled:BTC-USD-1h --symbol BTC/USD --data bundled:ETH-USD-30m --symbol ETH/USD \
	--data bundled:LTC-USD-30m --symbol LTC/USD --data bundled:XRP-USD-30m --symbol XRP/USD \
	--data bundled:EOS-USD-30m --symbol EOS/USD
run: $(STAMP) web
	$(BIN)/sigmax paper $(RUN_LEGS) --timeframe 1h \
		--bars 1000 --json reports/paper.json --report reports/paper.html

# The multi-agent strategy backtested over all 20,111 bundled hourly bars.
backtest: $(STAMP)
	$(BIN)/sigmax backtest --data bundled:BTC-USD-1h --symbol BTC/USD --timeframe 1h \
		--strategy sigmax --cash 10000 --fee-bps 10 --slippage-bps 0 \
		--json reports/backtest.json --report reports/backtest.html

# The whole suite, with line coverage of sigmax, actors and serve_app measured in the
# test process (code run inside Ray worker processes is not measured); fails under
# COVERAGE_MIN percent (the whole suite measured 88 % on 2026-11-27). PYTEST_ARGS
# adds pytest options (CI: --cov-report=xml).
COVERAGE_MIN ?= 80
test: setup
	$(BIN)/pytest --cov=sigmax --cov=actors --cov=serve_app --cov-report=term:skip-covered \
		--cov-fail-under=$(COVERAGE_MIN) $(PYTEST_ARGS)

PY_SOURCES := sigmax actors serve_app tests bench scripts examples
lint: $(STAMP)
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/mypy
	$(BIN)/bandit -r sigmax actors serve_app -ll -q
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/backtest.py

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache web/node_modules web/dist
