"""Backtest speed: SIGMAX's engine against backtrader and vectorbt on the same data, one run.

Measures bars/second (symbol-bars/second for the portfolio) of
  * ``sma_cross`` through the SIGMAX engine (risk checks, paper exchange, ledger),
  * the full agent graph strategy ``sigmax`` through the same engine, deciding at every
    bar and with the default settings (which decide on 4-hour windows),
  * a 10-symbol ``sma_cross`` portfolio through the portfolio engine (one account),
  * the same SMA-cross in backtrader (the first baseline, single symbol only),
  * the same SMA-cross orders in vectorbt's ``Portfolio.from_orders`` (the second
    baseline: target amounts, filled at the next bar's open, numba-compiled),
and prints each ratio against backtrader and against vectorbt. Before anything is
timed, SIGMAX's fills are checked against vectorbt's (and the single-symbol run's final
equity against backtrader's): the same trades, or the run stops.

The portfolio's symbols are SYNTHETIC (``SYN000/USD`` ...): real bundled price paths
under made-up names on one hourly timeline (see ``bench/portfolio.py``).

Best of N repeats per case (backtrader best of N/2), one core.

    .venv/bin/python bench/backtest.py [--repeats 5] [--data bundled:BTC-USD-1h] \
        [--symbols 10] [--portfolio-bars 4000] [--json OUT.json]
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

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backtest"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from portfolio import synthetic_universe  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from test_backtest_parity import run_backtrader  # noqa: E402

from sigmax.backtest.config import BacktestConfig  # noqa: E402
from sigmax.backtest.engine import BacktestEngine, BacktestResult  # noqa: E402
from sigmax.backtest.portfolio import PortfolioEngine, PortfolioLeg  # noqa: E402
from sigmax.backtest.risk_profile import backtest_risk_config  # noqa: E402
from sigmax.config import get_settings  # noqa: E402
from sigmax.data import load_bars  # noqa: E402
from sigmax.execution import PaperExchange, PaperExchangeConfig  # noqa: E402
from sigmax.model import BarSeries  # noqa: E402
from sigmax.risk import RiskEngine  # noqa: E402
from sigmax.risk.audit import AuditTrail  # noqa: E402
from sigmax.strategies import make_strategy  # noqa: E402

SMA = {"fast": "10", "slow": "30", "size": "0.5"}
PORTFOLIO_SMA = {"fast": "10", "slow": "30", "size": "1"}
FEE_BPS = 10
CASH = 10_000
BASELINE = "backtrader sma_cross (baseline)"
VECTORBT = "vectorbt sma_cross"


def best_of(repeats: int, job: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return min(times)


def _engine_parts() -> tuple[BacktestConfig, RiskEngine, PaperExchange]:
    fee = Decimal(FEE_BPS)
    return (
        BacktestConfig(cash=Decimal(CASH), progress=False),
        RiskEngine(backtest_risk_config(base=get_settings().risk), AuditTrail(deferred=True)),
        PaperExchange(PaperExchangeConfig(maker_fee_bps=fee, taker_fee_bps=fee)),
    )


def sigmax_run(
    bars: BarSeries, strategy: str, params: dict[str, str]
) -> Callable[[], BacktestResult]:
    def job() -> BacktestResult:
        engine = BacktestEngine(*_engine_parts())
        return engine.run(bars, make_strategy(strategy, params, get_settings().graph))

    return job


def sigmax_portfolio(universe: list[BarSeries]) -> Callable[[], BacktestResult]:
    def job() -> BacktestResult:
        graph = get_settings().graph
        legs = [PortfolioLeg(b, make_strategy("sma_cross", PORTFOLIO_SMA, graph)) for b in universe]
        return PortfolioEngine(*_engine_parts()).run(legs)

    return job


def vectorbt_orders(universe: list[BarSeries], params: dict[str, str]) -> Callable[[], object]:
    """vectorbt's ``from_orders`` with SIGMAX's order semantics: a target decided at a
    bar's close is sent only when it changes and fills at the next bar's open; one
    account (cash shared) when there are several symbols."""
    import vectorbt as vbt  # 2 s to import: only here, not in the benches that import this one

    graph = get_settings().graph
    index = pd.DatetimeIndex(pd.to_datetime(universe[0].ts, utc=True))
    sizes, opens, closes = {}, {}, {}
    for bars in universe:
        if not np.array_equal(bars.ts, universe[0].ts):
            raise ValueError("vectorbt baseline: the symbols must share one timeline")
        wants = make_strategy("sma_cross", params, graph).targets(bars)
        acted = np.concatenate([[0.0], wants[:-1]])  # the target in force at each open
        changed = np.concatenate([[False], np.diff(acted) != 0])
        sizes[bars.symbol] = np.where(changed, acted, np.nan)
        opens[bars.symbol], closes[bars.symbol] = bars.open, bars.close
    size, price, close = (pd.DataFrame(x, index=index) for x in (sizes, opens, closes))
    grouped = {"group_by": True, "cash_sharing": True} if len(universe) > 1 else {}

    def job() -> object:
        return vbt.Portfolio.from_orders(
            close,
            size=size,
            size_type="targetamount",
            price=price,
            fees=FEE_BPS / 10_000,
            init_cash=float(CASH),
            freq=universe[0].timeframe,
            **grouped,
        )

    return job


Fills = list[tuple[str, int, str, float, float, float]]  # symbol, ts, side, qty, price, fee


def _sigmax_fills(result: BacktestResult) -> Fills:
    return sorted(
        (
            e.fill.symbol,
            int(pd.Timestamp(e.fill.ts).value),
            e.fill.side.value,
            float(e.fill.qty),
            float(e.fill.price),
            float(e.fill.fee),
        )
        for e in result.entries
    )


def _vectorbt_fills(pf: object, universe: list[BarSeries]) -> Fills:
    records = pf.orders.records_arr  # type: ignore[attr-defined]
    columns = [b.symbol for b in universe]
    ts = universe[0].ts
    return sorted(
        (
            columns[int(r["col"])],
            int(ts[int(r["idx"])]),
            "buy" if int(r["side"]) == 0 else "sell",
            float(r["size"]),
            float(r["price"]),
            float(r["fees"]),
        )
        for r in records
    )


def check_same_trades(
    ours: BacktestResult, theirs: object, universe: list[BarSeries], what: str
) -> int:
    """Raise unless SIGMAX and vectorbt made the same fills (to 1e-6); their count."""
    mine, ref = _sigmax_fills(ours), _vectorbt_fills(theirs, universe)
    if len(mine) != len(ref):
        raise SystemExit(f"{what}: SIGMAX made {len(mine)} fills, vectorbt {len(ref)}")
    for a, b in zip(mine, ref, strict=True):
        if a[:3] != b[:3] or any(abs(x - y) > 1e-6 for x, y in zip(a[3:], b[3:], strict=True)):
            raise SystemExit(f"{what}: fills differ: SIGMAX {a}, vectorbt {b}")
    final = float(np.asarray(theirs.final_value()).ravel()[0])  # type: ignore[attr-defined]
    if abs(float(ours.final_equity) - final) > 1e-6:
        raise SystemExit(f"{what}: final equity {ours.final_equity} vs vectorbt {final}")
    return len(mine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="bundled:BTC-USD-1h")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--symbols", type=int, default=10, help="symbols in the portfolio case")
    parser.add_argument("--portfolio-bars", type=int, default=4000, help="bars per symbol")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    bars = load_bars(args.data)
    n = len(bars)
    universe = synthetic_universe(args.symbols, args.portfolio_bars)
    symbol_bars = args.symbols * args.portfolio_bars
    single_sma = sigmax_run(bars, "sma_cross", SMA)
    single_vbt = vectorbt_orders([bars], SMA)
    many_sma = sigmax_portfolio(universe)
    many_vbt = vectorbt_orders(universe, PORTFOLIO_SMA)

    # the same trades first: nothing is timed unless they agree
    fills = check_same_trades(single_sma(), single_vbt(), [bars], "sma_cross")
    _, bt_final = run_backtrader(bars, 10, 30, 0.5, float(CASH), float(FEE_BPS))
    if abs(float(single_sma().final_equity) - bt_final) > 1e-6:
        raise SystemExit(f"sma_cross: final equity differs from backtrader's {bt_final}")
    portfolio_fills = check_same_trades(many_sma(), many_vbt(), universe, "portfolio")

    cases: dict[str, tuple[Callable[[], object], int]] = {
        BASELINE: (lambda: run_backtrader(bars, 10, 30, 0.5, float(CASH), float(FEE_BPS)), n),
        VECTORBT: (single_vbt, n),
        "sigmax engine, sma_cross": (single_sma, n),
        "sigmax engine, agent graph deciding every bar": (
            sigmax_run(bars, "sigmax", {"cadence": "none"}),
            n,
        ),
        "sigmax engine, agent graph (default settings)": (sigmax_run(bars, "sigmax", {}), n),
        f"vectorbt {args.symbols}-symbol sma_cross": (many_vbt, symbol_bars),
        f"sigmax portfolio engine, {args.symbols}-symbol sma_cross": (many_sma, symbol_bars),
    }
    rates = {}
    for name, (job, count) in cases.items():
        repeats = max(1, args.repeats // 2) if name == BASELINE else args.repeats
        rates[name] = (best_of(repeats, job), count)
    baseline = n / rates[BASELINE][0]
    vectorbt_single = n / rates[VECTORBT][0]
    vectorbt_many = symbol_bars / rates[f"vectorbt {args.symbols}-symbol sma_cross"][0]

    table = Table(
        title=(
            f"{n} bars of {args.data} ({fills} fills, same as vectorbt and backtrader); "
            f"portfolio {args.symbols} synthetic symbols x {args.portfolio_bars} bars "
            f"({portfolio_fills} fills, same as vectorbt); best of {args.repeats}, "
            f"Python {platform.python_version()}"
        )
    )
    for col in ("case", "seconds", "bars/s", "× backtrader", "× vectorbt"):
        table.add_column(col, justify="right" if col != "case" else "left")
    rows = {}
    for name, (seconds, count) in rates.items():
        rate = count / seconds
        versus_vbt = rate / (vectorbt_many if "symbol" in name else vectorbt_single)
        rows[name] = {
            "seconds": seconds,
            "bars_per_s": rate,
            "ratio_backtrader": rate / baseline,
            "ratio_vectorbt": versus_vbt,
        }
        table.add_row(
            name, f"{seconds:.4f}", f"{rate:,.0f}", f"{rate / baseline:.1f}", f"{versus_vbt:.3f}"
        )
    Console().print(table)
    if args.json:
        doc = {"bars": n, "data": args.data, "fills": fills, "cases": rows}
        doc["portfolio"] = {"symbols": args.symbols, "bars": args.portfolio_bars}
        args.json.write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
