"""Live events to a NATS JetStream stream: a durable, de-duplicated record.

Each event goes to subject ``<nats_subject_prefix>.<topic>`` of stream
``nats_stream`` (created when missing, taking ``<prefix>.>``), with the event id as
the ``Nats-Msg-Id`` header. Publishing is at least once: a publish whose ack does
not come in time is sent again with the same id, and JetStream drops the copy if
the first one was stored after all (within ``nats_duplicate_window_s``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import nats.errors
import nats.js.errors
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import PubAck, StorageType, StreamConfig

from sigmax.errors import UnavailableError
from sigmax.events.bus import EventsHealth, LazySender
from sigmax.events.config import EventsConfig
from sigmax.events.model import Event

_log = structlog.get_logger(__name__)

MSG_ID_HEADER = "Nats-Msg-Id"

# Errors after which the same message is sent again (same id: no duplicate stored).
RETRYABLE: tuple[type[BaseException], ...] = (
    nats.errors.TimeoutError,
    asyncio.TimeoutError,
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.StaleConnectionError,
    nats.js.errors.NoStreamResponseError,
    OSError,
)


class NatsPublishError(UnavailableError, RuntimeError):
    """An event could not be stored in JetStream after every retry."""


class NatsEventPublisher:
    """Publishes events to JetStream from a background thread (see :mod:`sigmax.events.bus`)."""

    def __init__(self, config: EventsConfig) -> None:
        self.config = config
        if not self.config.nats_url:
            raise ValueError("NatsEventPublisher needs a NATS URL (SIGMAX_NATS_URL)")
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._stream_ready = False
        self._sender = LazySender(
            "nats",
            self._send_quietly,
            self.config.queue_size,
            self.config.block_warn_s,
            on_close=self._disconnect,
        )
        self.duplicates = 0
        self.retries = 0
        self.last_error: str | None = None
        self._down = False

    def subject(self, topic: str) -> str:
        return f"{self.config.nats_subject_prefix}.{topic}"

    def publish(self, event: Event) -> None:
        self._sender.submit(event)

    async def _send_quietly(self, event: Event) -> None:
        await self.send(event)

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed:
            # No reconnect loop inside the client: a lost connection fails the publish,
            # and send() connects again on its next attempt (same message id).
            # (nats-py loops over its server list even then: one retry, 0.1 s apart.)
            self._nc = await asyncio.wait_for(
                nats.connect(
                    servers=[str(self.config.nats_url)],
                    name="sigmax-events",
                    connect_timeout=self.config.nats_connect_timeout_s,
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.1,
                    error_cb=self._on_client_error,
                ),
                timeout=2 * self.config.nats_connect_timeout_s + 1.0,
            )
            self._js = self._nc.jetstream(timeout=self.config.nats_publish_timeout_s)
            self._stream_ready = False
        assert self._js is not None
        if not self._stream_ready:
            await self.ensure_stream(self._js)
            self._stream_ready = True
        return self._js

    async def _on_client_error(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"

    async def ensure_stream(self, js: JetStreamContext) -> None:
        """Create the stream unless it exists (an existing one is left as it is)."""
        try:
            await js.stream_info(self.config.nats_stream)
            return
        except nats.js.errors.NotFoundError:
            pass
        await js.add_stream(
            StreamConfig(
                name=self.config.nats_stream,
                subjects=[f"{self.config.nats_subject_prefix}.>"],
                duplicate_window=self.config.nats_duplicate_window_s,
                max_age=self.config.nats_max_age_s,
                storage=StorageType.FILE,
            )
        )
        _log.info("created nats stream", stream=self.config.nats_stream)

    async def send(self, event: Event) -> PubAck:
        """Store ``event`` in JetStream now (in the caller's loop), retrying with the same
        id; the ack says ``duplicate`` when the server already had it."""
        payload = event.to_json().encode()
        headers = {MSG_ID_HEADER: event.id}
        # While NATS is known to be down, one attempt per event: an outage must not
        # make every event wait out all retries (and so block the trading loop).
        attempts = 1 if self._down else self.config.nats_publish_retries + 1
        for attempt in range(attempts):
            try:
                js = await self._jetstream()
                ack = await js.publish(
                    self.subject(event.topic),
                    payload,
                    timeout=self.config.nats_publish_timeout_s,
                    stream=self.config.nats_stream,
                    headers=dict(headers),
                )
            except RETRYABLE as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, nats.js.errors.NoStreamResponseError):
                    self._stream_ready = False  # deleted under us: create it again
                if attempt + 1 == attempts:
                    if not self._down:
                        _log.error("nats unavailable, events are not stored", error=self.last_error)
                    self._down = True
                    raise NatsPublishError(
                        f"event {event.id} ({event.topic}) not stored in JetStream stream "
                        f"{self.config.nats_stream} after {attempts} attempts: {self.last_error}"
                    ) from exc
                self.retries += 1
                await asyncio.sleep(min(1.0, 0.05 * 2**attempt))
                continue
            if ack.duplicate:
                self.duplicates += 1
            if self._down:
                _log.info("nats back, storing events again")
            self._down, self.last_error = False, None
            return ack
        raise AssertionError("unreachable")

    async def _disconnect(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        self._nc, self._js = None, None

    def flush(self, timeout: float | None = 10.0) -> bool:
        return self._sender.flush(timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued, then drain and close the NATS connection."""
        self._sender.close(timeout)

    def health(self) -> EventsHealth:
        sender = self._sender
        details: dict[str, Any] = {
            "stream": self.config.nats_stream,
            "down": self._down,
            "connected": bool(self._nc is not None and self._nc.is_connected),
            "duplicates": self.duplicates,
            "retries": self.retries,
        }
        return EventsHealth(
            "nats",
            self._down,
            self.last_error,
            sender.sent,
            sender.failed,
            sender.pending,
            details,
        )
