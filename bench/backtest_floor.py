"""The floor under a SIGMAX ``sma_cross`` backtest: the order path with nothing but the
risk engine and the exact ledger in it, against the engine and backtrader in one run.

The bench's ``sma_cross`` (``bench/backtest.py``: 20,111 bundled BTC/USD hourly bars,
776 orders) runs three ways, one core:

* ``backtrader``, the baseline;
* the SIGMAX engine, as shipped;
* a bare loop that does only what no engine with SIGMAX's semantics can skip: mark
  equity at every bar, keep it as the equity curve and show it to the risk engine;
  size each order from the exact (Decimal) books; have the risk engine check it (all
  its rules); fill it at the next open with the paper exchange's fee and slippage;
  book the fill in the ``Ledger`` and show it to the risk engine's fill monitors. It
  keeps no order state machine, no order events, no exchange, no decision records and
  no result: none of the records a backtest hands back.

The bare loop runs three times: with the risk engine; with its pre-trade checks but not
its monitors (equity breakers, fill monitors); and with the risk engine left out, to
show what the risk engine costs in it. Before anything is timed, each bare loop must
make exactly the engine's fills (time, side, and quantity, price and fee as Decimals)
and its final equity; the run stops otherwise. The bare loop handles only market
orders without a participation cap, price tick or market impact (the bench's
exchange); it is a measuring stick, not a second engine.

    .venv/bin/python bench/backtest_floor.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backtest"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from backtest import CASH, FEE_BPS, SMA, _engine_parts, best_of, sigmax_run  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from test_backtest_parity import run_backtrader  # noqa: E402

from sigmax.config import get_settings  # noqa: E402
from sigmax.data import load_bars  # noqa: E402
from sigmax.execution import PaperExchangeConfig  # noqa: E402
from sigmax.ledger import Ledger  # noqa: E402
from sigmax.model import BarSeries, Fill, Liquidity, OrderRequest, to_decimal, ts_from_ns  # noqa: E402
from sigmax.risk import RiskEngine  # noqa: E402
from sigmax.strategies import make_strategy  # noqa: E402
from sigmax.strategies.base import TargetUnit  # noqa: E402
from sigmax.strategies.validation import validated_targets  # noqa: E402
from sigmax.trading.planner import (  # noqa: E402
    SizingRules,
    plan_order,
    risk_context,
    target_qty,
)

_BPS = Decimal(10_000)
BARE = {  # (risk checks orders, risk monitors bars and fills): the case's name
    (True, True): "bare order path: risk engine and ledger only",
    (True, False): "bare order path, risk checks without its monitors",
    (False, False): "bare order path without the risk engine",
}
Trade = tuple[datetime, str, Decimal, Decimal, Decimal]  # fill time, side, qty, price, fee


def _taker_price(config: PaperExchangeConfig, open_: Decimal, sign: int) -> Decimal:
    """The paper exchange's market fill price at ``open_`` (no impact, no tick)."""
    bps = config.slippage_bps + config.spread_bps / 2
    return open_ * (1 + sign * bps / _BPS)


def bare_run(bars: BarSeries, checks: bool, monitors: bool) -> tuple[list[Trade], Decimal]:
    """``sma_cross`` through the bare order path, its trades and final equity; the risk
    engine checks each order when ``checks`` and sees each bar's equity and each fill
    when ``monitors``."""
    config, risk_engine, exchange = _engine_parts()
    costs = exchange.config
    if costs.max_participation is not None or costs.price_tick is not None:
        raise SystemExit("bare loop: only an exchange without a cap or a price tick")
    if costs.impact_bps_per_participation != 0:
        raise SystemExit("bare loop: only an exchange without market impact")
    checker = risk_engine if checks else None
    risk = risk_engine if monitors else None
    strategy = make_strategy("sma_cross", SMA, get_settings().graph)
    wants = validated_targets(strategy, bars).tolist()
    opens, closes, times = bars.open.tolist(), bars.close.tolist(), bars.ts.tolist()
    symbol, step, sizing = bars.symbol, times[1] - times[0], config.sizing_rules
    ledger = Ledger(config.cash)
    trades: list[Trade] = []
    cash, qty, acted = float(config.cash), 0.0, 0.0
    pending: tuple[OrderRequest, Decimal] | None = None
    i, n = 0, len(wants)
    curve = np.empty(n)  # the equity curve every backtest hands back
    while i < n:
        if pending is not None:  # decided at the last close: fills at this open
            request, decided_at = pending
            pending = None
            open_ = to_decimal(opens[i])
            price = _taker_price(costs, open_, request.side.sign)
            fee = costs.taker_fee_bps / _BPS * request.qty * price
            cid = request.client_order_id
            fill = Fill(
                f"{cid}-1", cid, symbol, request.side, request.qty, price, fee,
                ts_from_ns(times[i]), Liquidity.TAKER, decided_at, open_,
            )  # fmt: skip
            entry = ledger.apply(fill)
            if risk is not None:
                risk.on_fill(fill)
            trades.append((fill.ts, request.side.value, request.qty, price, fee))
            cash, qty = float(entry.cash_after), float(entry.position_after)
        curve[i] = equity = cash + qty * closes[i]
        if risk is not None:
            risk.on_equity(times[i], equity)
        want = wants[i]
        if want != acted:
            acted = want
            mark, ts = closes[i], ts_from_ns(times[i] + step)  # decided at the close
            pending = _decide(symbol, strategy.unit, want, mark, ts, ledger, checker, sizing, i)
            i += 1
            continue
        end = i + 1  # a quiet run: no order, one target
        while end < n and wants[end] == acted:
            end += 1
        marks = [cash + qty * c for c in closes[i + 1 : end]]
        curve[i + 1 : end] = marks
        if risk is not None:
            risk.on_equities(times[i + 1 : end], marks, increasing=True)
        i = end
    return trades, ledger.equity({symbol: to_decimal(closes[-1])})


def _decide(
    symbol: str,
    unit: TargetUnit,
    want: float,
    close: float,
    ts: datetime,
    ledger: Ledger,
    risk: RiskEngine | None,
    sizing: SizingRules,
    bar: int,
) -> tuple[OrderRequest, Decimal] | None:
    """The order that moves the book to ``want`` at a close, if risk approves it."""
    mark = to_decimal(close)
    held = ledger.position(symbol).qty
    equity = float(ledger.equity({symbol: mark}))
    wanted = target_qty(want, unit, equity, close, sizing.qty_step)
    request = plan_order(f"bt-{bar}", symbol, held, wanted, mark, sizing)
    if request is None:
        return None
    if risk is None:
        return request, mark
    verdict = risk.check(request, risk_context(ts, symbol, mark, held, equity))
    return (request, mark) if verdict.approved else None


def _engine_trades(bars: BarSeries) -> tuple[list[Trade], Decimal]:
    result = sigmax_run(bars, "sma_cross", SMA)()
    trades = [
        (e.fill.ts, e.fill.side.value, e.fill.qty, e.fill.price, e.fill.fee) for e in result.entries
    ]
    return trades, result.final_equity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bars = load_bars("bundled:BTC-USD-1h")
    n = len(bars)

    engine_trades, engine_final = _engine_trades(bars)
    for checks, monitors in BARE:
        trades, final = bare_run(bars, checks, monitors)
        if trades != engine_trades or final != engine_final:
            raise SystemExit(f"bare loop {BARE[checks, monitors]!r} differs from the engine")

    cases: dict[str, Callable[[], object]] = {
        "backtrader sma_cross (baseline)": lambda: run_backtrader(
            bars, 10, 30, 0.5, float(CASH), float(FEE_BPS)
        ),
        "sigmax engine, sma_cross": sigmax_run(bars, "sma_cross", SMA),
    }
    for (checks, monitors), name in BARE.items():
        cases[name] = partial(bare_run, bars, checks, monitors)
    seconds = {
        name: best_of(max(1, args.repeats // 2) if "baseline" in name else args.repeats, job)
        for name, job in cases.items()
    }
    baseline = seconds["backtrader sma_cross (baseline)"]
    orders = len(engine_trades)
    table = Table(
        title=(
            f"sma_cross, {n} bars, {orders} orders (the same fills and final equity "
            f"{engine_final:.2f} in the engine and every bare loop); best of {args.repeats}"
        )
    )
    for col in ("case", "ms", "µs per order", "× backtrader"):
        table.add_column(col, justify="left" if col == "case" else "right")
    for name, s in seconds.items():
        table.add_row(name, f"{s * 1e3:.1f}", f"{s / orders * 1e6:.1f}", f"{baseline / s:.1f}")
    Console(width=120).print(table)
    print(f"50x backtrader is {baseline / 50 * 1e3:.1f} ms: {baseline / 50 / orders * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
