"""Every strategy parameter the README lists works through ``sigmax backtest --param``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.agents.config import GraphConfig
from sigmax.backtest.runner import BacktestRequest
from sigmax.backtest.sweep import case_setup, run_case
from sigmax.cli import app
from sigmax.config import get_settings
from sigmax.model import BarSeries
from sigmax.strategies import make_strategy, strategy_names
from sigmax.strategies.agent_graph import AgentGraphStrategy

ROOT = Path(__file__).resolve().parents[2]
BULLET = re.compile(r"^- `(\w+)`.*?(?=^- |^\s*$)", re.M | re.S)
PARAMETERS = re.compile(r"Parameters:(.*?)(?:\.\s|\.$)", re.S)

# A value for each documented parameter that differs from its default.
VALUES = {
    "debate_rounds": "1",
    "position_step": "0.5",
    "allow_short": "true",
    "min_confidence": "0.3",
    "target_vol": "0.3",
    "max_leverage": "0.5",
    "cadence": "1d",
    "min_hold_hours": "48",
    "max_turnover_per_year": "24",
    "allocation": "ALLOCATION",  # a written optimiser result, see _value
    "fast": "5",
    "slow": "20",
    "size": "0.5",
    "checkpoint": "MISSING",  # no trained policy here: the path must reach the strategy
}
DATA = ["--data", "bundled:BTC-USD-1h", "--timeframe", "4h", "--no-progress"]
runner = CliRunner()


def readme_parameters() -> dict[str, list[str]]:
    """Strategy name -> the parameters its README bullet lists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("Strategies:") :]
    found = {}
    for bullet in BULLET.finditer(section):
        listed = PARAMETERS.search(bullet.group(0))
        assert listed, f"README: strategy {bullet.group(1)} lists no `Parameters:`"
        found[bullet.group(1)] = re.findall(r"`(\w+)`", listed.group(1))
    return found


def _cases() -> list[tuple[str, str]]:
    return [(name, param) for name, params in readme_parameters().items() for param in params]


def _value(param: str, tmp_path: Path) -> str:
    if param == "allocation":
        path = tmp_path / "opt.json"
        path.write_text(json.dumps({"weights": {"BTC": 0.5, "ETH": 0.5}}))
        return str(path)
    if param == "checkpoint":
        return str(tmp_path / "no-such-checkpoint")
    return VALUES[param]


def _backtest(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    out = tmp_path / "out.json"
    result = runner.invoke(app, ["backtest", *DATA, *args, "--json", str(out)])
    doc = json.loads(out.read_text()) if out.exists() else {}
    return result.exit_code, f"{result.output}{result.exception!r}", doc


def test_readme_lists_every_strategy_and_its_whole_parameter_model() -> None:
    listed = readme_parameters()
    assert sorted(listed) == strategy_names()
    for name, params in listed.items():
        model = type(make_strategy(name).params)
        assert sorted(params) == sorted(model.model_fields), name
        assert set(params) <= VALUES.keys(), f"give {name}'s new parameters a test value"


@pytest.mark.parametrize(("strategy", "param"), _cases(), ids=[f"{s}-{p}" for s, p in _cases()])
def test_readme_parameter_works_through_sigmax_backtest(
    strategy: str, param: str, tmp_path: Path
) -> None:
    value = _value(param, tmp_path)
    code, output, doc = _backtest(tmp_path, "--strategy", strategy, "--param", f"{param}={value}")
    if param == "checkpoint":
        assert code == 2 and "no-such-checkpoint" in output.replace("\n", ""), output
        return
    assert code == 0, output
    recorded = doc["meta"]["params"][param]
    assert str(recorded).lower() == value.lower() or float(recorded) == float(value)


# allocation is no graph setting: it caps the target (tests/portfolio)
@pytest.mark.parametrize("param", [p for p in readme_parameters()["sigmax"] if p != "allocation"])
def test_graph_parameter_overrides_exactly_its_setting(param: str) -> None:
    base = GraphConfig()
    strategy = make_strategy("sigmax", {param: VALUES[param]}, base)
    assert isinstance(strategy, AgentGraphStrategy)
    changed = _differences(base.model_dump(), strategy.graph_config.model_dump())
    assert len(changed) == 1, changed
    ((_, new),) = changed.values()
    assert str(new).lower() == VALUES[param] or new == float(VALUES[param])


def test_max_leverage_caps_the_target(tmp_path: Path) -> None:
    code, output, free = _backtest(tmp_path, "--strategy", "sigmax")
    assert code == 0, output
    code, output, capped = _backtest(
        tmp_path, "--strategy", "sigmax", "--param", "max_leverage=0.25"
    )
    assert code == 0, output
    assert max(d["target_position"] for d in free["decisions"]) > 0.25
    assert max(d["target_position"] for d in capped["decisions"]) == 0.25
    assert any("over max leverage 0.25" in d["rationale"] for d in capped["decisions"])


def test_graph_settings_come_from_the_caller() -> None:
    given = GraphConfig.model_validate({"debate": {"rounds": 5}})
    strategy = make_strategy("sigmax", {"min_confidence": "0.3"}, given)
    assert isinstance(strategy, AgentGraphStrategy)
    assert strategy.graph_config.debate.rounds == 5
    assert strategy.graph_config.arbitrator.min_confidence == 0.3


def test_settings_graph_reaches_a_cli_backtest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_GRAPH__RISK__MAX_LEVERAGE", "0.25")
    get_settings.cache_clear()
    try:
        code, output, doc = _backtest(tmp_path, "--strategy", "sigmax")
    finally:
        get_settings.cache_clear()
    assert code == 0, output
    assert max(d["target_position"] for d in doc["decisions"]) == 0.25


def test_a_sweep_case_runs_with_the_requests_graph(btc_1h_small: BarSeries) -> None:
    def turnover(graph: GraphConfig) -> float:
        request = BacktestRequest(data="x", strategy="sigmax", progress=False, graph=graph)
        return run_case(btc_1h_small, case_setup(request), {})["metrics"]["turnover"]

    capped = GraphConfig.model_validate({"risk": {"max_leverage": 0.25}})
    assert turnover(capped) < turnover(GraphConfig())


def _differences(old: dict[str, Any], new: dict[str, Any], at: str = "") -> dict[str, Any]:
    """Dotted path -> (old, new) for every leaf that differs."""
    out: dict[str, Any] = {}
    for key, value in old.items():
        if isinstance(value, dict):
            out |= _differences(value, new[key], f"{at}{key}.")
        elif new[key] != value:
            out[f"{at}{key}"] = (value, new[key])
    return out
