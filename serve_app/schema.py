"""Request and response models of the HTTP API (pydantic v2)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from types import MethodType
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    create_model,
    field_validator,
    model_validator,
)

from sigmax.errors import InvalidInputError
from sigmax.model import OrderRequest, OrderType, Side, TimeInForce
from sigmax.risk.config import RiskConfig

Scope = Literal["read", "trade", "admin"]


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Model(BaseModel):
    """Base of request bodies: unknown fields and control characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        texts = value if isinstance(value, list | tuple | set | frozenset) else [value]
        if isinstance(value, dict):
            texts = [*value.keys(), *value.values()]
        if any(isinstance(t, str) and _CONTROL.search(t) for t in texts):
            raise ValueError("control characters (such as NUL or newlines) are not allowed")
        return value


class ErrorBody(BaseModel):
    detail: Any = Field(description="what went wrong (a list of field errors for 422)")
    code: str = Field(description="machine-readable error code")
    request_id: str | None = Field(None, description="the X-Request-ID of the request")


# ---- health, status, versions ----------------------------------------------------------


class ComponentHealth(BaseModel):
    status: Literal["ok", "degraded", "down", "not_running"]
    required: bool = False
    latency_ms: float | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class HealthOut(BaseModel):
    """The detailed health report (read scope): versions, latencies, pool and backend
    details of every store and session actor."""

    status: Literal["ok", "degraded", "down"]
    version: str
    session_id: str
    stores: dict[str, ComponentHealth]
    actors: dict[str, ComponentHealth]


PublicStatus = Literal["up", "degraded", "down"]


class ComponentStatusOut(BaseModel):
    status: PublicStatus


class PublicHealthOut(BaseModel):
    """Public health: up, degraded or down, overall and per store and session actor
    (an actor that is not running is down); the details need a key."""

    status: PublicStatus
    stores: dict[str, ComponentStatusOut]
    actors: dict[str, ComponentStatusOut]


class VersionInfo(BaseModel):
    version: str
    status: Literal["current", "deprecated", "retired"]
    path: str
    sunset: str | None = None


class VersionsOut(BaseModel):
    versions: list[VersionInfo]
    current: str


class StatusOut(BaseModel):
    version: str
    session_id: str
    account: str
    session_running: bool
    risk: dict[str, Any] | None = None
    remaining_bars: int | None = None
    rate_limit_backend: str
    replica: str = Field(description="which API process answered (host:pid)")
    uptime_s: float


class VenueOut(BaseModel):
    """Where a session's orders go: ``paper``, ``dry-run`` (nothing sent) or
    ``ccxt:EXCHANGE``; ``live`` is true only when they move real money."""

    kind: str = Field(examples=["paper", "dry-run", "ccxt:binance"])
    testnet: bool = False
    live: bool = Field(False, description="real money: a ccxt venue off testnet, confirmed")
    dry_run: bool = False
    exchange: str | None = Field(None, description="the ccxt exchange id of a ccxt venue")
    reconciliation: dict[str, Any] | None = Field(
        None, description="a ccxt venue's reconciliation of the account with the books at start"
    )


# ---- trading ---------------------------------------------------------------------------


class SignalOut(BaseModel):
    agent: str
    score: float
    confidence: float
    rationale: str
    evidence: dict[str, float] = Field(default_factory=dict)


class DecisionOut(BaseModel):
    id: int | None = Field(None, description="row id in the decisions table (None: not stored)")
    ts: datetime
    symbol: str
    target_position: float
    signals: list[SignalOut]
    bull_case: str
    bear_case: str
    rationale: str
    missing: list[str] = Field(default_factory=list)
    approved: bool | None = None
    risk_verdict: dict[str, Any] | None = None


class OrderIn(_Model):
    client_order_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="your id for the order; submitting it again returns the same order",
    )
    symbol: str = Field(min_length=1, max_length=32, examples=["BTC/USD"])
    side: Literal["buy", "sell"]
    qty: Decimal = Field(gt=0, max_digits=30, decimal_places=12)
    type: Literal["market", "limit", "stop", "stop_limit"] = "market"
    limit_price: Decimal | None = Field(None, gt=0, max_digits=30, decimal_places=12)
    stop_price: Decimal | None = Field(None, gt=0, max_digits=30, decimal_places=12)
    tif: Literal["gtc", "ioc"] = "gtc"
    reduce_only: bool = False

    @model_validator(mode="after")
    def _prices_fit_the_type(self) -> OrderIn:
        """A limit or stop_limit order needs limit_price, a stop or stop_limit order
        stop_price, and no order takes a price its type does not use (422, not 500)."""
        try:
            self.to_request()
        except InvalidInputError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_request(self) -> OrderRequest:
        """The order as the trading library takes it (it checks the price rules)."""
        return OrderRequest(
            client_order_id=self.client_order_id,
            symbol=self.symbol,
            side=Side(self.side),
            qty=self.qty,
            type=OrderType(self.type),
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            tif=TimeInForce(self.tif),
            reduce_only=self.reduce_only,
        )


class OrderOut(BaseModel):
    client_order_id: str
    symbol: str
    side: str
    type: str
    qty: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: str
    reduce_only: bool
    status: str
    filled_qty: Decimal
    avg_fill_price: Decimal | None = None
    fees: Decimal
    reason: str | None = None
    created_ts: datetime
    updated_ts: datetime


class RiskCheckOut(BaseModel):
    rule: str
    passed: bool
    detail: str


class OrderResultOut(BaseModel):
    client_order_id: str
    approved: bool
    reason: str
    checks: list[RiskCheckOut]
    order: OrderOut | None = None


class FillOut(BaseModel):
    fill_id: str
    client_order_id: str
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    ts: datetime
    liquidity: str


class PositionOut(BaseModel):
    symbol: str
    qty: Decimal
    avg_price: Decimal
    realized_pnl: Decimal
    mark_price: Decimal | None = None
    notional: Decimal | None = None


class PortfolioOut(BaseModel):
    cash: Decimal
    equity: Decimal
    exposure: Decimal = Field(description="gross notional of all positions at the last price")
    exposure_pct: float = Field(description="exposure / equity")
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal
    fills: int
    positions: dict[str, Decimal]
    prices: dict[str, Decimal]


# ---- risk ------------------------------------------------------------------------------


def _every_field_optional(config: type[BaseModel]) -> dict[str, Any]:
    """``config``'s fields with their types, bounds and descriptions, none required.

    A field left out is unset (the route sends only the fields given); an explicit
    null is validated like any value, so it disables a limit only where ``config``
    allows None.
    """
    fields: dict[str, Any] = {}
    for name, info in config.model_fields.items():
        bounds = tuple(info.metadata)
        annotation = Annotated[(info.annotation, *bounds)] if bounds else info.annotation
        fields[name] = (annotation, Field(None, description=info.description))
    return fields


def _config_validators(config: type[BaseModel]) -> dict[str, Any]:
    """``config``'s field validators, to run on the same fields of another model."""
    validators: dict[str, Any] = {}
    for name, decorator in config.__pydantic_decorators__.field_validators.items():
        function = cast(MethodType, decorator.func).__func__  # unbound from config
        info = decorator.info
        validators[name] = field_validator(*info.fields, mode=info.mode)(classmethod(function))
    return validators


LimitsIn = create_model(
    "LimitsIn",
    __base__=_Model,
    __doc__="Risk limits to change: any of RiskConfig's fields, validated as RiskConfig does.",
    __validators__=_config_validators(RiskConfig),
    **_every_field_optional(RiskConfig),
)


class ReasonIn(_Model):
    reason: str = Field(min_length=1, max_length=500)


class ResumeIn(_Model):
    force: bool = Field(False, description="resume although a breaker holds (rebases equity)")


class RiskStateOut(BaseModel):
    state: str
    reason: str | None = None
    cause: str | None = Field(
        None,
        description="what paused or killed trading: max_drawdown, daily_loss, slippage, "
        "losing_streak, venue_errors, stale_data (automatic); manual, panic, stopped, kill",
    )
    triggers: dict[str, Any] | None = Field(
        None, description="each auto-pause trigger's limit (null: off) and where it stands"
    )


class RiskEventOut(BaseModel):
    seq: int
    ts: datetime
    kind: str
    payload: dict[str, Any]


# ---- analysis, jobs, quantum ----------------------------------------------------------


class BacktestIn(_Model):
    data: str = Field("bundled:BTC-USD-1h", min_length=1, max_length=200)
    symbol: str | None = Field(None, max_length=32)
    timeframe: str | None = Field(None, max_length=8)
    strategy: str = Field("sma_cross", min_length=1, max_length=64)
    params: dict[str, str] = Field(default_factory=dict, max_length=32)
    cash: Decimal = Field(Decimal(10_000), gt=0, max_digits=20)
    fee_bps: Decimal = Field(Decimal(10), ge=0, le=1000)
    slippage_bps: Decimal = Field(Decimal(0), ge=0, le=1000)


class OptimizeIn(_Model):
    """A portfolio optimisation (the options of ``sigmax optimize``)."""

    assets: list[str] = Field(
        default_factory=lambda: ["BTC", "ETH", "LTC", "XRP", "EOS"], min_length=2, max_length=16
    )
    budget: int = Field(3, ge=1, le=16, description="number of assets to hold")
    risk_aversion: float = Field(1.0, gt=0, le=1000)
    solver: Literal["auto", "classical", "qaoa", "vqe"] = "auto"


class TrainIn(_Model):
    """A PPO training run (the options of ``sigmax train``), kept small on purpose."""

    data: str = Field("bundled:BTC-USD-1h", min_length=1, max_length=200)
    iterations: int = Field(5, ge=1, le=500)
    env_runners: int = Field(1, ge=0, le=64)
    continuous: bool = False


class JobOut(BaseModel):
    job_id: str
    kind: str
    status: Literal["running", "succeeded", "failed"]
    submitted_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    result_url: str
    report_url: str


# ---- keys ------------------------------------------------------------------------------


class KeyIn(_Model):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=3)
    expires_days: int | None = Field(None, ge=1, le=3650)


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_from: int | None = None


class NewKeyOut(KeyOut):
    key: str = Field(description="the API key; shown once, store it now")


# ---- proposals (approval mode) ---------------------------------------------------------

ProposalStatusName = Literal["pending", "approved", "executed", "rejected", "expired", "failed"]


class ProposalOut(BaseModel):
    """A proposed order waiting for (or past) an operator's decision."""

    id: str = Field(description="the proposal id; also the client order id of its order")
    account: str
    session_id: str
    symbol: str
    status: ProposalStatusName = Field(description="a pending one past expires_at shows expired")
    order: dict[str, Any] = Field(description="the order it sends: client_order_id, side, qty...")
    reference_price: Decimal = Field(description="the price it was proposed at")
    decision: dict[str, Any] = Field(
        description="every agent's signal, bull/bear debate, rationale, the graph's risk verdict"
    )
    proposed_verdict: dict[str, Any] | None = Field(
        None, description="the risk engine's verdict when proposed"
    )
    created_at: datetime
    expires_at: datetime
    updated_at: datetime | None = None
    decided_by: str | None = Field(None, description="api-key:<id> (<name>) that approved/rejected")
    decided_at: datetime | None = None
    reason: str | None = Field(None, description="why rejected, failed or expired")
    result: dict[str, Any] | None = Field(
        None, description="after approval: the approval-time risk verdict and the order's state"
    )


class ProposalReasonIn(_Model):
    reason: str | None = Field(None, max_length=500, description="why (kept in the audit log)")


class ApprovalOut(BaseModel):
    executed_now: bool = Field(
        description="false when an earlier approval had already executed it (nothing sent)"
    )
    proposal: ProposalOut


# ---- control and probes ----------------------------------------------------------------


class StartIn(_Model):
    force: bool = Field(
        False, description="resume although a cause still holds (see POST /risk/resume)"
    )


class ControlReasonIn(_Model):
    reason: str = Field("operator request", min_length=1, max_length=500)


class RefusedOut(BaseModel):
    symbol: str
    qty: Decimal = Field(description="the signed position that was not closed")
    reason: str


class ControlOut(BaseModel):
    action: Literal["start", "pause", "stop", "panic"]
    state: str = Field(description="the risk state after the action")
    reason: str | None = None
    cause: str | None = None
    cancelled: list[OrderOut] = Field(default_factory=list, description="orders cancelled")
    sent: list[OrderOut] = Field(
        default_factory=list, description="panic: the market orders closing positions"
    )
    refused: list[RefusedOut] = Field(
        default_factory=list, description="panic: positions it could not close, and why"
    )
    notes: list[str] = Field(default_factory=list)


class LiveOut(BaseModel):
    status: Literal["live"]


class ProbeCheck(BaseModel):
    ok: bool
    detail: str | None = None
    latency_ms: float | None = None


class ReadyOut(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, ProbeCheck]
    failed: list[str] = Field(description="names of the checks that failed")


# ---- exchange credentials ----------------------------------------------------------------

CREDENTIAL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CredentialStatus = Literal["untested", "ok", "refused", "failed"]


class CredentialIn(_Model):
    """A new exchange credential; the secret fields are never answered or logged."""

    name: str = Field(pattern=CREDENTIAL_NAME, description="unique name, e.g. 'binance-main'")
    exchange: str = Field(
        min_length=2, max_length=40, pattern=r"^[a-z0-9_]+$", description="ccxt exchange id"
    )
    api_key: SecretStr = Field(min_length=1, max_length=512)
    secret: SecretStr = Field(min_length=1, max_length=512)
    password: SecretStr | None = Field(
        None, min_length=1, max_length=512, description="passphrase (OKX, KuCoin...)"
    )
    sandbox: bool = Field(False, description="testnet keys (ccxt sandbox mode)")


class CredentialUpdateIn(_Model):
    """Rename, switch sandbox, or rotate (api_key and secret together); new secrets and a
    sandbox switch make the credential untested again."""

    name: str | None = Field(None, pattern=CREDENTIAL_NAME)
    api_key: SecretStr | None = Field(None, min_length=1, max_length=512)
    secret: SecretStr | None = Field(None, min_length=1, max_length=512)
    password: SecretStr | None = Field(None, min_length=1, max_length=512)
    sandbox: bool | None = None


class CredentialTestIn(_Model):
    allow_withdraw: bool = Field(
        False,
        description="accept a key with withdrawal rights (audited); without it such a key "
        "is refused",
    )


class CredentialPermissionsOut(BaseModel):
    read: bool | None = Field(description="null: the exchange cannot tell")
    trade: bool | None
    withdraw: bool | None


class CredentialOut(BaseModel):
    """A stored credential as operators see it: a masked hint, never a secret."""

    id: int
    name: str
    exchange: str
    sandbox: bool
    hint: str = Field(description="last characters of the api key, e.g. '****abcd'")
    cipher: Literal["transit", "local"] = Field(description="how it is encrypted at rest")
    key_ref: str = Field(description="the encryption key (and version) used")
    status: CredentialStatus = Field(description="only 'ok' credentials can be used to trade")
    permissions: CredentialPermissionsOut | None = Field(description="found by the last test")
    allow_withdraw: bool = Field(description="the last test accepted withdrawal rights")
    last_error: str | None = None
    tested_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


# ---- dashboard -------------------------------------------------------------------------


class KeyInfoOut(BaseModel):
    """The calling key (never its secret): the dashboard shows controls by scope."""

    key_id: int
    name: str
    scopes: list[str]
    may_trade: bool
    may_admin: bool


class EquityPointOut(BaseModel):
    ts: datetime = Field(description="market time of the bar the equity was marked at")
    equity: float
    drawdown: float = Field(description="equity / running peak - 1 (0 at a new high)")


class EquityOut(BaseModel):
    account: str
    points: list[EquityPointOut] = Field(description="the session's equity curve, oldest first")
    peak: float | None = Field(None, description="highest equity the risk engine has seen")
    last: float | None = Field(None, description="latest equity the risk engine has seen")
    drawdown: float | None = Field(None, description="last / peak - 1")
    day_start_equity: float | None = Field(None, description="equity at the day's first bar")
    pnl_today: float | None = Field(None, description="last - day_start_equity")
