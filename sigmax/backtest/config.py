"""Configuration of one backtest run."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from sigmax.trading.planner import SizingRules


class BacktestConfig(BaseModel):
    """How the backtest engine turns wanted positions into orders.

    Risk limits and the paper exchange's costs have their own configs
    (``RiskConfig``, ``PaperExchangeConfig``); this holds what belongs to the run.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    cash: Decimal = Field(Decimal(10_000), gt=0, description="starting cash, quote currency")
    qty_step: Decimal = Field(
        Decimal("0.00000001"),
        gt=0,
        description="order quantities are rounded down to a multiple of this (lot size)",
    )
    min_order_notional: Decimal = Field(
        Decimal(0),
        ge=0,
        description="rebalancing orders smaller than this notional are not sent",
    )
    progress: bool = Field(True, description="show a progress bar on long runs")
    progress_min_bars: int = Field(
        200_000, ge=0, description="runs shorter than this many bars show no progress bar"
    )

    @property
    def sizing_rules(self) -> SizingRules:
        """The lot size and smallest order of this run, as the rebalance step takes them."""
        return SizingRules(self.qty_step, self.min_order_notional)
