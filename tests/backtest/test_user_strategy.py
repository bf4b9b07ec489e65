"""A user's Strategy subclass, loaded from ``PATH.py:ClassName`` or ``module:ClassName``,
runs unchanged where a built-in one does; docs/STRATEGIES.md's worked example is run
here exactly as documented, and a bad spec is refused with a StrategyError saying why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine, BacktestResult
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.cli import app
from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.graph import DecisionGraph
from sigmax.ledger import Ledger
from sigmax.model import BarSeries
from sigmax.risk import RiskEngine
from sigmax.strategies import Strategy, StrategyError, make_strategy
from sigmax.trading.adapters import PaperVenue, StrategyDecider
from sigmax.trading.session import BarReport, SessionConfig, TradingSession

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = "examples/strategies/donchian_breakout.py:DonchianBreakout"
FEE = Decimal(10)
runner = CliRunner()


def _exchange() -> PaperExchange:
    return PaperExchange(PaperExchangeConfig(maker_fee_bps=FEE, taker_fee_bps=FEE))


def _backtest(
    bars: BarSeries, strategy: Strategy, exchange: PaperExchange | None = None
) -> BacktestResult:
    risk = RiskEngine(backtest_risk_config())
    engine = BacktestEngine(BacktestConfig(progress=False), risk, exchange or _exchange())
    return engine.run(bars, strategy)


def _paper(bars: BarSeries, strategy: Strategy) -> tuple[list[BarReport], Ledger]:
    """An in-process paper session fed the bars one at a time."""
    book = Ledger(Decimal(10_000))
    session = TradingSession(
        SessionConfig(symbol=bars.symbol, unit=strategy.unit),
        StrategyDecider(strategy),
        RiskEngine(backtest_risk_config()),
        PaperVenue(_exchange()),
        book,
    )
    return [session.on_bar(bars[: i + 1]) for i in range(len(bars))], book


def test_documented_backtest_command_runs_the_example(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """docs/STRATEGIES.md: ``sigmax backtest --strategy examples/...py:DonchianBreakout``."""
    monkeypatch.chdir(REPO)
    out = tmp_path / "donchian.json"
    args = ["backtest", "--strategy", EXAMPLE, "--param", "entry_bars=20"]
    args += ["--param", "exit_bars=10", "--json", str(out), "--no-progress"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    meta = json.loads(out.read_text())["meta"]
    assert meta["strategy"] == "donchian_breakout"
    assert meta["params"] == {"entry_bars": 20, "exit_bars": 10, "size": 0.5}
    assert "donchian_breakout on BTC/USD 1h" in result.output


@pytest.mark.parametrize("name", ["sma_cross", EXAMPLE])
def test_paper_session_trades_like_the_backtest(
    name: str, btc_1h_small: BarSeries, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same strategy, fed the same bars one at a time, fills the same orders."""
    monkeypatch.chdir(REPO)
    bars = btc_1h_small[:1200]
    params = {"fast": "5", "slow": "20", "size": "0.2"} if name == "sma_cross" else {}
    backtest = _backtest(bars, make_strategy(name, params))
    reports, book = _paper(bars, make_strategy(name, params))

    paper_fills = [(f.ts, f.side, f.qty, f.price, f.fee) for r in reports for f in r.fills]
    backtest_fills = [
        (e.fill.ts, e.fill.side, e.fill.qty, e.fill.price, e.fill.fee) for e in backtest.entries
    ]
    assert len(backtest_fills) >= 6
    assert paper_fills == backtest_fills
    last = Decimal(repr(float(bars.close[-1])))
    assert book.equity({bars.symbol: last}) == backtest.final_equity


def test_module_spec_loads_the_same_class(
    btc_1h_small: BarSeries, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(REPO / "examples" / "strategies"))
    by_module = make_strategy("donchian_breakout:DonchianBreakout", {"entry_bars": "30"})
    monkeypatch.chdir(REPO)
    by_path = make_strategy(EXAMPLE, {"entry_bars": "30"})
    bars = btc_1h_small[:800]
    assert by_module.targets(bars).tolist() == by_path.targets(bars).tolist()


GOOD = """
    from sigmax.strategies import Strategy

    class Good(Strategy):
        name = "good"
        unit = "qty"

        def targets(self, bars):
            return bars.close * 0
"""

BAD_FILES = {
    "no class": ("", "Missing", "has no class Missing"),
    "not a class": ("Thing = 3", "Thing", "Thing is not a subclass of sigmax.strategies.Strategy"),
    "not a Strategy": (
        "class Plain:\n    name = 'p'\n    unit = 'qty'",
        "Plain",
        "Plain is not a subclass of sigmax.strategies.Strategy",
    ),
    "no name": (GOOD.replace('name = "good"', ""), "Good", "Good needs a class attribute name"),
    "no unit": (GOOD.replace('unit = "qty"', ""), "Good", "Good.unit must be one of qty, "),
    "bad unit": (
        GOOD.replace('unit = "qty"', 'unit = "usd"'),
        "Good",
        "Good.unit must be one of qty, equity_fraction, got 'usd'",
    ),
    "no targets": (
        GOOD.replace("def targets", "def wants"),
        "Good",
        "Good does not implement targets",
    ),
    "bad Params": (
        GOOD + "\n        Params = dict",
        "Good",
        "Good.Params must subclass sigmax.strategies.StrategyParams",
    ),
    "import fails": ("import not_a_module_anywhere", "Good", "ModuleNotFoundError"),
    "syntax error": ("def (", "Good", "SyntaxError"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_strategy_file_is_refused_saying_why(case: str, tmp_path: Path) -> None:
    source, class_name, problem = BAD_FILES[case]
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(source))
    with pytest.raises(StrategyError, match=problem) as caught:
        make_strategy(f"{path}:{class_name}")
    assert isinstance(caught.value, ValueError)  # an InvalidInputError: exit 2, HTTP 422


def test_good_strategy_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(GOOD))
    strategy = make_strategy(f"{path}:Good")
    assert (strategy.name, strategy.unit) == ("good", "qty")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("no/such/file.py:Cls", r"strategy file .*no/such/file.py not found"),
        ("no_such_module_xyz:Cls", "strategy module 'no_such_module_xyz' not found"),
        ("mine.py:", "expected a built-in name, PATH.py:ClassName or module:ClassName"),
        (":Cls", "expected a built-in name"),
        ("mine.py:not-a-name", "expected a built-in name"),
        ("nope", "unknown strategy 'nope'; choose one of rl_policy, sigmax, sma_cross, or a user"),
    ],
)
def test_bad_spec_is_refused_saying_why(spec: str, problem: str) -> None:
    with pytest.raises(StrategyError, match=problem):
        make_strategy(spec)


def test_bad_param_names_the_user_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(StrategyError, match="strategy donchian_breakout: bad --param"):
        make_strategy(EXAMPLE, {"entry_bars": "0"})


@pytest.mark.slow
def test_documented_sweep_and_walk_forward_run_the_example_on_ray(
    ray_cluster: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """docs/STRATEGIES.md's sweep and walk-forward: the Ray workers get the spec and load
    the class themselves; each sweep case equals the in-process backtest of its params."""
    monkeypatch.chdir(REPO)
    base = ["backtest", "--strategy", EXAMPLE, "--no-progress"]
    sweep_json, wf_json = tmp_path / "sweep.json", tmp_path / "wf.json"
    channels = ["--sweep", "entry_bars=10,20,40"]

    swept = runner.invoke(
        app, [*base, *channels, "--sweep", "exit_bars=5,10", "--json", str(sweep_json)]
    )
    assert swept.exit_code == 0, swept.output
    runs = json.loads(sweep_json.read_text())["runs"]
    assert len(runs) == 6 and all(r["status"] == "ok" for r in runs)
    bars = load_bars("bundled:BTC-USD-1h")
    for row in runs:
        # the command charges the paper exchange's costs by default
        paper = PaperExchange(Settings().paper)
        local = _backtest(bars, make_strategy(EXAMPLE, row["params"]), paper)
        assert row["final_equity"] == str(local.final_equity)

    walked = runner.invoke(app, [*base, *channels, "--walk-forward", "4", "--json", str(wf_json)])
    assert walked.exit_code == 0, walked.output
    report = json.loads(wf_json.read_text())
    assert len(report["folds"]) == 4 and not report["failures"]


PAPER_START, PAPER_BARS = 6_050, 200


@pytest.mark.slow
def test_documented_paper_command_runs_the_example_through_the_actors(
    ray_cluster: Any, tmp_path: Path
) -> None:
    """docs/STRATEGIES.md's ``sigmax paper --strategy ...`` in its own process, joining
    the test session's Ray cluster (``RAY_ADDRESS``) rather than starting a Ray: it trades
    like the in-process session fed the same bars (the same warm-up)."""
    sigmax = Path(sys.executable).parent / "sigmax"
    env = {**os.environ, "SIGMAX_HOME": str(tmp_path / "home"), "RAY_AUTH_MODE": "disabled"}
    env["RAY_ADDRESS"] = ray_cluster.get_runtime_context().gcs_address
    out = tmp_path / "paper.json"
    args = [str(sigmax), "paper", "--strategy", EXAMPLE, "--param", "entry_bars=10"]
    args += ["--param", "exit_bars=5", "--start", str(PAPER_START), "--bars", str(PAPER_BARS)]
    args += ["--no-persist", "--json", str(out)]
    done = subprocess.run(  # noqa: S603
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(out.read_text())

    warmup = DecisionGraph(Settings().graph).warmup
    bars = load_bars("bundled:BTC-USD-1h")[PAPER_START - warmup : PAPER_START + PAPER_BARS]
    strategy = make_strategy(str(REPO / EXAMPLE), {"entry_bars": "10", "exit_bars": "5"})
    book = Ledger(Decimal(10_000))
    session = TradingSession(
        SessionConfig(symbol=bars.symbol, unit=strategy.unit),
        StrategyDecider(strategy),
        RiskEngine(Settings().risk),
        PaperVenue(PaperExchange(Settings().paper)),
        book,
    )
    reports = [session.on_bar(bars[: i + 1]) for i in range(warmup, len(bars))]
    fills = [f for r in reports for f in r.fills]
    assert doc["meta"]["bars"] == PAPER_BARS and len(fills) >= 4
    assert doc["portfolio"]["fills"] == len(doc["trades"]) == len(fills)
    last = Decimal(repr(float(bars.close[-1])))
    assert Decimal(doc["portfolio"]["equity"]) == book.equity({bars.symbol: last})


def test_backtest_job_entry_point_runs_the_example(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``python -m sigmax.jobs.backtest`` takes the same --strategy spec."""
    from sigmax.jobs.backtest import main

    monkeypatch.chdir(REPO)
    out = tmp_path / "job.json"
    code = main(
        ["--strategy", EXAMPLE, "--param", "size=0.25", "--no-progress", "--json", str(out)]
    )
    assert code == 0
    assert json.loads(out.read_text())["meta"]["params"]["size"] == 0.25


def test_backtest_command_refuses_a_strategy_with_a_nan_target(tmp_path: Path) -> None:
    """The CLI exits 2 with the refusal naming the strategy, the symbol and the bar."""
    path = tmp_path / "leaky.py"
    nan_at_7 = GOOD.replace(
        "return bars.close * 0",
        "w = bars.close * 0\n            w[7] = float('nan')\n            return w",
    )
    path.write_text(textwrap.dedent(nan_at_7))
    result = runner.invoke(app, ["backtest", "--strategy", f"{path}:Good", "--no-progress"])
    assert result.exit_code == 2
    assert "strategy good on BTC/USD, bar 7 (" in " ".join(result.output.split())
    assert "target nan is not a finite number" in " ".join(result.output.split())
