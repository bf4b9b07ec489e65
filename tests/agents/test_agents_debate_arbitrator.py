"""Debate, arbitrator, hysteresis quantiser and vol-targeting sizer on hand-made inputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sigmax.agents import (
    ArbitratorConfig,
    DebateConfig,
    SignalMatrix,
    SizingConfig,
    arbitrate,
    quantise,
    quantise_with_hysteresis,
    run_debate,
    vol_target,
)
from sigmax.model import BarSeries

NAMES = ("a", "b", "c", "d")


def _matrix(score: list[float], conf: list[float], weights: dict[str, float] | None = None):
    cfg = ArbitratorConfig(weights=weights or {})
    w = np.array([cfg.weights.get(n, 1.0) for n in NAMES])
    return SignalMatrix(NAMES, np.array(score)[:, None], np.array(conf)[:, None], w), cfg


def test_cases_split_by_sign_and_weighted_by_confidence() -> None:
    m, cfg = _matrix([0.8, 0.4, -0.5, np.nan], [1.0, 0.5, 0.8, np.nan])
    d = run_debate(m, DebateConfig(rounds=0), cfg)
    assert d.bull[:, 0].tolist() == [0.8, 0.2, 0.0, 0.0]
    assert d.bear[:, 0].tolist() == [0.0, 0.0, 0.4, 0.0]
    assert d.bull_strength[0] == pytest.approx(1.0 / 4) and d.bear_strength[0] == 0.1


def test_each_round_discounts_the_other_sides_weakest_item() -> None:
    m, cfg = _matrix([0.8, 0.4, -0.5, -0.2], [1.0, 0.5, 0.8, 1.0])
    d = run_debate(m, DebateConfig(rounds=2, rebuttal_discount=0.5), cfg)
    # bull items 0.8, 0.2: the weaker (b) is halved twice; bear items 0.4, 0.2: d halved twice
    assert d.bull[:, 0].tolist() == [0.8, 0.05, 0.0, 0.0]
    assert d.bear[:, 0].tolist() == [0.0, 0.0, 0.4, 0.05]
    assert d.bull_rebutted[:, 0].tolist() == [0, 2, 0, 0]
    assert d.bull_strength[0] == pytest.approx(0.85 / 4)


def test_low_confidence_signals_are_ignored_and_named() -> None:
    m, cfg = _matrix([0.9, -0.9, 0.0, 0.0], [0.05, 0.9, 0.5, 0.5])
    d = run_debate(m, DebateConfig(rounds=0), cfg)
    a = arbitrate(d, cfg)
    assert d.bull[0, 0] == 0.0
    assert "ignored (confidence < 0.1): a" in a.rationale(0, d, cfg)


def test_long_only_clips_and_short_allows_negative() -> None:
    m, _ = _matrix([-1.0, -1.0, -1.0, -1.0], [1.0, 1.0, 1.0, 1.0])
    long_only = ArbitratorConfig()
    shorting = ArbitratorConfig(allow_short=True)
    d = run_debate(m, DebateConfig(rounds=0), long_only)
    assert arbitrate(d, long_only).target[0] == 0.0
    assert arbitrate(d, shorting).target[0] == -1.0


def test_quantise_keeps_the_grid_inside_one() -> None:
    raw = np.array([-1.0, -0.3, 0.1, 0.13, 0.62, 1.0])
    assert quantise(raw, 0.25).tolist() == [-1.0, -0.25, 0.0, 0.25, 0.5, 1.0]
    assert quantise(np.array([0.95]), 0.6).tolist() == [0.6]


def _hysteresis_loop(raw: np.ndarray, step: float, h: float, prev: float) -> list[float]:
    """Reference: the rule written as the obvious bar-by-bar loop."""
    out = []
    for x in raw:
        level = float(quantise(np.array([x]), step)[0])
        if abs(x - level) <= (0.5 - h) * step or abs(x) >= np.floor(1 / step) * step:
            prev = level
        out.append(prev)
    return out


@pytest.mark.parametrize("h", [0.0, 0.1, 0.2, 0.45])
def test_hysteresis_vectorised_equals_the_loop(h: float) -> None:
    rng = np.random.default_rng(3)  # random test input, checked against a reference loop
    raw = np.clip(np.cumsum(0.05 * rng.standard_normal(500)), -1, 1)
    for prev in (0.0, 0.5):
        vec = quantise_with_hysteresis(raw, 0.25, h, prev)
        assert vec.tolist() == _hysteresis_loop(raw, 0.25, h, prev)
        steps = [
            quantise_with_hysteresis(raw[i : i + 1], 0.25, h, p)[0]
            for i, p in enumerate([prev, *vec[:-1]])
        ]
        assert steps == vec.tolist()


def test_hysteresis_holds_in_the_dead_band() -> None:
    raw = np.array([0.24, 0.13, 0.11, 0.13, 0.06, 0.13])
    assert quantise_with_hysteresis(raw, 0.25, 0.2, 0.0).tolist() == [
        0.25,
        0.25,
        0.25,
        0.25,
        0.0,
        0.0,
    ]
    assert quantise_with_hysteresis(raw, 0.25, 0.0, 0.0).tolist() == [
        0.25,
        0.25,
        0.0,
        0.25,
        0.0,
        0.25,
    ]


def test_vol_target_scales_down_never_up(make_bars: Callable[..., BarSeries]) -> None:
    close = 100.0 * np.cumprod(1.0 + 0.02 * np.where(np.arange(400) % 2, 1.0, -1.0))
    bars = make_bars(close)
    rows = np.arange(len(bars))
    sizing = vol_target(bars, rows, np.ones(len(bars)), 0.0, SizingConfig(), ArbitratorConfig())
    vol = sizing.vol[-1]
    assert vol == pytest.approx(0.02 * np.sqrt(8760), rel=0.01)
    assert sizing.scale[-1] == pytest.approx(0.6 / vol)
    assert sizing.target[-1] == quantise(np.array([0.6 / vol]), 0.25)[0]
    assert sizing.scale[0] == 1.0 and sizing.vol[0] == 0.0  # unknown vol: no scaling
    calm = make_bars(np.linspace(100, 101, 400))
    calm_sizing = vol_target(calm, rows, np.ones(400), 0.0, SizingConfig(), ArbitratorConfig())
    assert calm_sizing.scale.max() == 1.0 and calm_sizing.target[-1] == 1.0
