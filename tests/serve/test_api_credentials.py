"""/api/v1/credentials end to end: real keys, PostgreSQL, and a real OpenBao dev server's
transit engine; the exchange is ccxt's binance client answering from recorded responses
(``ScriptedBinance``, a test double). Secrets never show in answers, rows or logs."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import structlog
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from serve_app._private.routes_credentials import exchange_classes
from serve_app.api import create_app
from sigmax.cli import app as cli
from sigmax.config import Settings
from sigmax.credentials.provider import StoredCredentialsProvider
from sigmax.execution.errors import CredentialsError
from sigmax.logs import configure_logging
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.postgres import PostgresPool
from tests.execution.test_execution_ccxt import RecordedBinance
from tests.secrets.conftest import _start, _stop
from tests.serve.conftest import KeyMaker, unique_config

API_KEY = "apiTestKey7f3a9c2e1b5d8a4f6e0c3b7a9d2f1e8c4b6a0d3f5e7c9b1a2d4f6e8c0a3b5wxyz"
SECRET = "apiTestSecret2b8d4f6a0c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a7c9e"
PASSWORD = "apiTestPassphrase-91c3"
RESTRICTIONS = ("GET", "/sapi/v1/account/apiRestrictions")
WITHDRAW = (*RESTRICTIONS, "api_restrictions_withdraw.json", 200)
NO_WITHDRAW = (*RESTRICTIONS, "api_restrictions_no_withdraw.json", 200)


class ScriptedBinance(RecordedBinance):
    """Test double: ccxt's binance answering the next queued recorded replies."""

    queued: ClassVar[list[tuple[str, str, Any, int]]] = []
    last: ClassVar[ScriptedBinance | None] = None

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.session.script.extend(ScriptedBinance.queued)
        ScriptedBinance.queued.clear()
        ScriptedBinance.last = self


def expect(*replies: tuple[str, str, Any, int]) -> None:
    ScriptedBinance.queued[:] = list(replies)


def all_replies_used() -> bool:
    return ScriptedBinance.last is not None and ScriptedBinance.last.session.script == []


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretsConfig]:
    """A real OpenBao dev server with the transit engine enabled."""
    server = _start(tmp_path_factory.mktemp("bao-credentials"))
    try:
        server.client().sys.enable_secrets_engine("transit", path="transit")
        yield SecretsConfig(addr=server.addr, token=server.root_token)
    finally:
        _stop(server.process)


@pytest.fixture(scope="module")
def settings(api_settings: Settings, vault: SecretsConfig) -> Settings:
    return api_settings.model_copy(update={"vault": vault})


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, unique_config())
    app.dependency_overrides[exchange_classes] = lambda: {"binance": ScriptedBinance}
    with TestClient(app) as http:
        yield http


@pytest.fixture(scope="module")
def admin(make_key: KeyMaker) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_key(['admin'], 'cred-admin')}"}


@pytest.fixture
def captured(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator[Any]:
    """Every log line of the test, at DEBUG: what the app's logging writes to the captured
    stdout/stderr, and every stdlib record (structlog's included when routed there)."""
    caplog.set_level(logging.DEBUG)

    def text() -> str:
        out, err = capsys.readouterr()
        records = "\n".join(f"{r.name} {r.getMessage()} {r.__dict__}" for r in caplog.records)
        return "\n".join((out, err, records, caplog.text))

    yield text


@pytest.fixture
def production_logging() -> Iterator[None]:
    """The production log set-up (JSON lines, redaction) for one test, then the old one."""
    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("DEBUG", json=True)
    try:
        yield
    finally:
        structlog.configure(**saved_config)
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
        for handler in saved_handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(saved_level)


def new_name() -> str:
    return f"binance-{uuid.uuid4().hex[:8]}"


def create(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {"name": new_name(), "exchange": "binance", "api_key": API_KEY, "secret": SECRET}
    body.update(overrides)
    response = client.post("/api/v1/credentials", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def stored_row(settings: Settings, credential_id: int) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        cfg = settings.postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(cfg) as pool, pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT *, row_to_json(c)::text AS whole FROM exchange_credentials c WHERE id = $1",
                credential_id,
            )
            audit = await conn.fetch(
                "SELECT kind, payload FROM audit_log WHERE stream = 'credentials' ORDER BY seq"
            )
        return {"row": None if row is None else dict(row), "audit": [dict(a) for a in audit]}

    return asyncio.run(run())


def assert_no_secret(text: str) -> None:
    """Neither a secret nor its base64 (as sent to transit) is in ``text``."""
    for value in (API_KEY, SECRET, PASSWORD, "rotatedKey-0000abcd", "rotatedKey-9999dcba"):
        assert value not in text
        assert base64.b64encode(value.encode()).decode()[:24] not in text


def test_only_admin_keys_manage_credentials(
    client: TestClient, make_key: KeyMaker, admin: dict[str, str]
) -> None:
    created = create(client, admin)
    path = f"/api/v1/credentials/{created['id']}"
    body = {"name": new_name(), "exchange": "binance", "api_key": API_KEY, "secret": SECRET}
    for scopes in (["read"], ["trade"]):
        headers = {"Authorization": f"Bearer {make_key(scopes)}"}
        assert client.get("/api/v1/credentials", headers=headers).status_code == 403
        assert client.post("/api/v1/credentials", json=body, headers=headers).status_code == 403
        assert client.get(path, headers=headers).status_code == 403
        assert client.put(path, json={"name": "x"}, headers=headers).status_code == 403
        assert client.post(f"{path}/test", json={}, headers=headers).status_code == 403
        assert client.delete(path, headers=headers).status_code == 403
    assert client.get("/api/v1/credentials").status_code == 401


def test_create_list_get_rotate_delete_never_show_the_secret(
    client: TestClient, admin: dict[str, str], settings: Settings, captured: Any
) -> None:
    name = new_name()
    created = create(client, admin, name=name, password=PASSWORD)
    assert created["hint"] == "****wxyz" and created["status"] == "untested"
    assert created["cipher"] == "transit" and created["permissions"] is None
    assert not {"api_key", "secret", "password"} & set(created)
    cid = created["id"]
    row = stored_row(settings, cid)["row"]
    for column in ("api_key_ciphertext", "secret_ciphertext", "password_ciphertext"):
        assert row[column].startswith("vault:v1:"), column
    assert_no_secret(row["whole"])

    listed = client.get("/api/v1/credentials", headers=admin)
    assert name in [c["name"] for c in listed.json()]
    got = client.get(f"/api/v1/credentials/{cid}", headers=admin)
    assert got.json()["hint"] == "****wxyz"

    renamed = client.put(f"/api/v1/credentials/{cid}", json={"name": name + "-r"}, headers=admin)
    assert renamed.status_code == 200 and renamed.json()["name"] == name + "-r"
    rotated = client.put(
        f"/api/v1/credentials/{cid}",
        json={"api_key": "rotatedKey-0000abcd", "secret": "rotatedSecret-1111"},
        headers=admin,
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["hint"] == "****abcd" and rotated.json()["status"] == "untested"

    assert client.delete(f"/api/v1/credentials/{cid}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/credentials/{cid}", headers=admin).status_code == 404
    assert client.delete(f"/api/v1/credentials/{cid}", headers=admin).status_code == 404

    state = stored_row(settings, cid)
    assert state["row"] is None
    mine = [a for a in state["audit"] if a["payload"]["id"] == cid]
    assert [a["kind"] for a in mine] == [
        "credential_created",
        "credential_updated",
        "credential_updated",
        "credential_deleted",
    ]
    assert all(a["payload"]["actor"].startswith("api-key:") for a in mine)
    logs = captured()
    assert "/api/v1/credentials" in logs  # the capture saw the requests
    everything = "\n".join(
        [logs, listed.text, got.text, renamed.text, rotated.text, str(state["audit"])]
    )
    assert_no_secret(everything)


def test_withdrawal_rights_are_refused_unless_overridden(
    client: TestClient, admin: dict[str, str], settings: Settings, captured: Any
) -> None:
    created = create(client, admin)
    path = f"/api/v1/credentials/{created['id']}/test"
    provider = StoredCredentialsProvider(created["name"], settings.postgres, settings.vault)
    with pytest.raises(CredentialsError, match="untested"):
        provider.get_exchange_credentials("binance")

    expect(WITHDRAW)
    refused = client.post(path, json={"allow_withdraw": False}, headers=admin)
    assert refused.status_code == 200 and all_replies_used()
    body = refused.json()
    assert body["status"] == "refused"
    assert body["permissions"] == {"read": True, "trade": True, "withdraw": True}
    with pytest.raises(CredentialsError, match="withdrawal rights"):
        provider.get_exchange_credentials("binance")

    expect(WITHDRAW)
    accepted = client.post(path, json={"allow_withdraw": True}, headers=admin)
    assert accepted.json()["status"] == "ok" and accepted.json()["allow_withdraw"] is True
    loaded = provider.get_exchange_credentials("binance")
    assert (loaded.api_key, loaded.secret) == (API_KEY, SECRET)
    with pytest.raises(CredentialsError, match="is for binance, not kraken"):
        provider.get_exchange_credentials("kraken")

    sent = ScriptedBinance.last.session.sent[-1]  # type: ignore[union-attr]
    assert sent.host == "api.binance.com" and sent.headers["X-MBX-APIKEY"] == API_KEY
    audit = [
        a["payload"]
        for a in stored_row(settings, created["id"])["audit"]
        if a["payload"]["id"] == created["id"] and a["kind"] == "credential_tested"
    ]
    assert [(a["status"], a["withdraw_override_used"]) for a in audit] == [
        ("refused", False),
        ("ok", True),
    ]
    assert_no_secret(captured() + refused.text + accepted.text)


def test_a_key_without_withdrawal_rights_passes(client: TestClient, admin: dict[str, str]) -> None:
    created = create(client, admin)
    expect(NO_WITHDRAW)
    tested = client.post(f"/api/v1/credentials/{created['id']}/test", json={}, headers=admin)
    assert tested.status_code == 200 and all_replies_used()
    body = tested.json()
    assert body["status"] == "ok" and body["allow_withdraw"] is False
    assert body["permissions"] == {"read": True, "trade": True, "withdraw": False}
    assert body["tested_at"] is not None and body["last_error"] is None
    path = f"/api/v1/credentials/{created['id']}"
    renamed = client.put(path, json={"name": new_name(), "sandbox": False}, headers=admin)
    assert renamed.json()["status"] == "ok"  # same keys, same exchange: still tested
    switched = client.put(path, json={"sandbox": True}, headers=admin)
    assert switched.json()["status"] == "untested" and switched.json()["permissions"] is None


def test_a_testnet_key_reports_only_what_a_balance_tells(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = create(client, admin, sandbox=True)
    expect(
        ("GET", "/api/v3/exchangeInfo", "exchange_info.json", 200),
        ("GET", "/fapi/v1/exchangeInfo", "exchange_info_empty.json", 200),
        ("GET", "/dapi/v1/exchangeInfo", "exchange_info_empty.json", 200),
        ("GET", "/api/v3/account", "account_balance.json", 200),
    )
    tested = client.post(f"/api/v1/credentials/{created['id']}/test", json={}, headers=admin)
    assert tested.status_code == 200 and all_replies_used()
    assert tested.json()["status"] == "ok"
    assert tested.json()["permissions"] == {"read": True, "trade": None, "withdraw": None}
    assert ScriptedBinance.last.session.sent[-1].host == "testnet.binance.vision"  # type: ignore[union-attr]


def test_credentials_the_exchange_refuses_fail_their_test(
    client: TestClient, admin: dict[str, str], captured: Any
) -> None:
    created = create(client, admin)
    expect((*RESTRICTIONS, "error_invalid_api_key.json", 401))
    tested = client.post(f"/api/v1/credentials/{created['id']}/test", json={}, headers=admin)
    assert tested.status_code == 200
    body = tested.json()
    assert body["status"] == "failed" and body["permissions"] is None
    assert "refused the credentials" in body["last_error"]
    assert "Invalid API-key" in body["last_error"]
    assert_no_secret(tested.text + captured())


def test_bad_requests_are_named_and_echo_no_secret(
    client: TestClient, admin: dict[str, str]
) -> None:
    def post(**body: Any) -> Any:
        return client.post("/api/v1/credentials", json=body, headers=admin)

    base = {"name": new_name(), "exchange": "binance", "api_key": API_KEY, "secret": SECRET}
    unknown = post(**{**base, "exchange": "nosuchexchange"})
    assert unknown.status_code == 422 and "not a ccxt exchange id" in unknown.text
    newline = post(**{**base, "secret": SECRET + "\n"})
    assert newline.status_code == 422 and "secret contains control characters" in newline.text
    too_long = post(**{**base, "api_key": API_KEY * 10})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["loc"][-1] == "api_key"
    missing = post(name=new_name(), exchange="binance", api_key=API_KEY)
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "secret"
    for response in (unknown, newline, too_long, missing):
        assert_no_secret(response.text)
    taken = create(client, admin)
    duplicate = post(**{**base, "name": taken["name"]})
    assert duplicate.status_code == 409 and "exists already" in duplicate.text
    half = client.put(
        f"/api/v1/credentials/{taken['id']}", json={"api_key": API_KEY}, headers=admin
    )
    assert half.status_code == 422 and "api_key and secret together" in half.text
    nothing = client.put(f"/api/v1/credentials/{taken['id']}", json={}, headers=admin)
    assert nothing.status_code == 422 and "nothing to change" in nothing.text
    assert client.post("/api/v1/credentials/999999/test", json={}, headers=admin).status_code == 404


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file of the checkout
    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", str(settings.postgres.dsn))
    monkeypatch.setenv("SIGMAX_POSTGRES_SCHEMA", str(settings.postgres.schema_name))
    monkeypatch.setenv("SIGMAX_VAULT_ADDR", str(settings.vault.addr))
    token = settings.vault.token.get_secret_value()  # type: ignore[union-attr]
    monkeypatch.setenv("SIGMAX_VAULT_TOKEN", token)


def test_cli_stores_what_the_api_lists_and_reads_secrets_from_stdin(
    cli_env: None, client: TestClient, admin: dict[str, str]
) -> None:
    runner = CliRunner()
    name = new_name()
    added = runner.invoke(
        cli,
        ["credentials", "add", "--name", name, "--exchange", "binance", "--with-password"],
        input=f"{API_KEY}\n{SECRET}\n{PASSWORD}\n",
    )
    assert added.exit_code == 0, added.output
    assert "****wxyz" in added.output and "untested" in added.output
    cid = int(re.search(r"^id:\s+(\d+)$", added.output, re.M).group(1))  # type: ignore[union-attr]
    seen = client.get(f"/api/v1/credentials/{cid}", headers=admin).json()
    assert seen["name"] == name and seen["cipher"] == "transit"

    rotated = runner.invoke(
        cli,
        ["credentials", "update", name, "--rotate"],
        input="rotatedKey-9999dcba\nrotatedSecret\n",
    )
    assert rotated.exit_code == 0 and "****dcba" in rotated.output
    listed = runner.invoke(cli, ["credentials", "list"])
    assert listed.exit_code == 0 and "****dcba" in listed.output
    short = runner.invoke(
        cli,
        ["credentials", "add", "--name", new_name(), "--exchange", "binance"],
        input=f"{API_KEY}\n",
    )
    assert short.exit_code != 0 and "ended before the Secret" in short.output
    unknown = runner.invoke(cli, ["credentials", "test", "no-such-credential"])
    assert unknown.exit_code == 1 and "no such credential" in unknown.output
    deleted = runner.invoke(cli, ["credentials", "delete", str(cid), "--yes"])
    assert deleted.exit_code == 0 and f"deleted credential {cid}" in deleted.output
    for result in (added, rotated, listed, deleted):
        assert_no_secret(result.output)


def test_log_fields_named_like_secrets_are_redacted(
    production_logging: None, captured: Any
) -> None:
    log = structlog.get_logger("test.credentials")
    log.warning("connecting", exchange="binance", api_key=API_KEY, Secret=SECRET, password=None)
    text = captured()
    assert '"exchange": "binance"' in text and '"api_key": "***"' in text
    assert '"Secret": "***"' in text and '"password": null' in text
    assert_no_secret(text)


def test_a_venue_takes_the_stored_credential_of_its_name_before_the_environment(
    client: TestClient,
    admin: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sigmax.credentials.venue import VenueCredentials

    env_key, env_secret = "env-key-0123456789", "env-secret-0123456789"
    created = create(client, admin)
    name = created["name"]
    env_name = name.upper().replace("-", "_").replace(".", "_")
    for part, value in (("API_KEY", env_key), ("SECRET", env_secret)):
        monkeypatch.setenv(f"SIGMAX_EXCHANGE_{env_name}_{part}", value)
        monkeypatch.setenv(f"SIGMAX_EXCHANGE_ELSEWHERE_{part}", value)
    venue = VenueCredentials("binance", settings.postgres, settings.vault)
    # stored but untested: refused, never replaced by the environment's keys
    with pytest.raises(CredentialsError, match="untested"):
        venue.get_exchange_credentials(name)
    expect(NO_WITHDRAW)
    tested = client.post(f"/api/v1/credentials/{created['id']}/test", json={}, headers=admin)
    assert tested.json()["status"] == "ok"
    stored = venue.get_exchange_credentials(name)
    assert (stored.api_key, stored.secret) == (API_KEY, SECRET)
    # no stored credential of that name: the secrets backend's (here the environment)
    other = VenueCredentials("binance", settings.postgres, SecretsConfig())  # no Vault
    fallback = other.get_exchange_credentials("elsewhere")
    assert (fallback.api_key, fallback.secret) == (env_key, env_secret)
    with pytest.raises(CredentialsError, match="is for binance, not kraken"):
        VenueCredentials("kraken", settings.postgres, settings.vault).get_exchange_credentials(name)
