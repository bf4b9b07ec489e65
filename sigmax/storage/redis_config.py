"""Configuration of the Redis connection pool (cache, rate limits, pub/sub).

No URL means no Redis: the cache and the rate limiter then run on their in-process
fallbacks and report that in health.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RedisConfig(BaseSettings):
    """Redis URL, pool size, timeouts and leak threshold (env prefix ``SIGMAX_REDIS_``).

    ``REDIS_MAX_CONNECTIONS`` is read under that exact name as well as under
    ``SIGMAX_REDIS_MAX_CONNECTIONS``.
    """

    model_config = SettingsConfigDict(
        env_prefix="SIGMAX_REDIS_", extra="ignore", frozen=True, populate_by_name=True
    )

    url: str | None = Field(
        None,
        description="redis:// or rediss:// URL (env SIGMAX_REDIS_URL); None = in-process only",
    )
    max_connections: int = Field(
        50,
        ge=1,
        validation_alias=AliasChoices(
            "REDIS_MAX_CONNECTIONS", "SIGMAX_REDIS_MAX_CONNECTIONS", "max_connections"
        ),
        description="largest number of connections one process's pool opens",
    )
    pool_timeout_s: float = Field(
        5.0, gt=0, description="how long a caller waits for a free connection before failing"
    )
    socket_timeout_s: float = Field(1.0, gt=0, description="read/write timeout per command")
    connect_timeout_s: float = Field(1.0, gt=0, description="TCP connect timeout")
    health_check_interval_s: float = Field(
        15.0, ge=0, description="ping an idle connection before reuse after this long; 0 = never"
    )
    retries: int = Field(
        1, ge=0, le=10, description="reconnect attempts per command (no backoff) before failing"
    )
    leak_after_s: float = Field(
        30.0, gt=0, description="log a connection held longer than this, with its stack"
    )
    retry_redis_after_s: float = Field(
        1.0,
        ge=0,
        description="while degraded, try Redis again at most this often (0 = on every call)",
    )
