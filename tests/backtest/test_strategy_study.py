"""bench/strategy_study.py: its windows, its per-set run and the aims it reports."""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from sigmax.data.timeframes import DAY_NS
from sigmax.model import BarSeries
from tests.script_module import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "strategy_study.py"


@pytest.fixture(scope="module")
def study() -> ModuleType:
    return load_script(SCRIPT, "strategy_study")


def _daily(n: int) -> BarSeries:
    ts = np.arange(n, dtype=np.int64) * DAY_NS
    one = np.full(n, 100.0)
    return BarSeries("T/USD", "1d", ts, one, one, one, one, one)


def test_windows_cover_every_bar_once(study: ModuleType) -> None:
    edges = study.window_edges(_daily(400), 100.0)
    assert edges == [(0, 100), (100, 200), (200, 300), (300, 400)]
    # a short tail (under a quarter of a window) joins the window before
    assert study.window_edges(_daily(420), 100.0)[-1] == (300, 420)
    assert study.window_edges(_daily(430), 100.0)[-1] == (400, 430)


def test_one_set_runs_and_the_aims_follow_the_numbers(study: ModuleType) -> None:
    result = study.run_set("bitstamp-ETH-USD-1d", 182.0)
    whole = result["whole"]
    assert set(whole) == {"buy-and-hold", *study.STRATEGIES}
    hold = whole["buy-and-hold"]
    assert hold["max_drawdown"] < -0.5  # ETH fell over 90 % from its 2018 top
    assert sum(w["last"] >= w["first"] for w in result["windows"]) == len(result["windows"])
    verdict = study.aims([result], "sigmax")
    (row,) = verdict["sets"]
    s = whole["sigmax"]
    assert row["dd_ok"] == (abs(s["max_drawdown"]) <= 0.5 * abs(hold["max_drawdown"]))
    assert row["turnover_ok"] == (s["turnover_per_year"] <= 60.0)
    if s["gross_pnl"] > 0:
        assert row["fees_over_gross"] == pytest.approx(s["fees_paid"] / s["gross_pnl"])
    else:
        assert math.isinf(row["fees_over_gross"]) and not row["fees_ok"]
    assert verdict["sharpe_ok"] == (s["sharpe"] >= hold["sharpe"])
