"""Fixtures shared by the actor tests that run a session on real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sigmax.config import Settings
from sigmax.storage.clickhouse_config import ClickHouseConfig
from tests.actors.stored_books import drop_schema, make_config, new_schema
from tests.actors.stored_books import schema as schema  # the fault tests' fixture


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings on a private PostgreSQL schema (dropped afterwards) and a private chdb
    directory, one per test module."""
    name = new_schema()
    ch = ClickHouseConfig(data_dir=tmp_path_factory.mktemp("ch"))
    try:
        yield Settings(postgres=make_config(name), clickhouse=ch)
    finally:
        drop_schema(name)
