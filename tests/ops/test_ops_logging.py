"""Structured logs of real requests: the API's lines are JSON and carry the request id
it answers with (X-Request-ID header, error bodies); the actor that does the work for
a request logs that id too, in its own process."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from sigmax.config import Settings
from sigmax.storage.clickhouse_config import ClickHouseConfig
from tests.serve.conftest import unique_config

pytestmark = pytest.mark.slow


@pytest.fixture
def store_actor(
    ray_cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """A session's time-series store actor told to log JSON (``SIGMAX_LOG_JSON``, passed
    on by ``actors.options.spawn``); yields the session id and its stderr file."""
    from actors import options
    from actors.timeseries_store import TimeSeriesStoreActor

    monkeypatch.setenv("SIGMAX_LOG_JSON", "true")
    session_id = f"logs-{uuid.uuid4().hex[:8]}"
    config = ClickHouseConfig(data_dir=tmp_path / "chdb").model_dump_json()
    handle = options.spawn(TimeSeriesStoreActor, options.TIMESERIES_STORE, session_id, config)
    try:
        # where the actor's process writes its stderr: a file in Ray's session logs
        own_stderr = handle.__ray_call__.remote(lambda _: os.readlink("/proc/self/fd/2"))
        path = ray_cluster.get(own_stderr, timeout=120)
        yield session_id, Path(path)
    finally:
        ray_cluster.kill(handle)


@pytest.fixture
def fresh_logging(saved_logging: None) -> None:
    """structlog as a new API process finds it (unconfigured); restored afterwards."""
    structlog.reset_defaults()


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"a log line is not JSON: {line!r}")
    return parsed


def test_request_ids_in_json_logs_from_the_api_to_the_actor(
    store_actor: tuple[str, Path],
    api_settings: Settings,
    fresh_logging: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session_id, actor_stderr = store_actor
    given = f"logs-{uuid.uuid4().hex}"
    capsys.readouterr()
    with TestClient(create_api(api_settings, session_id)) as http:
        health = http.get("/api/v1/health", headers={"X-Request-ID": given})
        refused = http.get("/api/v1/status")  # no key: 401 with a generated request id
    logged = _json_lines(capsys.readouterr().err)

    assert health.status_code == 200 and health.headers["X-Request-ID"] == given
    assert refused.status_code == 401
    generated = refused.headers["X-Request-ID"]
    assert refused.json()["request_id"] == generated != given

    access = {line["request_id"]: line for line in logged if line["event"] == "request"}
    assert access[given]["path"] == "/api/v1/health" and access[given]["status"] == 200
    assert access[generated]["path"] == "/api/v1/status" and access[generated]["status"] == 401
    assert {"timestamp", "level", "logger"} <= set(access[given])
    # every line the API logged names its request (httpx* is the test's client)
    during = [line for line in logged if not line.get("logger", "").startswith("httpx")]
    assert {line.get("request_id") for line in during} <= {given, generated}

    # Ray adds its own plain-text markers to worker log files; the log lines are JSON
    actor_lines = _json_lines(
        "\n".join(li for li in actor_stderr.read_text().splitlines() if li.startswith("{"))
    )
    calls = [line for line in actor_lines if line["event"] == "actor call"]
    assert [c["request_id"] for c in calls if c["request_id"] == given] == [given], calls
    mine = next(c for c in calls if c["request_id"] == given)
    assert mine["method"] == "TimeSeriesStoreActor.health" and mine["outcome"] == "ok"
    assert generated not in {c["request_id"] for c in calls}  # 401: no actor was asked


def create_api(settings: Settings, session_id: str) -> Any:
    from serve_app.api import create_app

    return create_app(settings, unique_config(session_id=session_id))


def test_lines_bypass_serves_stderr_redirect_in_a_replica(
    saved_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a Serve replica ``sys.stderr`` is Ray Serve's ``StreamToLogger``, which logs
    every line again through Serve's logger after a walk of the whole stack: the API's
    lines go to the stream it wraps instead, once, unchanged."""
    import io
    import logging

    from ray.serve._private.logging_utils import StreamToLogger

    from sigmax.logs import configure_logging

    worker_stderr = io.StringIO()
    serve_logger = logging.getLogger("ray.serve.test-redirect")
    serve_logger.propagate = False
    relogged: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = relogged.append  # type: ignore[method-assign]
    serve_logger.addHandler(handler)
    redirect = StreamToLogger(serve_logger, logging.INFO, worker_stderr)
    monkeypatch.setattr("sys.stderr", redirect)
    configure_logging("INFO", json=True)

    structlog.get_logger("serve_app.access").info("request", path="/api/v1/status")

    (line,) = _json_lines(worker_stderr.getvalue())
    assert line["event"] == "request" and line["path"] == "/api/v1/status"
    assert relogged == []  # Serve's logger never saw it
    print("a plain print still goes through the redirect", file=redirect)
    assert [r.getMessage() for r in relogged] == ["a plain print still goes through the redirect"]
