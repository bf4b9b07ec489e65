"""Agent roles (directional analysts vote, contrarian ones damp or veto the size) and the
turnover control (minimum hold, yearly budget; exits never blocked), on hand-made inputs
and through the whole graph, where the series and the bar-by-bar path agree."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sigmax.agents import ArbitratorConfig, DebateConfig, SignalMatrix, arbitrate, run_debate
from sigmax.agents.config import GraphConfig, TurnoverConfig
from sigmax.agents.indicators import series_bars_per_year
from sigmax.agents.turnover import Held, TurnoverState, control_turnover, hold_bars
from sigmax.data.timeframes import timeframe_ns
from sigmax.graph import DecisionGraph, GraphMemory
from sigmax.model import BarSeries

NAMES = ("trend", "momentum", "mean_reversion", "sentiment")


def _debate(score: list[float], conf: list[float], config: ArbitratorConfig):  # type: ignore[no-untyped-def]
    matrix = SignalMatrix.from_series(
        NAMES,
        {n: _series(n, s, c) for n, s, c in zip(NAMES, score, conf, strict=True)},
        config,
    )
    return run_debate(matrix, DebateConfig(rounds=0), config)


def _series(name: str, score: float, conf: float):  # type: ignore[no-untyped-def]
    from sigmax.agents.base import SignalSeries

    return SignalSeries(name, np.array([score]), np.array([conf]), {}, lambda _e: f"{name} says")


def test_contrarians_do_not_vote_they_damp_the_size() -> None:
    config = ArbitratorConfig()
    d = _debate([0.6, 0.4, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0], config)
    # only trend and momentum vote, over their own weights (2): (0.6 + 0.4) / 2
    assert d.bull_strength[0] == pytest.approx(0.5) and d.bear_strength[0] == 0.0
    assert d.bear[:, 0].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert d.pressure[0] == pytest.approx(1.0)  # both contrarians fully against the long
    a = arbitrate(d, config)
    assert a.raw[0] == pytest.approx(0.5 * 2.0 * (1.0 - 0.5 * 1.0))
    text = a.rationale(0, d, config)
    assert "contrarian damping 0.500 (1 - 0.5 x pressure 1.000)" in text
    bear = d.case_text(0, "bear", {n: _series(n, 0, 1) for n in NAMES})
    assert bear.startswith("Bear case 0.000") and "Contrarian view, sizes only" in bear


def test_contrarians_agreeing_with_the_direction_leave_the_size_alone() -> None:
    config = ArbitratorConfig()
    d = _debate([0.6, 0.4, 0.8, 0.8], [1.0, 1.0, 1.0, 1.0], config)
    assert d.pressure[0] == 0.0
    assert arbitrate(d, config).raw[0] == pytest.approx(1.0)


def test_roles_are_configuration_all_directional_votes_as_before() -> None:
    config = ArbitratorConfig(roles={})
    d = _debate([0.6, 0.4, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0], config)
    assert d.bull_strength[0] == pytest.approx(1.0 / 4) and d.bear_strength[0] == 0.5
    assert arbitrate(d, config).raw[0] == 0.0  # they cancel the direction, as configured


def test_veto_blocks_entries_only() -> None:
    config = ArbitratorConfig(contrarian_veto=0.5)
    d = _debate([0.6, 0.4, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0], config)
    a = arbitrate(d, config)
    assert a.veto is not None and bool(a.veto[0])
    assert "entries vetoed (pressure >= 0.5)" in a.rationale(0, d, config)


def test_unknown_role_name_is_refused() -> None:
    config = ArbitratorConfig(roles={"trnd": "contrarian"})
    with pytest.raises(ValueError, match="arbitrator.roles: no analyst named trnd"):
        _debate([0.1, 0.1, 0.1, 0.1], [1.0, 1.0, 1.0, 1.0], config)


def hourly(n: int, timeframe: str = "1h") -> BarSeries:
    ts = np.arange(n, dtype=np.int64) * timeframe_ns(timeframe)
    one = np.full(n, 100.0)
    return BarSeries("TEST/USD", timeframe, ts, one, one, one, one, one)


@pytest.mark.parametrize(
    ("timeframe", "bars"), [("1m", 1440), ("30m", 48), ("1h", 24), ("4h", 6), ("1d", 1)]
)
def test_hold_time_is_calendar_time(timeframe: str, bars: int) -> None:
    assert hold_bars(hourly(2, timeframe), TurnoverConfig(min_hold_hours=24)) == bars


def test_min_hold_stops_a_quick_reentry_but_never_an_exit() -> None:
    wanted = np.array([0.25, 0.0, 0.25, 0.25, 0.25, 0.5, 0.0])
    config = TurnoverConfig(min_hold_hours=3, max_per_year=None)
    out = control_turnover(hourly(7), wanted, np.zeros(7, bool), TurnoverState.fresh(), config)
    # enter, exit at once (allowed), re-entry waits 3 bars after the exit, add waits again
    assert out.target.tolist() == [0.25, 0.0, 0.0, 0.0, 0.25, 0.25, 0.0]
    assert out.held.tolist() == [0, 0, Held.MIN_HOLD, Held.MIN_HOLD, 0, Held.MIN_HOLD, 0]
    assert "minimum hold 3 h (3 bars) not over" in out.rationale(2, config)


def test_flip_exits_at_once_and_enters_after_the_hold() -> None:
    wanted = np.array([0.5, -0.5, -0.5, -0.5])
    config = TurnoverConfig(min_hold_hours=2, max_per_year=None)
    out = control_turnover(hourly(4), wanted, np.zeros(4, bool), TurnoverState.fresh(), config)
    assert out.target.tolist() == [0.5, 0.0, 0.0, -0.5]


def test_budget_refuses_entries_when_spent_and_refills() -> None:
    bars = hourly(2000)
    per_bar = 8766.0 / 8766.0  # 8,766 per year on hourly bars: 1 per bar
    config = TurnoverConfig(min_hold_hours=0, max_per_year=8766.0 * 0.05)  # 0.05 per bar
    wanted = np.tile([1.0, 0.0], 1000)
    out = control_turnover(bars, wanted, np.zeros(2000, bool), TurnoverState.fresh(), config)
    assert out.capacity == pytest.approx(8766.0 * 0.05 / 12)
    traded = float(np.abs(np.diff(np.concatenate([[0.0], out.target]))).sum())
    # at most the bucket plus what refills: 0.05 per bar (+1 for the last exit)
    assert traded <= out.capacity + 0.05 * per_bar * 2000 + 1.0
    assert Held.BUDGET in out.held.tolist()
    exits = np.nonzero(wanted == 0.0)[0]
    assert np.all(out.target[exits] == 0.0)  # never blocked


def test_veto_keeps_the_position_and_lets_exits_through() -> None:
    wanted = np.array([0.25, 0.5, 0.25, 0.0])
    veto = np.array([False, True, True, True])
    config = TurnoverConfig(min_hold_hours=0, max_per_year=None)
    out = control_turnover(hourly(4), wanted, veto, TurnoverState.fresh(), config)
    assert out.target.tolist() == [0.25, 0.25, 0.25, 0.0]
    assert out.held[1] == Held.VETO


def test_turnover_state_continues_exactly_across_calls() -> None:
    rng = np.random.default_rng(7)
    wanted = rng.choice([0.0, 0.25, 0.5, 1.0], size=600)
    veto = rng.random(600) < 0.1
    bars = hourly(600, "30m")
    config = TurnoverConfig(min_hold_hours=6, max_per_year=300.0)
    whole = control_turnover(bars, wanted, veto, TurnoverState.fresh(), config)
    state = TurnoverState.fresh()
    for k in range(600):
        one = control_turnover(bars, wanted[k : k + 1], veto[k : k + 1], state, config)
        assert one.target[0] == whole.target[k], f"bar {k}"
        state = one.state_at(0)
        assert state == whole.state_at(k)


def test_graph_replays_bar_by_bar_with_a_binding_hold(bars: BarSeries) -> None:
    config = GraphConfig(
        turnover=TurnoverConfig(min_hold_hours=48, max_per_year=20), agent_timeout_s=120.0
    )
    graph = DecisionGraph(config)
    series = graph.run_series(bars)
    assert np.any(series.turnover.held != Held.NO), "the control binds on this data"
    for i in range(300, 700):
        memory = series.memory_at(i - 1)
        decision = graph.run_bar(bars[: i + 1], previous_target=memory)
        assert decision == series.decision_at(i), f"bar {i}"
    follow = DecisionGraph(config)
    follow.run_bar(bars[:300], previous_target=series.memory_at(298))
    targets = [follow.run_bar(bars[: i + 1]).target_position for i in range(300, 500)]
    assert targets == series.target[300:500].tolist()
    assert follow.memory == series.memory_at(499)
    assert isinstance(GraphMemory.from_target(0.25).turnover, TurnoverState)


def test_turnover_control_cuts_the_graphs_turnover(bars: BarSeries) -> None:
    free = GraphConfig(turnover=TurnoverConfig(min_hold_hours=0, max_per_year=None), cadence=None)
    controlled = DecisionGraph(GraphConfig(cadence=None)).run_series(bars)
    uncontrolled = DecisionGraph(free).run_series(bars)
    assert np.array_equal(controlled.sized, uncontrolled.sized)  # same wants
    moves = np.abs(np.diff(controlled.target)).sum()
    free_moves = np.abs(np.diff(uncontrolled.target)).sum()
    assert moves < free_moves


def _reference(
    bars: BarSeries, wanted: np.ndarray, veto: np.ndarray, start: TurnoverState, cfg: TurnoverConfig
) -> tuple[list[float], list[int], list[int], list[float]]:
    """The rule as the module docstring states it, bar by bar, with min() for the
    refill and the age: what the optimised loop must reproduce bit for bit."""
    if cfg.max_per_year is None:
        capacity, refill = math.inf, 0.0
    else:
        capacity, refill = cfg.max_per_year / 12.0, cfg.max_per_year / series_bars_per_year(bars)
    min_hold = hold_bars(bars, cfg)
    target, held, since, left = [], [], [], []
    prev, age, budget = start.target, start.since_change, min(start.budget, capacity)
    for want, vetoed in zip(wanted.tolist(), veto.tolist(), strict=True):
        budget = min(budget + refill, capacity)
        why = Held.NO
        if want != prev:
            flip = prev != 0.0 and want != 0.0 and (prev > 0.0) != (want > 0.0)
            base = 0.0 if flip else prev
            if abs(want) <= abs(base):
                new = want
            elif vetoed:
                new, why = base, Held.VETO
            elif age + 1 < min_hold or (flip and min_hold > 0):
                new, why = base, Held.MIN_HOLD
            elif budget < abs(want - prev):
                new, why = base, Held.BUDGET
            else:
                new = want
            if new != prev:
                budget -= abs(new - prev)
                age = -1
            prev = new
        age = min(age + 1, 2**31)
        target.append(prev)
        held.append(int(why))
        since.append(age)
        left.append(budget)
    return target, held, since, left


@pytest.mark.parametrize(
    ("hold", "per_year", "start"),
    [
        (24.0, 48.0, TurnoverState.fresh()),
        (6.0, 300.0, TurnoverState(0.5, 3, -0.25)),  # mid-hold, budget overdrawn
        (0.0, None, TurnoverState(-1.0, 2**31, math.inf)),  # no hold, no budget
        (48.0, 20.0, TurnoverState(0.25, 2**31 - 1, 0.1)),  # the age about to stop
    ],
)
def test_the_loop_equals_the_rule_bar_by_bar(
    hold: float, per_year: float | None, start: TurnoverState
) -> None:
    rng = np.random.default_rng(11)
    bars = hourly(3000)
    wanted = rng.choice([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0], size=3000)
    wanted[rng.random(3000) < 0.8] = np.nan  # most bars repeat the bar before's want
    wanted = pd.Series(wanted).ffill().fillna(0.0).to_numpy()
    veto = rng.random(3000) < 0.1
    cfg = TurnoverConfig(min_hold_hours=hold, max_per_year=per_year)
    out = control_turnover(bars, wanted, veto, start, cfg)
    target, held, since, left = _reference(bars, wanted, veto, start, cfg)
    assert out.target.tolist() == target
    assert out.held.tolist() == held
    assert out.since_change.tolist() == since
    assert out.budget.tolist() == left
    assert len(set(held)) == (2 if per_year is None else 4), "every reason must occur"
