"""One ``Settings`` object for the whole system (pydantic-settings).

Every engine keeps its own frozen config class next to its code; ``Settings``
composes them and fills them from the environment (prefix ``SIGMAX_``, nested
fields with ``__``, e.g. ``SIGMAX_RISK__MAX_DRAWDOWN_PCT=0.15``) and from a
``.env`` file in the working directory. The store and secrets sections read their
own documented variables (``SIGMAX_POSTGRES_DSN``, ``POSTGRES_POOL_SIZE``,
``SIGMAX_REDIS_URL``, ``SIGMAX_CLICKHOUSE_URL``, ``SIGMAX_VAULT_ADDR``, ...), and so do
the events section (``SIGMAX_EVENTS_<FIELD>``, ``SIGMAX_NATS_URL``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sigmax.agents.config import GraphConfig
from sigmax.backtest.config import BacktestConfig
from sigmax.events.config import EventsConfig
from sigmax.execution.config import PAPER_DEFAULTS, PaperExchangeConfig, VenueConfig
from sigmax.paths import sigmax_home
from sigmax.proposals.config import ApprovalConfig
from sigmax.risk.config import RiskConfig
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.clickhouse_config import ClickHouseConfig
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.storage.redis_config import RedisConfig


class Settings(BaseSettings):
    """Configuration of a SIGMAX process; see docs/CONFIGURATION.md for every field."""

    model_config = SettingsConfigDict(
        env_prefix="SIGMAX_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    home: Path = Field(
        default_factory=sigmax_home,
        description="data directory: downloads, embedded databases, reports",
    )
    log_level: str = Field("INFO", description="structlog level: DEBUG, INFO, WARNING, ERROR")
    log_json: bool = Field(False, description="log JSON lines instead of coloured console text")
    risk: RiskConfig = Field(default_factory=RiskConfig, description="risk engine limits")
    paper: PaperExchangeConfig = Field(
        default_factory=lambda: PaperExchangeConfig(**PAPER_DEFAULTS),
        description="paper exchange costs and fill model (paper sessions)",
    )
    venue: VenueConfig = Field(
        default_factory=VenueConfig,
        description="where orders go: paper (default), dry-run or ccxt:EXCHANGE; testnet, live",
    )
    graph: GraphConfig = Field(
        default_factory=GraphConfig, description="analyst agents, debate, arbitrator, optimiser"
    )
    backtest: BacktestConfig = Field(
        default_factory=BacktestConfig,
        description="defaults of `sigmax backtest` and its Ray job (sweeps too); flags override",
    )
    postgres: PostgresConfig = Field(
        default_factory=PostgresConfig,
        description="PostgreSQL DSN and pool (POSTGRES_POOL_SIZE, ...); embedded when no DSN",
    )
    redis: RedisConfig = Field(
        default_factory=RedisConfig, description="Redis URL and pool; in-process fallbacks"
    )
    clickhouse: ClickHouseConfig = Field(
        default_factory=ClickHouseConfig, description="ClickHouse server URL, or embedded chdb"
    )
    vault: SecretsConfig = Field(
        default_factory=SecretsConfig, description="Vault/OpenBao secrets; env fallback"
    )
    trading: ApprovalConfig = Field(
        default_factory=ApprovalConfig,
        description="trading mode (auto, or approval: orders become proposals), proposal TTL, "
        "how long a session waits for PostgreSQL",
    )
    events: EventsConfig = Field(
        default_factory=EventsConfig,
        description="live-event buses: Redis channels, NATS JetStream (SIGMAX_NATS_URL), queues",
    )

    @field_validator("paper", mode="before")
    @classmethod
    def _paper_defaults(cls, value: object) -> object:
        """Setting one SIGMAX_PAPER__* variable keeps the other paper defaults."""
        if isinstance(value, dict):
            return {**PAPER_DEFAULTS, **value}
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
