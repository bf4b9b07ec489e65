"""Backtest speed: SIGMAX's engine against backtrader on the same real data, one run.

Measures bars/second of
  * ``sma_cross`` through the SIGMAX engine (risk checks, paper exchange, ledger),
  * the full agent graph strategy ``sigmax`` through the same engine,
  * the same SMA-cross strategy in backtrader (the baseline),
and prints each ratio against backtrader. Best of N repeats per case, one core.

    .venv/bin/python bench/backtest.py [--repeats 5] [--data bundled:BTC-USD-1h]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backtest"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from test_backtest_parity import run_backtrader  # noqa: E402

from sigmax.backtest.config import BacktestConfig  # noqa: E402
from sigmax.backtest.engine import BacktestEngine  # noqa: E402
from sigmax.backtest.risk_profile import backtest_risk_config  # noqa: E402
from sigmax.config import get_settings  # noqa: E402
from sigmax.data import load_bars  # noqa: E402
from sigmax.execution import PaperExchange, PaperExchangeConfig  # noqa: E402
from sigmax.model import BarSeries  # noqa: E402
from sigmax.risk import RiskEngine  # noqa: E402
from sigmax.strategies import make_strategy  # noqa: E402

SMA = {"fast": "10", "slow": "30", "size": "0.5"}


def best_of(repeats: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def sigmax_run(bars: BarSeries, strategy: str, params: dict[str, str]) -> Callable[[], object]:
    def job() -> object:
        fee = Decimal(10)
        engine = BacktestEngine(
            BacktestConfig(cash=Decimal(10_000), progress=False),
            RiskEngine(backtest_risk_config(base=get_settings().risk)),
            PaperExchange(PaperExchangeConfig(maker_fee_bps=fee, taker_fee_bps=fee)),
        )
        return engine.run(bars, make_strategy(strategy, params, get_settings().graph))

    return job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="bundled:BTC-USD-1h")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    bars = load_bars(args.data)
    n = len(bars)
    cases = {
        "backtrader sma_cross (baseline)": lambda: run_backtrader(
            bars, 10, 30, 0.5, 10_000.0, 10.0
        ),
        "sigmax engine, sma_cross": sigmax_run(bars, "sma_cross", SMA),
        "sigmax engine, full agent graph": sigmax_run(bars, "sigmax", {}),
    }
    seconds = {
        name: best_of(args.repeats if "backtrader" not in name else max(1, args.repeats // 2), job)
        for name, job in cases.items()
    }
    baseline = n / seconds["backtrader sma_cross (baseline)"]

    table = Table(
        title=f"{n} bars of {args.data}, best of {args.repeats}, Python {platform.python_version()}"
    )
    for col in ("case", "seconds", "bars/s", "× backtrader"):
        table.add_column(col, justify="right" if col != "case" else "left")
    rows = {}
    for name, s in seconds.items():
        rate = n / s
        rows[name] = {"seconds": s, "bars_per_s": rate, "ratio": rate / baseline}
        table.add_row(name, f"{s:.4f}", f"{rate:,.0f}", f"{rate / baseline:.1f}")
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps({"bars": n, "data": args.data, "cases": rows}, indent=1))


if __name__ == "__main__":
    main()
