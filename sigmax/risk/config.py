"""Risk limits: one frozen, validated pydantic config composed into the global Settings."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RiskConfig(BaseModel):
    """Pre-trade limits, circuit breakers and compliance rules of the risk engine.

    Fractions are plain ratios (``0.05`` is 5 %). A limit set to ``None`` is disabled.
    Notionals are in the quote currency and exact (:class:`~decimal.Decimal`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_order_notional: Decimal | None = Field(
        default=Decimal("100000"),
        gt=0,
        description="Largest notional (qty x order price) of one order; None disables.",
    )
    max_position_notional: Decimal | None = Field(
        default=Decimal("250000"),
        gt=0,
        description="Largest absolute post-trade position notional per symbol; None disables.",
    )
    position_notional_overrides: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Per-symbol max position notional that replaces max_position_notional.",
    )
    max_gross_exposure: Decimal | None = Field(
        default=Decimal("3"),
        gt=0,
        le=100,
        description="Largest post-trade sum of |position notional| as a multiple of equity.",
    )
    max_leverage: Decimal | None = Field(
        default=Decimal("2"),
        gt=0,
        le=100,
        description="Largest post-trade |net (signed) notional| as a multiple of equity.",
    )
    price_band_pct: Decimal | None = Field(
        default=Decimal("0.05"),
        gt=0,
        le=1,
        description=(
            "Fat-finger band: reject an order whose limit/stop price (or, for a market "
            "order, its reference price) is more than this fraction from the last price."
        ),
    )
    max_orders_per_minute: int | None = Field(
        default=60,
        ge=1,
        le=1_000_000,
        description="Approved orders allowed in any rolling 60 s window (simulated clock).",
    )
    daily_loss_limit_pct: float | None = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Pause trading when equity falls this fraction below the UTC day's start.",
    )
    max_drawdown_pct: float | None = Field(
        default=0.20,
        gt=0,
        le=1,
        description="Circuit breaker: pause trading when equity falls this fraction below peak.",
    )
    max_slippage_pct: float | None = Field(
        default=0.01,
        gt=0,
        le=1,
        description="Pause trading when one fill's adverse slippage exceeds this fraction.",
    )
    max_consecutive_losses: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description=(
            "Pause after this many consecutive losing trades (a trade is an order that "
            "reduces or closes a position; a loss is realised P&L after its fees < 0). "
            "Off by default: it depends on the strategy; 5 is a common choice."
        ),
    )
    max_venue_errors_per_minute: int | None = Field(
        default=10,
        ge=1,
        le=100_000,
        description="Pause when the exchange answers this many errors in any rolling 60 s.",
    )
    stale_data_intervals: int | None = Field(
        default=3,
        ge=1,
        le=10_000,
        description=(
            "Pause when no bar arrived for more than this many bar intervals (wall clock; "
            "live and paper sessions through the actors)."
        ),
    )
    max_open_positions: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description=(
            "Most symbols with an open position at once, across the whole book; an order "
            "that would open one more is rejected. None disables."
        ),
    )
    restricted_symbols: frozenset[str] = Field(
        default_factory=frozenset,
        description="Symbols that may not be traded at all (compliance list).",
    )
    allow_short: bool = Field(
        default=False,
        description="Whether an order may leave a negative (short) position.",
    )

    @field_validator("position_notional_overrides")
    @classmethod
    def _positive_overrides(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for symbol, limit in value.items():
            if not symbol:
                raise ValueError("position_notional_overrides: symbol must not be empty")
            if limit <= 0:
                raise ValueError(
                    f"position_notional_overrides[{symbol!r}]: limit must be > 0, got {limit}"
                )
        return value

    @field_validator("restricted_symbols")
    @classmethod
    def _non_empty_symbols(cls, value: frozenset[str]) -> frozenset[str]:
        if any(not s for s in value):
            raise ValueError("restricted_symbols: symbol must not be empty")
        return value

    def position_limit(self, symbol: str) -> Decimal | None:
        """The max position notional that applies to ``symbol`` (override first)."""
        return self.position_notional_overrides.get(symbol, self.max_position_notional)
