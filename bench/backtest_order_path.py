"""Where one order's time goes in a SIGMAX backtest: each stage of the order path, timed.

Runs the bench's ``sma_cross`` (``bench/backtest.py``: 20,111 bundled BTC/USD hourly bars,
776 orders) twice in one process: plain, as the baseline, then with a timer around each
stage of the order path (risk check, exchange submit and fill, ledger, risk's fill
monitors, the engine's quiet runs). Prints each stage's total, its time per call and its
share of the plain run. The timers cost about half a microsecond a call, so the stages'
shares of the timed run add up to a little more than the plain run. Best of N each.

    .venv/bin/python bench/backtest_order_path.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest import SMA, sigmax_run  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from sigmax.backtest import engine as backtest_engine  # noqa: E402
from sigmax.data import load_bars  # noqa: E402
from sigmax.execution.paper import PaperExchange  # noqa: E402
from sigmax.ledger import Ledger  # noqa: E402
from sigmax.risk.engine import RiskEngine  # noqa: E402

# (owner, method, what it is); engine stages first, the parts they call after
STAGES: tuple[tuple[Any, str, str], ...] = (
    (backtest_engine._Run, "_rebalance", "engine: decide an order (all of it)"),
    (backtest_engine._Run, "_fill", "engine: fill at the next open (all of it)"),
    (backtest_engine._Run, "_quiet_loop", "engine: a quiet run, plain loop"),
    (backtest_engine._Run, "_quiet_run", "engine: a quiet run, numpy"),
    (RiskEngine, "check", "risk: pre-trade check"),
    (PaperExchange, "submit", "exchange: submit"),
    (PaperExchange, "on_bar", "exchange: match a bar"),
    (Ledger, "apply", "ledger: book a fill"),
    (RiskEngine, "on_fill", "risk: fill monitors"),
    (RiskEngine, "on_equity", "risk: one bar's equity"),
)

Totals = dict[str, list[float]]  # stage -> [seconds, calls]


def _timed(method: Callable[..., Any], label: str, totals: Totals) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            entry = totals[label]
            entry[0] += time.perf_counter() - start
            entry[1] += 1

    return timed


def best_run(job: Callable[[], object], repeats: int, totals: Totals | None = None) -> float:
    """The shortest of ``repeats`` runs; ``totals`` keeps that run's stage times."""
    best, kept = float("inf"), {}
    for _ in range(repeats):
        if totals is not None:
            totals.clear()
        start = time.perf_counter()
        job()
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best = elapsed
            kept = {k: list(v) for k, v in (totals or {}).items()}
    if totals is not None:
        totals.clear()
        totals.update(kept)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bars = load_bars("bundled:BTC-USD-1h")
    job = sigmax_run(bars, "sma_cross", SMA)
    orders = len(job().orders)  # also warms the caches
    plain = best_run(job, args.repeats)

    totals: Totals = defaultdict(lambda: [0.0, 0])
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in STAGES]
    try:
        for owner, name, label in STAGES:
            setattr(owner, name, _timed(getattr(owner, name), label, totals))
        timed = best_run(job, args.repeats, totals)
    finally:
        for owner, name, method in originals:
            setattr(owner, name, method)

    table = Table(
        title=(
            f"sma_cross over {len(bars)} bars, {orders} orders: plain run {plain * 1e3:.1f} ms "
            f"({plain / orders * 1e6:.1f} µs per order), timed run {timed * 1e3:.1f} ms; "
            f"best of {args.repeats}"
        )
    )
    for col in ("stage", "ms", "calls", "µs per call", "µs per order", "share of plain run"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for _, _, label in STAGES:
        seconds, calls = totals.get(label, [0.0, 0])
        if not calls:
            continue
        table.add_row(
            label,
            f"{seconds * 1e3:.2f}",
            f"{int(calls)}",
            f"{seconds / calls * 1e6:.2f}",
            f"{seconds / orders * 1e6:.2f}",
            f"{seconds / plain:.0%}",
        )
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
