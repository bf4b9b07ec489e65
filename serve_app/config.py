"""Configuration of the HTTP API (env prefix ``SIGMAX_API_``); stores come from ``Settings``."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from actors.options import CALL_TIMEOUT_S
from sigmax.paths import sigmax_home


class APIConfig(BaseSettings):
    """Which session the API serves, its rate limits, body limit and replica scaling."""

    model_config = SettingsConfigDict(
        env_prefix="SIGMAX_API_", env_file=".env", extra="ignore", frozen=True
    )

    session_id: str = Field(
        "up", min_length=1, description="trading session served (`sigmax up` uses 'up')"
    )
    rate_general: int = Field(100, ge=1, description="requests per window, read endpoints")
    rate_analysis: int = Field(10, ge=1, description="requests per window, analysis and jobs")
    rate_trading: int = Field(5, ge=1, description="requests per window, orders and risk controls")
    rate_window_s: float = Field(60.0, gt=0, description="rate limit window in seconds")
    rate_limit_prefix: str = Field(
        "sigmax:api:rl:", min_length=1, description="Redis key prefix of the rate limit logs"
    )
    max_body_bytes: int = Field(
        64 * 1024, ge=1, description="largest request body accepted; larger answers 413"
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="largest total size of a request's headers (names and values); "
        "larger answers 431",
    )
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description="addresses or CIDR ranges of reverse proxies whose X-Forwarded-For "
        "is believed (JSON list); from any other peer the header is ignored for rate limits",
    )
    job_data_dir: Path | None = Field(
        None,
        description="the only directory whose files jobs submitted over the API may read "
        "as data (besides bundled sets); unset: $SIGMAX_HOME/data",
    )
    job_checkpoint_dir: Path | None = Field(
        None,
        description="the only directory holding RL checkpoints that API jobs may load; "
        "unset: $SIGMAX_HOME/checkpoints",
    )
    actor_timeout_s: float = Field(
        CALL_TIMEOUT_S, gt=0, description="how long one call to a session actor may take"
    )
    auth_cache_s: float = Field(
        60.0,
        ge=0,
        description="how long a verified key is trusted without asking PostgreSQL again "
        "(never past its expiry); any revocation drops the cache within "
        "key_revocation_check_s; 0 = never cache",
    )
    key_revocation_check_s: float = Field(
        1.0,
        gt=0,
        le=60,
        description="how often each replica reads the key revocation mark from "
        "PostgreSQL: a key revoked anywhere (API, CLI, another replica) stops within this "
        "time; open WebSockets check their key twice as often",
    )
    read_cache_s: float = Field(
        1.0,
        ge=0,
        description="/status, /positions and /portfolio answer from the replica's memory "
        "until the session's next event, for at most this long; only while the events reach "
        "the replica (Redis pub/sub); 0 = always ask the actors",
    )
    session_cache_s: float = Field(
        1.0, ge=0, description="how long a session lookup (actor handles) is reused"
    )
    min_replicas: int = Field(1, ge=1, description="Serve autoscaling: fewest replicas")
    max_replicas: int = Field(2, ge=1, description="Serve autoscaling: most replicas")
    target_ongoing_requests: float = Field(
        32, gt=0, description="Serve autoscaling: ongoing requests per replica to aim for"
    )
    max_ongoing_requests: int = Field(
        128, ge=1, description="Serve: requests one replica takes at once before queueing"
    )
    replica_num_cpus: float = Field(0.5, ge=0, description="CPUs reserved per API replica")

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad entry
        return proxies

    def data_dir(self) -> Path:
        return self.job_data_dir or sigmax_home() / "data"

    def checkpoint_dir(self) -> Path:
        return self.job_checkpoint_dir or sigmax_home() / "checkpoints"

    def limit_for(self, endpoint_class: str) -> int:
        """Requests allowed per window for an endpoint class."""
        limits = {
            "general": self.rate_general,
            "analysis": self.rate_analysis,
            "trading": self.rate_trading,
        }
        if endpoint_class not in limits:
            raise ValueError(f"unknown endpoint class {endpoint_class!r}; one of {sorted(limits)}")
        return limits[endpoint_class]
