"""Configuration of the execution venues: the paper exchange and the ccxt adapter."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

MarketType = Literal["spot", "margin", "swap", "future"]


class PaperExchangeConfig(BaseModel):
    """Costs and granularity of the simulated exchange.

    All rates are in basis points (1 bp = 0.01 %). With every cost at zero and no
    participation cap, a market order fills at exactly the next bar's open.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    maker_fee_bps: Decimal = Field(
        default=Decimal(0),
        ge=-100,
        le=1000,
        description="Fee on maker (resting limit) fills in bps of notional; negative is a rebate.",
    )
    taker_fee_bps: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=1000,
        description="Fee on taker fills (market, stop, marketable limit) in bps of notional.",
    )
    slippage_bps: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=1000,
        description="Fixed extra adverse price move on every taker fill, in bps.",
    )
    spread_bps: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=1000,
        description="Quoted bid/ask spread in bps; taker fills pay half of it.",
    )
    impact_bps_per_participation: Decimal = Field(
        default=Decimal(0),
        ge=0,
        le=100_000,
        description=(
            "Market impact on taker fills: extra adverse bps per unit of participation "
            "(fill qty / bar volume); 100 means 1 bp for taking 1 % of the bar's volume."
        ),
    )
    max_participation: Decimal | None = Field(
        default=None,
        gt=0,
        le=1,
        description=(
            "Largest share of one bar's volume one order may fill in that bar; the rest "
            "waits for later bars (IOC: is cancelled). None means no cap."
        ),
    )
    qty_step: Decimal | None = Field(
        default=None,
        gt=0,
        description="Quantity increment: order quantities must be multiples of it and "
        "capped fills are rounded down to it. None means no rounding.",
    )
    price_tick: Decimal | None = Field(
        default=None,
        gt=0,
        description="Price increment: limit and stop prices must be multiples of it and "
        "taker fill prices are rounded adversely to it. None means no rounding.",
    )


# Paper sessions pay realistic costs by default (``Settings.paper``), and backtests
# charge the same unless told otherwise (sigmax.backtest.runner.BacktestRequest).
PAPER_DEFAULTS: dict[str, Decimal] = {
    "maker_fee_bps": Decimal(10),
    "taker_fee_bps": Decimal(10),
    "slippage_bps": Decimal(0),
    "spread_bps": Decimal(2),
}


class CcxtVenueConfig(BaseModel):
    """Which ccxt exchange the live adapter trades on, and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_id: str = Field(
        default="binance",
        min_length=2,
        max_length=40,
        pattern=r"^[a-z0-9_]+$",
        description="ccxt exchange id, e.g. 'binance', 'kraken', 'bybit'.",
    )
    sandbox: bool = Field(
        default=True,
        description="Trade on the exchange's testnet (ccxt set_sandbox_mode); False is real money.",
    )
    market_type: MarketType = Field(
        default="spot",
        description="Default market type, passed to ccxt as options['defaultType'].",
    )
    timeout_ms: int = Field(
        default=10_000,
        ge=1_000,
        le=120_000,
        description="HTTP timeout of one exchange request in milliseconds.",
    )
    options: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Extra ccxt exchange options, merged over the defaults above.",
    )
    base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+/?$",
        description=(
            "Send every REST request to this scheme://host[:port] instead of the exchange's "
            "own (paths kept): a local simulator or a proxy. None: the exchange itself."
        ),
    )
    network_retries: int = Field(
        default=0,
        ge=0,
        le=10,
        description=(
            "How often a failed request (network error, timeout, 429) is retried after a "
            "backoff; an unanswered order is looked up by its client order id before any "
            "resend. 0: the error goes to the caller, who resubmits to reconcile."
        ),
    )
    backoff_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="First backoff before a retry, doubled each time; a 429's Retry-After wins.",
    )


class VenueConfig(BaseModel):
    """Where a session's orders go (``Settings.venue``, ``SIGMAX_VENUE__*``).

    ``kind`` is ``paper`` (the simulated exchange, the default), ``dry-run`` (real
    markets and balances read through ccxt, nothing sent) or ``ccxt:EXCHANGE`` (orders go
    to that exchange). A ccxt venue off its testnet moves real money and is refused
    unless ``live`` is set as well.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(
        default="paper",
        pattern=r"^(paper|dry-run|ccxt:[a-z0-9_]{2,40})$",
        description="paper | dry-run | ccxt:EXCHANGE (a ccxt exchange id, e.g. ccxt:binance).",
    )
    exchange_id: str = Field(
        default="binance",
        min_length=2,
        max_length=40,
        pattern=r"^[a-z0-9_]+$",
        description="The exchange a dry run reads its markets and balances from.",
    )
    credentials: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        description=(
            "Whose API keys: the stored credential of that name (sigmax credentials add), "
            "else Vault exchanges/<name>, else the environment's "
            "SIGMAX_EXCHANGE_<NAME>_API_KEY / _SECRET (two accounts on one exchange get "
            "two names). None: the exchange id."
        ),
    )
    testnet: bool = Field(
        default=False,
        description="Use the exchange's testnet (ccxt set_sandbox_mode): no real money.",
    )
    live: bool = Field(
        default=False,
        description="The explicit switch for real money: a ccxt venue off testnet needs it.",
    )
    base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/\s]+/?$",
        description="Send the exchange's REST requests to scheme://host[:port] (simulator, proxy).",
    )
    market_type: MarketType = Field(default="spot", description="ccxt defaultType.")
    timeout_ms: int = Field(default=10_000, ge=1_000, le=120_000, description="HTTP timeout.")
    network_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a failed request after a backoff."
    )
    backoff_s: float = Field(default=1.0, ge=0, le=60, description="First retry backoff.")
    options: dict[str, JsonValue] = Field(
        default_factory=dict, description="Extra ccxt exchange options."
    )

    @property
    def is_ccxt(self) -> bool:
        return self.kind.startswith("ccxt:")

    @property
    def ccxt_exchange_id(self) -> str:
        """The exchange of a ccxt or dry-run venue."""
        return self.kind.removeprefix("ccxt:") if self.is_ccxt else self.exchange_id

    @property
    def credentials_name(self) -> str:
        """The name the venue's API keys are stored under."""
        return self.credentials or self.ccxt_exchange_id

    @property
    def real_money(self) -> bool:
        """Whether orders would reach a real-money account (a ccxt venue off testnet)."""
        return self.is_ccxt and not self.testnet

    def ccxt_config(self) -> CcxtVenueConfig:
        """The adapter settings of this venue's exchange."""
        return CcxtVenueConfig(
            exchange_id=self.ccxt_exchange_id,
            sandbox=self.testnet,
            market_type=self.market_type,
            timeout_ms=self.timeout_ms,
            options=self.options,
            base_url=self.base_url,
            network_retries=self.network_retries,
            backoff_s=self.backoff_s,
        )
