"""The risk limits a backtest runs under.

A backtest runs every order through the same :class:`~sigmax.risk.RiskEngine` as
paper and live trading. What differs is the starting profile: limits written in
absolute money (order and position notional) and the breakers that halt trading
for the rest of the run (daily loss, drawdown, order rate) are off unless asked
for, because a research backtest measures the strategy over its whole span and its
cash differs from the live account's. Every other rule (leverage, gross exposure,
price band, slippage monitor, restricted symbols, shorting) applies as configured
in ``Settings.risk``, which the entry point passes in as ``base``. ``--risk key=value``
overrides any field, e.g. ``--risk max_drawdown_pct=0.2`` to see the circuit breaker act.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigmax.errors import InvalidInputError
from sigmax.risk import RiskConfig

OFF_IN_BACKTESTS: dict[str, Any] = {
    "max_order_notional": None,
    "max_position_notional": None,
    "max_orders_per_minute": None,
    "daily_loss_limit_pct": None,
    "max_drawdown_pct": None,
}


def backtest_risk_config(
    overrides: Mapping[str, str] | None = None, base: RiskConfig | None = None
) -> RiskConfig:
    """``base`` (the deployment's limits, ``Settings.risk``; RiskConfig's defaults when
    None) with the backtest profile and ``overrides`` applied."""
    fields = (base or RiskConfig()).model_dump()
    fields.update(OFF_IN_BACKTESTS)
    for key, value in (overrides or {}).items():
        if key not in RiskConfig.model_fields:
            known = ", ".join(sorted(RiskConfig.model_fields))
            raise InvalidInputError(f"--risk: unknown limit {key!r}; known: {known}")
        fields[key] = None if value.lower() in ("none", "off") else value
    return RiskConfig.model_validate(fields)
