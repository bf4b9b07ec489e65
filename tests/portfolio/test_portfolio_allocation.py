"""The portfolio optimiser feeds the decision graph: its weight caps the symbol."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sigmax.agents.config import GraphConfig, TurnoverConfig
from sigmax.data import load_bars
from sigmax.portfolio import OptimiserConfig, optimise
from sigmax.portfolio.allocation import asset_of, weight_from_result
from sigmax.strategies import make_strategy


@pytest.fixture(scope="module")
def allocation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("opt") / "opt.json"
    result = optimise(OptimiserConfig(budget=2, max_weight=0.6, solver="classical"))
    result.write_json(path)
    return path


def test_weight_is_read_from_the_optimiser_result(allocation: Path) -> None:
    weights = json.loads(allocation.read_text())["weights"]
    assert weight_from_result(allocation, "BTC/USD") == pytest.approx(weights.get("BTC", 0.0))
    assert asset_of("ETH-USD") == "ETH"
    with pytest.raises(ValueError, match="no optimisation result"):
        weight_from_result(allocation.parent / "missing.json", "BTC/USD")


def test_allocation_caps_the_graph_targets(allocation: Path, tmp_path: Path) -> None:
    bars = load_bars("bundled:BTC-USD-1h")[:3000]
    # Without the turnover control (a hold time and a budget make targets depend on the
    # path, so a capped run may be in a position a free one is waiting to re-enter),
    # a cap on the conviction can only lower the target at every bar.
    graph = GraphConfig(turnover=TurnoverConfig(min_hold_hours=0, max_per_year=None))
    free = make_strategy("sigmax", {}, graph).targets(bars)
    capped_strategy = make_strategy("sigmax", {"allocation": str(allocation)}, graph)
    capped = capped_strategy.targets(bars)
    weight = weight_from_result(allocation, "BTC/USD")
    assert free.max() > 0
    step = 0.25
    assert capped.max() <= np.ceil(weight / step) * step + 1e-12
    assert np.all(capped <= free + 1e-12)
    traded = int(np.argmax(capped > 0)) if capped.max() > 0 else int(np.argmax(free > 0))
    assert "Portfolio optimiser weight" in capped_strategy.decision_at(traded).rationale

    zero = tmp_path / "zero.json"
    zero.write_text(json.dumps({"weights": {"ETH": 1.0}}))
    assert not make_strategy("sigmax", {"allocation": str(zero)}).targets(bars).any()
