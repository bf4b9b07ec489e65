"""PostgreSQL fixtures: a fresh schema per test session on the server at 127.0.0.1:5432
(override with SIGMAX_TEST_POSTGRES_DSN), and embedded servers in tmp dirs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from sigmax.storage.embedded_postgres import EmbeddedPostgres
from sigmax.storage.postgres import PostgresPool
from sigmax.storage.postgres_config import PostgresConfig
from tests.storage.pg.pg_fixtures import drop_schema, make_config, migrated_schema, new_schema


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A migrated schema shared by the session's repository tests."""
    with migrated_schema() as name:
        yield name


@pytest.fixture
def empty_schema() -> Iterator[str]:
    """A fresh empty schema for one test, dropped afterwards."""
    name = new_schema()
    try:
        yield name
    finally:
        drop_schema(name)


@pytest.fixture
def pg_config(pg_schema: str) -> PostgresConfig:
    return make_config(pg_schema)


@pytest_asyncio.fixture
async def pool(pg_config: PostgresConfig) -> AsyncIterator[PostgresPool]:
    async with PostgresPool(pg_config, registry=CollectorRegistry()) as p:
        yield p


@pytest.fixture
def account() -> str:
    """A unique account per test, so tests sharing the schema never see each other."""
    return f"test:{uuid.uuid4().hex[:10]}"


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A running embedded server on a fresh data directory, stopped afterwards."""
    server = EmbeddedPostgres(tmp_path / "pgdata")
    server.start()
    try:
        yield server
    finally:
        server.owned = True  # a test may have stopped and restarted it
        server.stop()
