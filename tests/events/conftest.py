"""Fixtures for the live-event tests: the shared Redis and NATS, with names per test.

Every test gets its own Redis channel prefix and its own JetStream stream and
subjects, so tests (and a running system) never see each other's events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import nats.js.errors
import pytest
import pytest_asyncio
import redis as redis_sync

from sigmax.events import EventsConfig
from sigmax.storage.redis_config import RedisConfig

REDIS_URL = "redis://127.0.0.1:6379/0"
NATS_URL = "nats://127.0.0.1:4222"
NATS_START = (
    "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- "
    "-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"
)


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        redis_sync.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis_sync.ConnectionError as exc:
        pytest.fail(f"these tests need Redis at {REDIS_URL} ({exc}); start redis-server")
    return REDIS_URL


@pytest.fixture(scope="session")
def nats_url() -> str:
    async def probe() -> None:
        nc = await nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False)
        try:
            await nc.jetstream().account_info()
        finally:
            await nc.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        pytest.fail(f"these tests need NATS with JetStream at {NATS_URL} ({exc}); {NATS_START}")
    return NATS_URL


@pytest.fixture
def redis_config(redis_url: str) -> RedisConfig:
    return RedisConfig(url=redis_url, retry_redis_after_s=0.1)


@pytest.fixture
def events_config() -> EventsConfig:
    """Channels, stream and subjects of this test only (NATS URL unset: no NATS)."""
    tag = uuid.uuid4().hex[:12]
    return EventsConfig(
        nats_url=None,
        redis_channel_prefix=f"test:{tag}:events",
        nats_stream=f"TEST_EVENTS_{tag}",
        nats_subject_prefix=f"test.{tag}.events",
        nats_publish_timeout_s=2.0,
    )


@pytest.fixture
def nats_events_config(events_config: EventsConfig, nats_url: str) -> Iterator[EventsConfig]:
    """``events_config`` with NATS on; the test's stream is deleted afterwards."""
    config = events_config.model_copy(update={"nats_url": nats_url})
    yield config

    async def drop() -> None:
        nc = await nats.connect(nats_url, allow_reconnect=False)
        try:
            await nc.jetstream().delete_stream(config.nats_stream)
        except nats.js.errors.NotFoundError:
            pass
        finally:
            await nc.close()

    asyncio.run(drop())


@pytest_asyncio.fixture
async def jetstream(nats_url: str) -> AsyncIterator[nats.js.JetStreamContext]:
    nc = await nats.connect(nats_url, allow_reconnect=False)
    yield nc.jetstream()
    await nc.close()
