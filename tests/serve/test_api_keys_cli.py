"""`sigmax keys` writes to the same PostgreSQL the API reads: a key it prints works."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sigmax.cli import app as cli
from sigmax.config import Settings

KEY = re.compile(r"^key:\s+(sgx_\S+)$", re.M)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, api_settings: Settings) -> None:
    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", str(api_settings.postgres.dsn))
    monkeypatch.setenv("SIGMAX_POSTGRES_SCHEMA", str(api_settings.postgres.schema_name))


def test_cli_key_works_against_the_api(cli_env: None, api: TestClient) -> None:
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "create", "--scope", "read", "--name", "cli-test"])
    assert made.exit_code == 0, made.output
    match = KEY.search(made.output)
    assert match is not None, made.output
    key = match.group(1)
    headers = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/v1/status", headers=headers).status_code == 200
    assert api.post("/api/v1/risk/pause", json={"reason": "x"}, headers=headers).status_code == 403
    listed = runner.invoke(cli, ["keys", "list"])
    assert "cli-test" in listed.output
    assert key not in listed.output
    key_id = re.search(r"^id:\s+(\d+)$", made.output, re.M).group(1)  # type: ignore[union-attr]
    rotated = runner.invoke(cli, ["keys", "rotate", key_id])
    assert rotated.exit_code == 0, rotated.output
    new_key = KEY.search(rotated.output).group(1)  # type: ignore[union-attr]
    assert api.get("/api/v1/status", headers=headers).status_code == 401
    new_headers = {"Authorization": f"Bearer {new_key}"}
    assert api.get("/api/v1/status", headers=new_headers).status_code == 200
    new_id = re.search(r"^id:\s+(\d+)$", rotated.output, re.M).group(1)  # type: ignore[union-attr]
    assert runner.invoke(cli, ["keys", "revoke", new_id]).exit_code == 0
    assert api.get("/api/v1/status", headers=new_headers).status_code == 401
    bad = runner.invoke(cli, ["keys", "create", "--scope", "root"])
    assert bad.exit_code != 0
    assert runner.invoke(cli, ["keys", "revoke", "999999"]).exit_code == 1
