"""The replica's key cache: keys are verified from memory until any key is revoked
anywhere; the revocation mark is read at most once per interval, however many
requests come."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi.testclient import TestClient

from serve_app._private.auth import Principal
from serve_app._private.keycache import KeyCache
from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.repos.keys import ApiKeyRepository
from tests.serve.conftest import KeyMaker, unique_config

ALICE = Principal(1, frozenset({"read"}), "alice")


class _Marks:
    """The revocation mark as PostgreSQL would answer it; counts the reads."""

    def __init__(self) -> None:
        self.mark: tuple[object, ...] = (0, None)
        self.reads = 0
        self.fail = False

    async def read(self) -> tuple[object, ...]:
        self.reads += 1
        await asyncio.sleep(0)  # a real query yields to the loop
        if self.fail:
            raise ConnectionError("postgres away")
        return self.mark


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _cache() -> tuple[KeyCache, _Marks, _Clock]:
    marks, clock = _Marks(), _Clock()
    return KeyCache(marks.read, 1.0, clock), marks, clock


def test_a_cached_key_needs_no_mark_read_within_the_interval() -> None:
    async def go() -> None:
        cache, marks, clock = _cache()
        assert await cache.get("d") is None
        cache.put("d", ALICE, 60, cache.generation)
        for _ in range(50):
            assert await cache.get("d") == ALICE
        assert marks.reads == 1
        clock.now += 1.0
        assert await cache.get("d") == ALICE
        assert marks.reads == 2

    asyncio.run(go())


def test_any_revocation_drops_the_cache_at_the_next_check() -> None:
    async def go() -> None:
        cache, marks, clock = _cache()
        await cache.get("d")
        cache.put("d", ALICE, 60, cache.generation)
        marks.mark = (1, "2026-12-04T16:00:00Z")  # some key was revoked elsewhere
        clock.now += 0.5
        assert await cache.get("d") == ALICE  # within the interval: not looked at yet
        clock.now += 0.5
        assert await cache.get("d") is None
        assert len(cache) == 0

    asyncio.run(go())


def test_concurrent_requests_share_one_mark_read() -> None:
    async def go() -> None:
        cache, marks, clock = _cache()
        await cache.get("d")
        cache.put("d", ALICE, 60, cache.generation)
        clock.now += 5
        found = await asyncio.gather(*(cache.get("d") for _ in range(100)))
        assert found == [ALICE] * 100
        assert marks.reads == 2

    asyncio.run(go())


def test_a_verification_overtaken_by_a_revocation_is_not_cached() -> None:
    async def go() -> None:
        cache, marks, clock = _cache()
        assert await cache.get("d") is None
        generation = cache.generation  # the request now verifies the key in PostgreSQL
        marks.mark = (1, "now")
        clock.now += 1
        assert await cache.get("other") is None  # a check notices the revocation meanwhile
        cache.put("d", ALICE, 60, generation)
        assert await cache.get("d") is None

    asyncio.run(go())


def test_forget_drops_the_key_and_a_verification_in_flight() -> None:
    async def go() -> None:
        cache, _, _ = _cache()
        await cache.get("d")
        cache.put("d", ALICE, 60, cache.generation)
        generation = cache.generation
        cache.forget(ALICE.key_id)
        assert await cache.get("d") is None
        cache.put("d", ALICE, 60, generation)
        assert await cache.get("d") is None

    asyncio.run(go())


def test_a_failed_check_trusts_nothing_cached_and_an_expired_entry_is_gone() -> None:
    async def go() -> None:
        cache, marks, clock = _cache()
        await cache.get("d")
        cache.put("d", ALICE, 2.5, cache.generation)
        clock.now += 2
        assert await cache.get("d") == ALICE
        clock.now += 1
        assert await cache.get("d") is None  # past its own deadline
        cache.put("d", ALICE, 60, cache.generation)
        marks.fail = True
        clock.now += 1
        assert await cache.get("d") is None

    asyncio.run(go())


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="check_every_s"):
        KeyCache(_Marks().read, 0)


def test_a_key_revoked_outside_the_replica_stops_after_one_check_interval(
    api_settings: Settings, make_key: KeyMaker
) -> None:
    """Revoked straight in PostgreSQL (as `sigmax keys revoke` or another replica does),
    with a long cache: refused once the check interval has passed."""
    key = make_key(["read"], "revoked-elsewhere")
    config = unique_config(auth_cache_s=600, key_revocation_check_s=0.2)
    with TestClient(create_app(api_settings, config)) as http:
        headers = {"Authorization": f"Bearer {key}"}
        assert http.get("/api/v1/status", headers=headers).status_code == 200
        assert http.get("/api/v1/status", headers=headers).status_code == 200  # cached

        async def revoke() -> None:
            cfg = api_settings.postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
            async with PostgresPool(cfg) as pool:
                repo = ApiKeyRepository(pool)
                found = next(k for k in await repo.all() if k.name == "revoked-elsewhere")
                await repo.revoke(found.id)

        asyncio.run(revoke())
        time.sleep(0.25)  # one check interval: the next request reads the mark again
        assert http.get("/api/v1/status", headers=headers).status_code == 401
