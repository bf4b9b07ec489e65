"""Several symbols in one account: exactness against single-symbol runs, the exact
ledger, weights, and the ``sigmax backtest`` contract with repeated --data/--symbol."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestResult
from sigmax.backtest.portfolio import PortfolioEngine, PortfolioLeg, union_timeline
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, paper_exchange, run_engine
from sigmax.cli import app
from sigmax.data import load_bars
from sigmax.model import BarSeries, to_decimal
from sigmax.risk import RiskEngine
from sigmax.strategies import SmaCross, Strategy, make_strategy
from sigmax.trading.planner import target_qty

runner = CliRunner()
CASH = Decimal(10_000)
FEE = Decimal(10)
SETS = ("ETH-USD-30m", "LTC-USD-30m", "XRP-USD-30m")
# Today's single-symbol JSON (before portfolios): every key must stay.
SINGLE_KEYS = {"decisions", "equity", "ledger", "meta", "metrics", "rejections", "risk", "trades"}
SINGLE_META_KEYS = {
    "bars_per_s",
    "cash",
    "costs",
    "data",
    "elapsed_s",
    "fee_bps",
    "first_bar",
    "last_bar",
    "params",
    "slippage_bps",
    "strategy",
    "symbol",
    "timeframe",
}
SINGLE_TRADE_KEYS = {"client_order_id", "fee", "price", "qty", "realized_pnl", "side", "ts"}


class HalfLong(Strategy):
    """Test strategy: flat for 50 bars, then long half the equity it is given."""

    name = "half_long"
    unit = "equity_fraction"

    def targets(self, bars: BarSeries) -> np.ndarray:
        wants = np.full(len(bars), 0.5)
        wants[:50] = 0.0
        return wants


@pytest.fixture(scope="module")
def slices() -> list[BarSeries]:
    """3,000 real 30-minute bars of three symbols, over a slightly shifted span each so
    the union timeline has timestamps where one symbol has no bar."""
    series = []
    for offset, name in enumerate(SETS):
        bars = load_bars(f"bundled:{name}", None, "30m")
        series.append(bars[10_000 + 40 * offset : 13_000 + 40 * offset])
    return series


def _sma() -> Strategy:
    return make_strategy("sma_cross", {"fast": "12", "slow": "48", "size": "1"})


def _portfolio(legs: list[PortfolioLeg], **risk: str) -> BacktestResult:
    engine = PortfolioEngine(
        BacktestConfig(cash=CASH, progress=False),
        RiskEngine(backtest_risk_config(risk)),
        paper_exchange(FEE, Decimal(0)),
    )
    return engine.run(legs)


def _single(bars: BarSeries) -> BacktestResult:
    config = BacktestConfig(cash=CASH, progress=False)
    return run_engine(bars, _sma(), config, FEE, Decimal(0), backtest_risk_config())


def _trades(result: BacktestResult) -> list[tuple]:
    return [(e.fill.ts, e.fill.side, e.fill.qty, e.fill.price, e.fill.fee) for e in result.entries]


def _on_timeline(timeline: np.ndarray, bars: BarSeries, values: np.ndarray) -> np.ndarray:
    """A single run's per-bar equity on the union timeline: its last value, cash before."""
    at = np.searchsorted(bars.ts, timeline, side="right") - 1
    return np.where(at >= 0, values[np.maximum(at, 0)], float(CASH))


def test_portfolio_trades_each_symbol_as_its_single_run(slices):
    singles = [_single(bars) for bars in slices]
    result = _portfolio([PortfolioLeg(bars, _sma()) for bars in slices])
    assert list(result.legs) == ["ETH/USD", "LTC/USD", "XRP/USD"]
    for bars, single in zip(slices, singles, strict=True):
        own = result.legs[bars.symbol]
        assert single.entries and _trades(own) == _trades(single)
        assert [e.fill.symbol for e in own.entries] == [bars.symbol] * len(own.entries)
    timeline = union_timeline(slices)
    assert len(timeline) > len(slices[0])  # the shifted spans leave gaps to mark through
    summed = sum(
        _on_timeline(timeline, bars, single.equity)
        for bars, single in zip(slices, singles, strict=True)
    )
    expected = summed - (len(slices) - 1) * float(CASH)
    np.testing.assert_allclose(result.equity, expected, rtol=0, atol=1e-7)
    total = sum((s.final_equity for s in singles), Decimal(0)) - 2 * CASH
    assert result.final_equity == total


def test_ledger_reconciles_exactly(slices):
    result = _portfolio([PortfolioLeg(bars, _sma()) for bars in slices])
    fills = [e.fill for e in result.entries]
    cash = CASH - sum(
        (f.qty * f.price * (1 if f.side.value == "buy" else -1) + f.fee for f in fills),
        Decimal(0),
    )
    assert result.entries[-1].cash_after == cash
    positions = {
        bars.symbol: result.legs[bars.symbol].entries[-1].position_after for bars in slices
    }
    marks = {bars.symbol: to_decimal(float(bars.close[-1])) for bars in slices}
    assert result.final_equity == cash + sum(positions[s] * marks[s] for s in positions)
    assert result.fees_paid == sum((leg.fees_paid for leg in result.legs.values()), Decimal(0))
    assert result.fees_paid == sum((f.fee for f in fills), Decimal(0))
    assert result.realized_pnl == sum(
        (leg.realized_pnl for leg in result.legs.values()), Decimal(0)
    )
    assert float(result.final_equity) == pytest.approx(result.equity[-1], abs=1e-6)


def test_equal_weights_split_equity_fraction_targets(slices):
    same_span = [slices[0][40:], slices[1]]
    assert same_span[0].ts[0] == same_span[1].ts[0]
    legs = [PortfolioLeg(bars, HalfLong(), 0.5) for bars in same_span]
    result = _portfolio(legs, max_gross_exposure="none", max_leverage="none")
    for bars in same_span:
        first = result.legs[bars.symbol].orders[0].request
        # both decide at bar 50's close, before anything fills: equity is the cash
        price = float(bars.close[50])
        assert first.qty == target_qty(0.25, "equity_fraction", float(CASH), price, Decimal("1e-8"))


def test_request_weights_scale_targets_and_default_to_equal():
    request = BacktestRequest(data="a", weights={"ETH/USD": 0.75})
    assert request.leg_weights(["ETH/USD", "LTC/USD"]) == [0.75, 0.0]
    assert BacktestRequest(data="a").leg_weights(["ETH/USD", "LTC/USD"]) == [0.5, 0.5]


def test_qty_strategies_ignore_weights(slices):
    even = _portfolio([PortfolioLeg(slices[0], _sma(), 0.5)])
    skewed = _portfolio([PortfolioLeg(slices[0], _sma(), 0.1)])
    assert _trades(even) == _trades(skewed)
    assert isinstance(_sma(), SmaCross)


# -- the command line -----------------------------------------------------------------


def _csvs(slices: list[BarSeries], tmp_path: Path) -> list[Path]:
    paths = []
    for bars in slices:
        path = tmp_path / f"{bars.symbol.replace('/', '-')}.csv"
        bars[:1500].to_frame().reset_index().to_csv(path, index=False)
        paths.append(path)
    return paths


def _pairs(paths: list[Path], symbols: list[str]) -> list[str]:
    args: list[str] = []
    for path, symbol in zip(paths, symbols, strict=True):
        args += ["--data", str(path), "--symbol", symbol]
    return args


SMA_ARGS = ["--strategy", "sma_cross", "--param", "fast=12", "--param", "slow=48"]
SMA_ARGS += ["--param", "size=1", "--cash", "10000", "--fee-bps", "10", "--no-progress"]


def test_cli_portfolio_json_has_symbols_and_a_symbol_per_trade(slices, tmp_path):
    paths = _csvs(slices[:2], tmp_path)
    out, html = tmp_path / "out.json", tmp_path / "out.html"
    args = ["backtest", *_pairs(paths, ["ETH/USD", "LTC/USD"]), "--timeframe", "30m"]
    result = runner.invoke(app, [*args, *SMA_ARGS, "--json", str(out), "--report", str(html)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert SINGLE_KEYS | {"symbols"} <= set(doc)
    assert set(doc["symbols"]) == {"ETH/USD", "LTC/USD"}
    assert {t["symbol"] for t in doc["trades"]} == {"ETH/USD", "LTC/USD"}
    per_symbol = doc["symbols"]
    assert sum(s["trades"] for s in per_symbol.values()) == len(doc["trades"])
    assert sum(s["fees_paid"] for s in per_symbol.values()) == pytest.approx(
        doc["metrics"]["fees_paid"]
    )
    assert {"exposure", "fees_paid", "trades", "metrics"} <= set(per_symbol["ETH/USD"])
    assert doc["meta"]["weights"] == {"ETH/USD": 0.5, "LTC/USD": 0.5}
    assert len(doc["equity"]) == len(union_timeline([s[:1500] for s in slices[:2]]))
    assert "LTC/USD" in html.read_text()


def test_cli_single_symbol_json_keeps_every_field_and_gains_symbols(slices, tmp_path):
    (path,) = _csvs(slices[:1], tmp_path)
    out = tmp_path / "out.json"
    args = ["backtest", "--data", str(path), "--symbol", "ETH/USD", "--timeframe", "30m"]
    result = runner.invoke(app, [*args, *SMA_ARGS, "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert set(doc) == SINGLE_KEYS | {"symbols"}
    assert set(doc["meta"]) == SINGLE_META_KEYS
    assert all(set(t) == SINGLE_TRADE_KEYS | {"symbol"} for t in doc["trades"])
    assert list(doc["symbols"]) == ["ETH/USD"]
    assert doc["symbols"]["ETH/USD"]["trades"] == len(doc["trades"])


@pytest.mark.parametrize(
    ("symbols", "message"),
    [
        (["ETH/USD"], "--data given 2 times but --symbol 1 times"),
        (["ETH/USD", "ETH/USD"], "given twice: ETH/USD"),
    ],
)
def test_cli_refuses_unpaired_or_duplicate_symbols(slices, tmp_path, symbols, message):
    paths = _csvs(slices[:2], tmp_path)
    out = tmp_path / "out.json"
    args = ["backtest", "--data", str(paths[0]), "--data", str(paths[1])]
    for symbol in symbols:
        args += ["--symbol", symbol]
    result = runner.invoke(app, [*args, *SMA_ARGS, "--json", str(out)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_cli_refuses_a_timeframe_one_data_set_cannot_give(slices, tmp_path):
    (eth,) = _csvs(slices[:1], tmp_path)
    out = tmp_path / "out.json"
    args = ["backtest", "--data", str(eth), "--symbol", "ETH/USD"]
    args += ["--data", "bundled:bitstamp-LTC-USD-1d", "--symbol", "LTC/USD"]
    result = runner.invoke(app, [*args, "--timeframe", "30m", *SMA_ARGS, "--json", str(out)])
    assert result.exit_code != 0
    assert "30m" in result.output
    assert not out.exists()


def test_cli_refuses_a_portfolio_sweep(slices, tmp_path):
    paths = _csvs(slices[:2], tmp_path)
    args = ["backtest", *_pairs(paths, ["ETH/USD", "LTC/USD"]), "--sweep", "fast=5,10"]
    result = runner.invoke(app, [*args, *SMA_ARGS])
    assert result.exit_code == 2
    assert "--sweep" in result.output


def test_cli_allocation_weights_equity_fraction_targets(slices, tmp_path):
    eth, ltc = slices[0][40:], slices[1]  # the same span: both decide before any fill
    paths = _csvs([eth, ltc], tmp_path)
    allocation, out = tmp_path / "opt.json", tmp_path / "out.json"
    allocation.write_text(json.dumps({"weights": {"ETH": 0.8, "LTC": 0.2}}))
    args = ["backtest", *_pairs(paths, ["ETH/USD", "LTC/USD"]), "--timeframe", "30m"]
    args += ["--strategy", f"{Path(__file__)}:HalfLong", "--no-progress"]
    args += ["--risk", "max_gross_exposure=none", "--risk", "max_leverage=none"]
    result = runner.invoke(app, [*args, "--allocation", str(allocation), "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["meta"]["weights"] == {"ETH/USD": 0.8, "LTC/USD": 0.2}
    first = {s: next(t for t in doc["trades"] if t["symbol"] == s) for s in ("ETH/USD", "LTC/USD")}
    assert first["ETH/USD"]["qty"] == pytest.approx(0.4 * 10_000 / eth.close[50], abs=1e-8)
    assert first["LTC/USD"]["qty"] == pytest.approx(0.1 * 10_000 / ltc.close[50], abs=1e-8)


def test_portfolio_risk_sees_the_whole_book(slices):
    result = _portfolio([PortfolioLeg(bars, _sma()) for bars in slices], max_open_positions="1")
    refused = [r for r in result.rejections if r.verdict.reason.startswith("max_open_positions")]
    assert refused
    held = [e for e in result.audit if e.kind == "risk_check" and not e.payload["approved"]]
    book = held[0].payload["context"]["positions_notional"]
    assert any(s != held[0].payload["order"]["symbol"] and n != "0" for s, n in book.items())
    open_count = sum((leg.position != 0).astype(int) for leg in result.legs.values())
    assert open_count.max() == 1


def test_job_entry_point_takes_the_same_pairs(slices, tmp_path):
    from sigmax.jobs.backtest import main

    paths = _csvs(slices[:2], tmp_path)
    out = tmp_path / "job.json"
    args = [*_pairs(paths, ["ETH/USD", "LTC/USD"]), "--timeframe", "30m", *SMA_ARGS]
    assert main([*args, "--json", str(out)]) == 0
    assert set(json.loads(out.read_text())["symbols"]) == {"ETH/USD", "LTC/USD"}
    assert main([*args[:4], "--data", str(paths[1]), *SMA_ARGS]) == 2


def test_docs_portfolio_command_runs_as_written(tmp_path):
    """docs/PORTFOLIO.md's command, with only OUT.json and OUT.html pointed at tmp_path:
    the whole bundled ETH and LTC 30-minute sets in one account."""
    doc = (Path(__file__).parents[2] / "docs" / "PORTFOLIO.md").read_text()
    block = doc.split("```bash\n", 1)[1].split("```", 1)[0]
    words = block.replace("\\\n", " ").split()
    assert words[:2] == ["sigmax", "backtest"]
    out, html = tmp_path / "OUT.json", tmp_path / "OUT.html"
    args = [{"OUT.json": str(out), "OUT.html": str(html)}.get(w, w) for w in words[1:]]
    result = runner.invoke(app, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report["symbols"]) == {"ETH/USD", "LTC/USD"}
    assert all(report["symbols"][s]["trades"] > 0 for s in ("ETH/USD", "LTC/USD"))
    assert html.exists()
