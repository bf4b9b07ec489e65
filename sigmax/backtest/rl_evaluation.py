"""Walk-forward evaluation of a trained RL policy on the held-out (later) bars.

The policy (deterministic actions, ``rl_policy`` strategy), the rule-based decision
graph (``sigmax`` strategy) and buy-and-hold run on the same held-out window through the
same backtest engine, fees and risk limits (``run_backtest``); each strategy warms up
inside that window from the bars it is given, so none sees the training bars. It lives
in the backtest package, which builds on ``sigmax.rl`` (the ``rl_policy`` strategy), not
in ``sigmax.rl``, which the backtest's strategies import.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sigmax.agents.config import GraphConfig
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.data import load_bars
from sigmax.model import BarSeries, ts_from_ns
from sigmax.risk import RiskConfig
from sigmax.rl.env import train_range
from sigmax.rl.policy import TrainedPolicy

METRICS = ("total_return", "sharpe", "max_drawdown", "fills", "exposure", "fees_paid")


@dataclass(frozen=True)
class Evaluation:
    """Metrics by strategy name (``rl_policy``, ``sigmax``, ``buy_and_hold``)."""

    checkpoint: Path
    data: str
    first_bar: str
    last_bar: str
    bars: int
    results: dict[str, dict[str, float]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": str(self.checkpoint),
            "data": self.data,
            "first_bar": self.first_bar,
            "last_bar": self.last_bar,
            "bars": self.bars,
            "results": self.results,
        }


def held_out(bars: BarSeries, train_fraction: float) -> BarSeries:
    """The bars after the training split (the env's ``train_range``)."""
    from sigmax.rl.config import EnvConfig

    _, split = train_range(EnvConfig(train_fraction=train_fraction), len(bars))
    if split >= len(bars) - 1:
        raise ValueError(f"train_fraction {train_fraction} leaves no held-out bars")
    return bars[split:]


def evaluate(
    checkpoint: str | Path,
    data: str | None = None,
    fee_bps: float | None = None,
    slippage_bps: float | None = None,
    cash: Decimal = Decimal(10_000),
    risk_limits: RiskConfig | None = None,
    graph: GraphConfig | None = None,
) -> Evaluation:
    """Backtest the policy, the agent graph and buy-and-hold on the held-out window of
    ``data`` (default: the data the policy was trained on, split the same way), under
    the backtest risk profile over ``risk_limits`` (the caller's ``Settings.risk``); the
    agent graph runs with ``graph`` (the caller's ``Settings.graph``)."""
    policy = TrainedPolicy.load(checkpoint)
    env = policy.env
    source = data or env.data
    bars = held_out(load_bars(source, env.symbol, env.timeframe), env.train_fraction)
    fee = Decimal(str(env.fee_bps if fee_bps is None else fee_bps))
    slip = Decimal(str(env.slippage_bps if slippage_bps is None else slippage_bps))
    risk = backtest_risk_config(base=risk_limits)
    results: dict[str, dict[str, float]] = {}
    baseline: dict[str, float] = {}
    for name, params in (
        ("rl_policy", {"checkpoint": str(policy.checkpoint)}),
        ("sigmax", {}),
    ):
        request = BacktestRequest(
            data=source,
            strategy=name,
            params=params,
            cash=cash,
            fee_bps=fee,
            slippage_bps=slip,
            spread_bps=Decimal(0),  # the training env's costs are its fee and slippage only
            progress=False,
            graph=graph or GraphConfig(),
        )
        metrics = run_backtest(request, risk, bars=bars).metrics
        results[name] = {k: float(metrics[k]) for k in METRICS}
        baseline = metrics["buy_and_hold"]
    results["buy_and_hold"] = {
        k: float(baseline[k]) for k in ("total_return", "sharpe", "max_drawdown")
    }
    return Evaluation(
        policy.checkpoint,
        source,
        ts_from_ns(bars.ts[0]).isoformat(),
        ts_from_ns(bars.ts[-1]).isoformat(),
        len(bars),
        results,
    )
