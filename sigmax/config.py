"""One ``Settings`` object for the whole system (pydantic-settings).

Every engine keeps its own frozen config class next to its code; ``Settings``
composes them and fills them from the environment (prefix ``SIGMAX_``, nested
fields with ``__``, e.g. ``SIGMAX_RISK__MAX_DRAWDOWN_PCT=0.15``) and from a
``.env`` file in the working directory.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sigmax.agents.config import GraphConfig
from sigmax.backtest.config import BacktestConfig
from sigmax.execution.config import PaperExchangeConfig
from sigmax.paths import sigmax_home
from sigmax.risk.config import RiskConfig


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
        default_factory=lambda: PaperExchangeConfig(
            maker_fee_bps=Decimal(10), taker_fee_bps=Decimal(10), spread_bps=Decimal(2)
        ),
        description="paper exchange costs and fill model (paper sessions)",
    )
    graph: GraphConfig = Field(
        default_factory=GraphConfig, description="analyst agents, debate, arbitrator, optimiser"
    )
    backtest: BacktestConfig = Field(
        default_factory=BacktestConfig, description="backtest engine defaults"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
