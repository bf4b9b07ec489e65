"""Configuration of the PostgreSQL connection pool and the embedded server.

Pool settings keep the environment names the original SIGMAX documents
(``POSTGRES_POOL_SIZE``, ``POSTGRES_MAX_OVERFLOW``, ``POSTGRES_POOL_TIMEOUT``,
``POSTGRES_POOL_RECYCLE``); each is also accepted with a ``SIGMAX_`` prefix, which
wins when both are set. Those names come from SQLAlchemy's pool; asyncpg's pool has a
minimum and a maximum instead, mapped as::

    min_size = POSTGRES_POOL_SIZE                          (connections kept open)
    max_size = POSTGRES_POOL_SIZE + POSTGRES_MAX_OVERFLOW  (ceiling under load)

``POSTGRES_POOL_RECYCLE`` is both asyncpg's ``max_inactive_connection_lifetime`` (idle
connections are closed after it) and a maximum age: a connection older than it is
closed when it is released and replaced by a fresh one on a later acquire.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sigmax.paths import sigmax_home


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"SIGMAX_{name}", name)


def _default_data_dir() -> Path:
    return sigmax_home() / "postgres"


class PostgresConfig(BaseSettings):
    """Where PostgreSQL is and how the process-wide pool behaves (frozen).

    ``dsn`` None means: start (or reuse) the embedded server in ``embedded_data_dir``.
    """

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        hide_input_in_errors=True,  # a bad DSN may carry a password
    )

    dsn: str | None = Field(
        None,
        validation_alias=AliasChoices("SIGMAX_POSTGRES_DSN"),
        description="postgresql:// DSN; unset = embedded server in embedded_data_dir",
    )
    pool_size: int = Field(
        10,
        ge=1,
        validation_alias=_env("POSTGRES_POOL_SIZE"),
        description="connections kept open (asyncpg min_size)",
    )
    max_overflow: int = Field(
        5,
        ge=0,
        validation_alias=_env("POSTGRES_MAX_OVERFLOW"),
        description="extra connections above pool_size under load (max_size = size + overflow)",
    )
    pool_timeout: float = Field(
        10.0,
        gt=0,
        validation_alias=_env("POSTGRES_POOL_TIMEOUT"),
        description="seconds to wait for a free connection before PoolTimeoutError",
    )
    pool_recycle: float = Field(
        1800.0,
        gt=0,
        validation_alias=_env("POSTGRES_POOL_RECYCLE"),
        description="seconds after which a connection (idle or not) is replaced",
    )
    statement_timeout_ms: int = Field(
        30_000,
        ge=0,
        validation_alias=_env("POSTGRES_STATEMENT_TIMEOUT_MS"),
        description="server-side statement_timeout per connection; 0 disables it",
    )
    leak_threshold_s: float = Field(
        30.0,
        gt=0,
        validation_alias=_env("POSTGRES_LEAK_THRESHOLD_S"),
        description="a connection held longer than this is logged with its acquiring stack",
    )
    schema_name: str | None = Field(
        None,
        validation_alias=_env("POSTGRES_SCHEMA"),
        description="schema put first on search_path (tables live there); None = public",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
    )
    embedded_data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=_env("POSTGRES_DATA_DIR"),
        description="data directory of the embedded server (initdb on first start)",
    )
    embedded_port: int = Field(
        5432,
        ge=1,
        le=65535,
        validation_alias=_env("POSTGRES_EMBEDDED_PORT"),
        description="port of the embedded server; it names the unix socket (no TCP)",
    )
    application_name: str = Field(
        "sigmax",
        validation_alias=_env("POSTGRES_APPLICATION_NAME"),
        description="application_name shown in pg_stat_activity",
    )

    @model_validator(mode="after")
    def _check_dsn(self) -> PostgresConfig:
        if self.dsn is not None and not self.dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "SIGMAX_POSTGRES_DSN must start with postgresql:// or postgres:// "
                f"(got {redact_dsn(self.dsn)!r})"
            )
        return self

    @property
    def min_size(self) -> int:
        return self.pool_size

    @property
    def max_size(self) -> int:
        return self.pool_size + self.max_overflow


def redact_dsn(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (for logs and error messages)."""
    scheme, sep, rest = dsn.partition("://")
    if not sep or "@" not in rest:
        return dsn
    creds, _, host = rest.rpartition("@")
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return f"{scheme}://{creds}@{host}"
