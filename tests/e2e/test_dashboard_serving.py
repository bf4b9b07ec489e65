"""The API serves the dashboard's build at / (and leaves /api alone), says how to build
it when it is missing, and answers the dashboard's own read-only routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serve_app._private.static import WEB_DIST_ENV
from serve_app.api import create_app
from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config


def _client(settings: Settings, dist: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv(WEB_DIST_ENV, str(dist))
    return TestClient(create_app(settings, unique_config()))


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>SIGMAX dashboard</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log('sigmax')")
    (tmp_path / "secret.txt").write_text("not served")
    return tmp_path


@pytest.fixture
def web(
    api_settings: Settings, built: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    with _client(api_settings, built, monkeypatch) as client:
        yield client


def test_root_serves_the_built_index_and_its_assets(web: TestClient) -> None:
    page = web.get("/")
    assert page.status_code == 200 and "SIGMAX dashboard" in page.text
    assert page.headers["content-type"].startswith("text/html")
    script = web.get("/assets/index-abc.js")
    assert script.status_code == 200 and "sigmax" in script.text
    assert web.get("/assets/missing.js").status_code == 404
    assert web.get("/assets/../secret.txt").status_code == 404
    assert web.get("/assets/%2e%2e/secret.txt").status_code == 404


def test_the_api_and_its_legacy_redirects_are_untouched(web: TestClient) -> None:
    assert web.get("/api/v1/health").json()["stores"]["postgres"] == {"status": "up"}
    assert web.get("/api/v1/status").status_code == 401
    legacy = web.get("/status", follow_redirects=False)
    assert legacy.status_code == 308 and legacy.headers["location"] == "/api/v1/status"
    assert web.get("/nothing-here").status_code == 404


def test_root_without_a_build_says_to_run_make_web(
    api_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _client(api_settings, tmp_path / "absent", monkeypatch) as client:
        answer = client.get("/")
    assert answer.status_code == 503
    assert answer.json()["code"] == "dashboard_not_built"
    assert "make web" in answer.json()["detail"]


def test_me_names_the_key_and_its_scopes(web: TestClient, make_key: KeyMaker) -> None:
    reader = make_key(["read"], "dash-reader")
    admin = make_key(["admin"], "dash-admin")
    me = web.get("/api/v1/dashboard/me", headers={"Authorization": f"Bearer {reader}"}).json()
    assert me["name"] == "dash-reader" and me["scopes"] == ["read"]
    assert me["may_trade"] is False and me["may_admin"] is False
    boss = web.get("/api/v1/dashboard/me", headers={"Authorization": f"Bearer {admin}"}).json()
    assert boss["may_trade"] is True and boss["may_admin"] is True
    assert "key" not in boss
    assert web.get("/api/v1/dashboard/me").status_code == 401


def test_equity_without_a_session_is_503(web: TestClient, make_key: KeyMaker) -> None:
    reader = make_key(["read"], "dash-equity")
    answer = web.get("/api/v1/dashboard/equity", headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 503
    assert (
        web.get(
            "/api/v1/dashboard/equity?limit=1", headers={"Authorization": f"Bearer {reader}"}
        ).status_code
        == 422
    )
