"""bench/portfolio.py: its synthetic universe and its in-process path, small (2 symbols x
20 steps); no timing is asserted, only that the cases run, trade and fill the table."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from sigmax.data import load_bars
from tests.script_module import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "portfolio.py"
STEPS = 20


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(SCRIPT, "bench_portfolio")


def test_synthetic_symbols_are_relabelled_rescaled_copies_on_one_timeline(
    bench: ModuleType,
) -> None:
    universe = bench.synthetic_universe(7, 50)
    assert [s.symbol for s in universe] == [f"SYN{k:03d}/USD" for k in range(7)]
    for bars in universe:
        assert len(bars) == 50
        assert np.array_equal(bars.ts, universe[0].ts)
        assert bars.close[0] == pytest.approx(100.0)
    # symbol 5 is the BTC series again, from another window, scaled
    btc = load_bars("bundled:BTC-USD-1h", None, "1h")
    first, again = universe[0], universe[5]
    assert np.allclose(first.close / first.close[0], btc.close[:50] / btc.close[0])
    assert not np.allclose(again.close, first.close)


def test_universe_files_load_back_under_their_synthetic_symbols(
    bench: ModuleType, tmp_path: Path
) -> None:
    universe = bench.synthetic_universe(2, 30)
    legs = bench.write_universe(universe, tmp_path)
    for (path, symbol), bars in zip(legs, universe, strict=True):
        loaded = load_bars(path, symbol, "1h")
        assert loaded.symbol == symbol == bars.symbol
        assert np.allclose(loaded.close, bars.close)
        assert np.array_equal(pd.to_datetime(loaded.ts).asi8, bars.ts)


def test_in_process_path_trades_every_symbol_and_fills_the_table(bench: ModuleType) -> None:
    settings = bench.bench_settings()
    warmup = 40  # enough for sma_cross's slow average (30 bars)
    universe = bench.synthetic_universe(2, warmup + STEPS)
    result, steps = bench.run_in_process(settings, universe, "sma_cross", warmup, skip=2)

    assert len(steps) == STEPS
    assert all([r.symbol for r in step] == ["SYN000/USD", "SYN001/USD"] for step in steps)
    assert len(result.cycle_ms) == len(result.decide_ms) == STEPS - 2
    assert result.reports == 2 * STEPS
    # sma_cross wants 1 unit while fast > slow: every symbol holding a long target has
    # sent an order for it, and every order out went through risk
    orders = [r for step in steps for r in step if r.order is not None]
    assert result.orders == len(orders) > 0
    assert all(r.verdict is not None for r in orders)
    assert {r.symbol for r in orders} <= {"SYN000/USD", "SYN001/USD"}

    one, _ = bench.run_in_process(settings, universe[:1], "sma_cross", warmup, skip=2)
    rows = bench.table_rows([one, result])
    assert [(r["symbols"], r["steps"]) for r in rows] == [(1, STEPS - 2), (2, STEPS - 2)]
    assert rows[0]["ratio_to_1"] == pytest.approx(1.0)
    assert rows[1]["per_symbol_ms"] == pytest.approx(rows[1]["p50_ms"] / 2)
    assert all(r["symbol_bars_per_s"] > 0 and r["p99_ms"] >= r["p50_ms"] for r in rows)
    table = bench.render(rows, "test")
    assert table.row_count == 2


def test_bad_flags_are_refused_naming_the_flag(bench: ModuleType) -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(["--symbols", "1,x"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--paths", "gpu"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--steps", "2", "--skip", "3"])
    args = bench.parse_args(["--symbols", "1,3", "--paths", "in-process"])
    assert args.symbols == [1, 3] and args.paths == ["in-process"]
