"""Fixtures shared by the operations tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

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


@pytest.fixture
def saved_logging() -> Iterator[None]:
    """This process's structlog configuration and root handlers, restored after the test
    (a traced class's __init__ sets up logging, as in an actor)."""
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        structlog.configure(**saved)
        root.handlers[:] = handlers
        root.setLevel(level)
