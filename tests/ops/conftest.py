"""Fixtures shared by the operations tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sigmax.config import Settings
from sigmax.storage.redis_config import RedisConfig
from tests.serve.conftest import REDIS_URL
from tests.storage.pg.pg_fixtures import drop_schema, make_config, new_schema


@pytest.fixture(scope="module")
def api_settings() -> Iterator[Settings]:
    """The API's stores: a throwaway PostgreSQL schema (migrated on first use), Redis."""
    schema = new_schema()
    try:
        yield Settings(postgres=make_config(schema, pool_size=2), redis=RedisConfig(url=REDIS_URL))
    finally:
        drop_schema(schema)
