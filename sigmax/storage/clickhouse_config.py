"""Configuration of the time-series store: a ClickHouse server, or embedded chdb."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sigmax.paths import sigmax_home


class ClickHouseConfig(BaseSettings):
    """Where bars, equity curves and metrics live (env prefix ``SIGMAX_CLICKHOUSE_``).

    With no ``url`` the store is embedded chdb on ``data_dir``: one process per
    directory (see :mod:`sigmax.storage.clickhouse_store`).
    """

    model_config = SettingsConfigDict(env_prefix="SIGMAX_CLICKHOUSE_", extra="ignore", frozen=True)

    url: str | None = Field(
        None,
        description=(
            "ClickHouse HTTP(S) URL, e.g. http://user:pass@host:8123 (env SIGMAX_CLICKHOUSE_URL); "
            "None = embedded chdb"
        ),
    )
    database: str = Field(
        "sigmax", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="database holding the tables"
    )
    data_dir: Path = Field(
        default_factory=lambda: sigmax_home() / "clickhouse",
        description="embedded chdb data directory (locked by the one process that opens it)",
    )
    pool_size: int = Field(
        8, ge=1, le=256, description="HTTP connections clickhouse-connect keeps (server only)"
    )
    connect_timeout_s: float = Field(10.0, gt=0, description="server connect timeout")
    query_timeout_s: float = Field(300.0, gt=0, description="server send/receive timeout")
    leak_after_s: float = Field(
        300.0, gt=0, description="log a connection held longer than this, with its stack"
    )
