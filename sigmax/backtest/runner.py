"""One call from a backtest request to its result, metrics and reports.

The CLI, Ray jobs and the API all go through :func:`run_backtest`, so a backtest
means the same thing wherever it is started: the same data, strategy, costs and risk
profile (the backtest profile with the request's overrides) for the same request.

A request names one data set and symbol (``data``, ``symbol``) and optionally more
(``extra_legs``): with more than one, or with ``weights``, the symbols run in one
account through :class:`~sigmax.backtest.portfolio.PortfolioEngine`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sigmax.agents.config import GraphConfig
from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine, BacktestResult
from sigmax.backtest.metrics import compute_metrics
from sigmax.backtest.portfolio import PortfolioEngine, PortfolioLeg, equal_weights
from sigmax.backtest.report import report_json, write_html, write_json
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.data import load_bars
from sigmax.errors import InvalidInputError
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.execution.config import PAPER_DEFAULTS
from sigmax.model import BarSeries, ts_from_ns
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.risk.audit import AuditTrail
from sigmax.strategies import Strategy, make_strategy


@dataclass(frozen=True)
class BacktestRequest:
    """What to backtest: data, strategy, costs and risk overrides (the CLI contract's
    arguments)."""

    data: str
    symbol: str | None = None
    timeframe: str | None = None
    strategy: str = "sigmax"
    params: dict[str, str] = field(default_factory=dict)
    cash: Decimal | None = None  # None: the engine config's
    # Costs default to the paper exchange's, so a backtest pays what a paper session does.
    fee_bps: Decimal = PAPER_DEFAULTS["taker_fee_bps"]
    slippage_bps: Decimal = PAPER_DEFAULTS["slippage_bps"]
    spread_bps: Decimal = PAPER_DEFAULTS["spread_bps"]
    fill_gaps: bool = False
    progress: bool | None = None  # None: the engine config's
    risk: dict[str, str] = field(default_factory=dict)  # overrides of the backtest profile
    risk_limits: RiskConfig = field(default_factory=RiskConfig)  # its base: Settings.risk
    engine: BacktestConfig = field(default_factory=BacktestConfig)  # e.g. Settings.backtest
    graph: GraphConfig = field(default_factory=GraphConfig)  # the agent graph's: Settings.graph
    extra_legs: tuple[tuple[str, str], ...] = ()  # (data, symbol) after the first
    weights: dict[str, float] = field(default_factory=dict)  # None given: equal weights

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> BacktestRequest:
        """A request from plain data (an API job's body); absent keys keep the defaults."""
        given = {k: v for k, v in params.items() if v is not None}
        for money in ("cash", "fee_bps", "slippage_bps", "spread_bps"):
            if money in given:
                given[money] = Decimal(str(given[money]))
        for mapping in ("params", "risk"):
            if mapping in given:
                given[mapping] = {str(k): str(v) for k, v in dict(given[mapping]).items()}
        if "extra_legs" in given:
            given["extra_legs"] = tuple((str(d), str(s)) for d, s in given["extra_legs"])
        if "weights" in given:
            given["weights"] = {str(k): float(v) for k, v in dict(given["weights"]).items()}
        return cls(**given)

    def legs(self) -> list[tuple[str, str | None]]:
        """Every (data, symbol) pair, in the order given: the first is ``data``/``symbol``."""
        return [(self.data, self.symbol), *self.extra_legs]

    @property
    def is_portfolio(self) -> bool:
        """Whether this runs through the portfolio engine (several symbols, or weights)."""
        return bool(self.extra_legs or self.weights)

    def load_legs(self) -> list[BarSeries]:
        """Every leg's bars, all loaded (and so checked) before anything runs."""
        series = [
            load_bars(data, symbol, self.timeframe, fill_gaps=self.fill_gaps)
            for data, symbol in self.legs()
        ]
        symbols = [bars.symbol for bars in series]
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        if duplicates:
            raise InvalidInputError(f"--symbol: given twice: {', '.join(duplicates)}")
        unknown = sorted(set(self.weights) - set(symbols))
        if unknown:
            raise InvalidInputError(f"weights: not a symbol of this run: {', '.join(unknown)}")
        return series

    def leg_weights(self, symbols: list[str]) -> list[float]:
        """Each symbol's equity weight: the request's (0 where it names none), else equal."""
        if not self.weights:
            return equal_weights(len(symbols))
        return [self.weights.get(symbol, 0.0) for symbol in symbols]

    def costs(self) -> dict[str, str]:
        """The costs charged, in bps: the fee (maker and taker), slippage and spread."""
        return {
            "fee_bps": str(self.fee_bps),
            "slippage_bps": str(self.slippage_bps),
            "spread_bps": str(self.spread_bps),
        }

    def exchange(self) -> PaperExchange:
        """A fresh paper exchange charging this request's costs."""
        return paper_exchange(self.fee_bps, self.slippage_bps, self.spread_bps)

    def risk_config(self) -> RiskConfig:
        """The backtest risk profile over ``risk_limits`` with this request's overrides."""
        return backtest_risk_config(self.risk, self.risk_limits)

    def engine_config(self) -> BacktestConfig:
        """``engine`` with this request's cash and progress where given."""
        given = {"cash": self.cash, "progress": self.progress}
        overrides = {k: v for k, v in given.items() if v is not None}
        return BacktestConfig.model_validate({**self.engine.model_dump(), **overrides})


@dataclass(frozen=True)
class BacktestOutcome:
    result: BacktestResult
    metrics: dict[str, Any]
    document: dict[str, Any]


def run_backtest(
    request: BacktestRequest,
    risk_config: RiskConfig | None = None,
    bars: BarSeries | None = None,
) -> BacktestOutcome:
    """Load the data (unless given), run the strategy, compute metrics, build the JSON.

    The risk limits are the request's (:meth:`BacktestRequest.risk_config`) unless
    ``risk_config`` is given."""
    config = request.engine_config()
    risk = risk_config or request.risk_config()
    strategy = make_strategy(request.strategy, request.params, request.graph)
    if request.is_portfolio:
        if bars is not None:
            raise ValueError("run_backtest: bars are given for single-symbol requests only")
        legs = request.load_legs()
        result = run_portfolio(request, legs, config, risk)
    else:
        if bars is None:
            bars = load_bars(
                request.data, request.symbol, request.timeframe, fill_gaps=request.fill_gaps
            )
        engine = BacktestEngine(
            config, RiskEngine(risk, AuditTrail(deferred=True)), request.exchange()
        )
        result = engine.run(bars, strategy)
    metrics = compute_metrics(result, float(request.fee_bps))
    bars = result.bars
    meta = {
        "data": request.data,
        "symbol": bars.symbol,
        "timeframe": bars.timeframe,
        "strategy": strategy.name,
        "params": strategy.params.model_dump(exclude_none=True),
        "cash": str(config.cash),
        "fee_bps": str(request.fee_bps),
        "slippage_bps": str(request.slippage_bps),
        "costs": request.costs(),
        "first_bar": ts_from_ns(bars.ts[0]).isoformat(),
        "last_bar": ts_from_ns(bars.ts[-1]).isoformat(),
        "elapsed_s": round(result.elapsed_s, 4),
        "bars_per_s": round(len(bars) / result.elapsed_s) if result.elapsed_s > 0 else None,
    }
    if request.is_portfolio:
        meta["legs"] = [
            {"data": data, "symbol": symbol}
            for (data, _), symbol in zip(request.legs(), result.legs, strict=True)
        ]
        symbols = list(result.legs)
        meta["weights"] = dict(zip(symbols, request.leg_weights(symbols), strict=True))
    return BacktestOutcome(result, metrics, report_json(result, metrics, meta))


def run_portfolio(
    request: BacktestRequest,
    series: list[BarSeries],
    config: BacktestConfig,
    risk_config: RiskConfig,
) -> BacktestResult:
    """The request's strategy on every leg (one instance each) in one account."""
    weights = request.leg_weights([bars.symbol for bars in series])
    legs = [
        PortfolioLeg(bars, make_strategy(request.strategy, request.params, request.graph), w)
        for bars, w in zip(series, weights, strict=True)
    ]
    engine = PortfolioEngine(
        config, RiskEngine(risk_config, AuditTrail(deferred=True)), request.exchange()
    )
    return engine.run(legs)


def paper_exchange(
    fee_bps: Decimal, slippage_bps: Decimal, spread_bps: Decimal = Decimal(0)
) -> PaperExchange:
    """The paper exchange of a backtest: one fee for maker and taker, adverse slippage,
    half the spread paid on every taker fill."""
    return PaperExchange(
        PaperExchangeConfig(
            maker_fee_bps=fee_bps,
            taker_fee_bps=fee_bps,
            slippage_bps=slippage_bps,
            spread_bps=spread_bps,
        )
    )


def run_engine(
    bars: BarSeries,
    strategy: Strategy,
    config: BacktestConfig,
    fee_bps: Decimal,
    slippage_bps: Decimal,
    risk_config: RiskConfig,
    spread_bps: Decimal = Decimal(0),
) -> BacktestResult:
    """One strategy through a fresh engine, risk engine and paper exchange."""
    exchange = paper_exchange(fee_bps, slippage_bps, spread_bps)
    engine = BacktestEngine(config, RiskEngine(risk_config, AuditTrail(deferred=True)), exchange)
    return engine.run(bars, strategy)


def save_reports(
    outcome: BacktestOutcome, json_path: Path | None, html_path: Path | None, fee_bps: float
) -> None:
    if json_path is not None:
        write_json(json_path, outcome.document)
    if html_path is not None:
        write_html(html_path, outcome.result, outcome.metrics, outcome.document["meta"], fee_bps)
