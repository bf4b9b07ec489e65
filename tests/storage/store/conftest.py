"""Fixtures for the Redis and ClickHouse store tests: the shared Redis, throwaway servers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_sync

from sigmax.storage.redis_config import RedisConfig

SHARED_REDIS_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on its own port that a test may kill and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not on PATH")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis_sync.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10.0
        while True:
            try:
                if client.ping():
                    return
            except redis_sync.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not come up")
            time.sleep(0.01)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def shared_redis() -> RedisConfig:
    """The shared Redis on 6379; tests keep to their own unique key prefixes on it."""
    try:
        redis_sync.Redis.from_url(SHARED_REDIS_URL, socket_connect_timeout=1).ping()
    except redis_sync.ConnectionError:
        pytest.fail(f"the shared Redis at {SHARED_REDIS_URL} is not running")
    return RedisConfig(url=SHARED_REDIS_URL, retry_redis_after_s=0)


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}:"
