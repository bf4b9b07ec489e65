"""Decision cadence: the graph decides on coarser bars than the data's, holds the target
in between, and the live path equals the series bar for bar."""

from __future__ import annotations

import numpy as np
import pytest

from sigmax.agents.cadence import coarse_bars
from sigmax.agents.config import GraphConfig
from sigmax.data.errors import DataError
from sigmax.data.loader import load_bars
from sigmax.data.resample import resample
from sigmax.data.timeframes import timeframe_ns
from sigmax.graph import CadencedSeries, DecisionGraph
from sigmax.model import BarSeries


@pytest.fixture(scope="module")
def eth() -> BarSeries:
    return load_bars("bundled:ETH-USD-30m")[:3000]


def test_coarse_bars_equal_the_exact_resample(eth: BarSeries) -> None:
    coarse = coarse_bars(eth, timeframe_ns("4h"))
    exact = resample(eth, "4h")
    assert coarse.bars.timeframe == "4h"
    for name in ("ts", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(coarse.bars, name), getattr(exact, name)), name
    assert np.all((eth.ts[coarse.close_rows] + timeframe_ns("30m")) % timeframe_ns("4h") == 0)


def test_series_decides_at_window_closes_and_holds_between(eth: BarSeries) -> None:
    graph = DecisionGraph(GraphConfig(cadence="4h", agent_timeout_s=120.0))
    series = graph.run_series(eth)
    assert isinstance(series, CadencedSeries) and len(series) == len(eth)
    target = series.target
    changes = np.flatnonzero(np.diff(target)) + 1
    assert changes.size > 0, "it trades on this data"
    assert np.all(series.decided[changes]), "the target changes only where a window closes"
    held = series.decision_at(int(changes[0]) + 1)
    assert held.signals == () and held.rationale.startswith("Between decisions")
    decided = series.decision_at(int(changes[0]))
    assert decided.rationale.startswith("Decided on the 4h bar of")
    assert len(decided.signals) == 5 and decided.ts.timestamp() * 1e9 == eth.ts[changes[0]]


def test_run_bar_equals_the_series_bar_for_bar(eth: BarSeries) -> None:
    config = GraphConfig(cadence="4h", agent_timeout_s=120.0)
    series = DecisionGraph(config).run_series(eth)
    graph = DecisionGraph(config)
    start = 2400
    graph.run_bar(eth[:start], previous_target=series.memory_at(start - 2))
    for i in range(start, len(eth)):
        decision = graph.run_bar(eth[: i + 1])
        assert decision == series.decision_at(i), f"bar {i}"
    replay = DecisionGraph(config)
    for i in (start + 3, start + 7, start + 8):
        decision = replay.run_bar(eth[: i + 1], previous_target=series.memory_at(i - 1))
        assert decision == series.decision_at(i), f"bar {i}"


def test_cadence_not_coarser_than_the_data_decides_every_bar(eth: BarSeries) -> None:
    plain = DecisionGraph(GraphConfig(cadence=None)).run_series(eth[:600])
    same = DecisionGraph(GraphConfig(cadence="30m")).run_series(eth[:600])
    assert not isinstance(same, CadencedSeries)
    assert np.array_equal(plain.target, same.target)


def test_before_the_first_close_the_target_is_flat(eth: BarSeries) -> None:
    graph = DecisionGraph(GraphConfig(cadence="1d"))
    first = eth[:5]  # 2.5 hours: no daily window closed yet
    series = graph.run_series(first)
    assert series.target.tolist() == [0.0] * 5
    decision = graph.run_bar(first)
    assert decision == series.decision_at(4) and "no 1d bar has closed yet" in decision.rationale


def test_data_warmup_counts_data_bars() -> None:
    graph = DecisionGraph(GraphConfig(cadence="4h", agent_timeout_s=120.0))
    assert graph.data_warmup("30m") == (graph.warmup + 1) * 8
    assert graph.data_warmup("1d") == graph.warmup


def test_bad_cadence_is_refused(eth: BarSeries) -> None:
    with pytest.raises(ValueError, match="graph cadence"):
        GraphConfig(cadence="4 hours")
    with pytest.raises(DataError, match="not a whole number of 30m bars"):
        DecisionGraph(GraphConfig(cadence="45m")).run_series(eth[:100])


def test_gaps_skip_a_window_without_its_closing_bar(eth: BarSeries) -> None:
    keep = np.ones(len(eth), dtype=bool)
    keep[[1003, 1004]] = False  # inside a window: it still closes
    keep[1015] = False  # the closing bar of the window 1008..1015: that window is skipped
    gappy = BarSeries(
        eth.symbol,
        eth.timeframe,
        eth.ts[keep],
        eth.open[keep],
        eth.high[keep],
        eth.low[keep],
        eth.close[keep],
        eth.volume[keep],
    )
    coarse = coarse_bars(gappy, timeframe_ns("4h"))
    starts = set(coarse.bars.ts.tolist())
    assert int(eth.ts[1000]) in starts and int(eth.ts[1008]) not in starts
    k = int(np.searchsorted(coarse.bars.ts, eth.ts[1000]))
    assert coarse.bars.high[k] == max(eth.high[i] for i in range(1000, 1008) if keep[i])
    config = GraphConfig(cadence="4h", agent_timeout_s=120.0)
    series = DecisionGraph(config).run_series(gappy)
    graph = DecisionGraph(config)
    graph.run_bar(gappy[:990], previous_target=series.memory_at(988))
    for i in range(990, 1040):
        assert graph.run_bar(gappy[: i + 1]) == series.decision_at(i), f"bar {i}"


def test_the_default_cadence_is_4h(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGMAX_GRAPH__CADENCE", raising=False)
    from sigmax.config import Settings

    assert GraphConfig().cadence == "4h"
    assert Settings().graph.cadence == "4h"


@pytest.mark.parametrize("timeframe", ["4h", "1d"])
def test_the_default_cadence_changes_nothing_on_bars_as_coarse(timeframe: str) -> None:
    """On 4h or daily data the default 4h cadence is not coarser than the bars: the
    graph decides every bar, exactly as with no cadence."""
    data = "bundled:bitstamp-BTC-USD-1d" if timeframe == "1d" else "bundled:ETH-USD-30m"
    bars = load_bars(data, timeframe=timeframe)[:900]
    default = DecisionGraph(GraphConfig()).run_series(bars)
    every_bar = DecisionGraph(GraphConfig(cadence=None)).run_series(bars)
    assert not isinstance(default, CadencedSeries)
    assert np.flatnonzero(every_bar.target).size > 0, "it trades on this data"
    assert np.array_equal(default.target, every_bar.target)
    for i in (len(bars) // 2, len(bars) - 1):
        assert default.decision_at(i) == every_bar.decision_at(i)


@pytest.mark.parametrize(
    ("data", "timeframe"), [("bundled:BTC-USD-1h", "1h"), ("bundled:ETH-USD-30m", "30m")]
)
@pytest.mark.parametrize("offset", [0, 1, 3, 5])
def test_data_warmup_bars_of_history_cover_the_warm_up(
    data: str, timeframe: str, offset: int
) -> None:
    """A session's history of ``data_warmup`` bars (what start_system asks the market-data
    actor to keep), however it sits in the 4h windows, leaves the default graph out of
    warm-up at the first window it closes."""
    graph = DecisionGraph(GraphConfig())
    need = graph.data_warmup(timeframe)
    bars = load_bars(data)
    assert bars.timeframe == timeframe
    history = bars[5000 + offset : 5000 + offset + need]
    coarse = coarse_bars(history, timeframe_ns("4h"))
    assert len(coarse.bars) >= graph.warmup
    series = graph.run_series(history)
    last = int(coarse.close_rows[-1])
    decision = series.decision_at(last)
    assert decision.rationale.startswith("Decided on the 4h bar")
    assert "Warm-up" not in decision.rationale
    assert len(decision.signals) == 5


@pytest.mark.parametrize("inside", [0, 3, 5])  # bars into the window after a close
def test_truncating_or_appending_bars_never_changes_a_decision(eth: BarSeries, inside: int) -> None:
    """A decision at a bar uses closed bars only: cut the series inside a 4h window (or
    append to it), and every decision up to the cut is the same."""
    graph = DecisionGraph(GraphConfig())
    full = graph.run_series(eth)
    assert isinstance(full, CadencedSeries)
    closes = np.flatnonzero(full.decided)
    cut = int(closes[closes > 2800][0]) + inside
    assert "Warm-up" not in full.decision_at(cut - inside).rationale
    assert full.decided[cut] == (inside == 0)
    short = graph.run_series(eth[: cut + 1])
    assert np.array_equal(short.target, full.target[: cut + 1])
    for i in range(cut - 10, cut + 1):
        assert short.decision_at(i) == full.decision_at(i), f"bar {i}"
