"""Configuration of the live-event buses: the ``events`` section of ``Settings``.

It reads its own variables, ``SIGMAX_EVENTS_<FIELD>`` (e.g. ``SIGMAX_EVENTS_QUEUE_SIZE``),
like the store sections. Redis comes from :class:`~sigmax.storage.redis_config.RedisConfig`
(``SIGMAX_REDIS_URL``); NATS is off unless ``SIGMAX_NATS_URL`` is set.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EventsConfig(BaseSettings):
    """Where events go and how the publishing thread behaves."""

    model_config = SettingsConfigDict(
        env_prefix="SIGMAX_EVENTS_", extra="ignore", frozen=True, populate_by_name=True
    )

    nats_url: str | None = Field(
        None,
        validation_alias=AliasChoices("SIGMAX_NATS_URL", "nats_url"),
        description="nats:// URL of a JetStream server (env SIGMAX_NATS_URL); None = no NATS",
    )
    nats_stream: str = Field("SIGMAX_EVENTS", description="JetStream stream (created if missing)")
    nats_subject_prefix: str = Field(
        "sigmax.events", description="subjects are <prefix>.<topic>; the stream takes <prefix>.>"
    )
    nats_duplicate_window_s: float = Field(
        120.0, gt=0, description="JetStream drops a message whose id it saw this recently"
    )
    nats_max_age_s: float = Field(
        7 * 24 * 3600.0, gt=0, description="how long the stream keeps events (new streams only)"
    )
    nats_publish_timeout_s: float = Field(2.0, gt=0, description="wait for a JetStream ack")
    nats_publish_retries: int = Field(
        5, ge=0, le=100, description="re-sends (same id) after a timeout before giving up"
    )
    nats_connect_timeout_s: float = Field(2.0, gt=0, description="TCP connect timeout")
    redis_channel_prefix: str = Field(
        "sigmax:events", description="Redis pub/sub channels are <prefix>:<topic>"
    )
    queue_size: int = Field(
        10_000, ge=1, description="events waiting in a publisher's thread before publish blocks"
    )
    block_warn_s: float = Field(
        0.05, gt=0, description="a full queue blocks publish; log once it waited this long"
    )
    subscriber_queue_size: int = Field(
        1_000, ge=1, description="events buffered per subscriber (WebSocket) before it is cut off"
    )
    ws_ping_interval_s: float = Field(
        20.0, gt=0, description="the WebSocket server pings an idle client this often"
    )
