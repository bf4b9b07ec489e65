"""Fixtures shared by the actor tests that run a session on real PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sigmax.config import Settings
from sigmax.storage.clickhouse_config import ClickHouseConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "storage" / "pg"))
from pg_fixtures import drop_schema, make_config, new_schema  # noqa: E402


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings on a private PostgreSQL schema (dropped afterwards) and a private chdb
    directory, one per test module."""
    schema = new_schema()
    ch = ClickHouseConfig(data_dir=tmp_path_factory.mktemp("ch"))
    try:
        yield Settings(postgres=make_config(schema), clickhouse=ch)
    finally:
        drop_schema(schema)
