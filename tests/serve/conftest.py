"""API test fixtures: a throwaway PostgreSQL schema, real Redis with a unique key prefix,
and the app factory driven in-process through FastAPI's TestClient."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serve_app.api import create_app
from serve_app.config import APIConfig
from sigmax.client import SigmaxClient
from sigmax.config import Settings
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.redis_config import RedisConfig
from sigmax.storage.repos.keys import ApiKeyRepository
from tests.storage.pg.pg_fixtures import make_config, migrated_schema

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def api_schema() -> Iterator[str]:
    """A migrated schema for one test module, dropped afterwards."""
    with migrated_schema() as name:
        yield name


@pytest.fixture(scope="module")
def api_settings(api_schema: str) -> Settings:
    return Settings(
        postgres=make_config(api_schema, pool_size=2, max_overflow=6),
        redis=RedisConfig(url=REDIS_URL),
    )


def unique_config(**overrides: Any) -> APIConfig:
    """An API config whose rate limit keys no other test shares."""
    values: dict[str, Any] = {
        "rate_limit_prefix": f"sigmax:test:{uuid.uuid4().hex}:",
        "session_id": f"none-{uuid.uuid4().hex[:8]}",
        "auth_cache_s": 0.0,  # revocation from outside (CLI) takes effect at once
    }
    values.update(overrides)
    return APIConfig(**values)


def create_key(settings: Settings, scopes: list[str], name: str = "test", **kw: Any) -> str:
    """A new key straight in the schema (as `sigmax keys create` does); its plaintext."""

    async def run() -> str:
        cfg = settings.postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(cfg) as pool:
            _, plaintext = await ApiKeyRepository(pool).create(name, scopes, **kw)
        return plaintext

    return asyncio.run(run())


KeyMaker = Callable[..., str]


@pytest.fixture(scope="module")
def make_key(api_settings: Settings) -> KeyMaker:
    def make(scopes: list[str], name: str = "test", **kw: Any) -> str:
        return create_key(api_settings, scopes, name, **kw)

    return make


@pytest.fixture(scope="module")
def api(api_settings: Settings) -> Iterator[TestClient]:
    """The app without a running session (its session id names no actors)."""
    with TestClient(create_app(api_settings, unique_config())) as client:
        yield client


@pytest.fixture(scope="module")
def admin_key(make_key: KeyMaker) -> str:
    return make_key(["admin"], "admin")


@pytest.fixture(scope="module")
def read_key(make_key: KeyMaker) -> str:
    return make_key(["read"], "reader")


@pytest.fixture(scope="module")
def trade_key(make_key: KeyMaker) -> str:
    return make_key(["trade"], "trader")


def client_for(http: TestClient, key: str | None) -> SigmaxClient:
    return SigmaxClient(key=key, http=http)
