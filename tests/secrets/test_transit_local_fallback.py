"""The local key-encryption fallback used when no Vault is configured: key file, env key,
round trip, clear errors, the warning logged once and shown in the API's health."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from pydantic import SecretStr

from serve_app.api import create_app
from serve_app.config import APIConfig
from sigmax.config import Settings
from sigmax.credentials import cipher_choice
from sigmax.credentials.cipher import CipherError
from sigmax.credentials.cipher_choice import cipher_health, open_cipher
from sigmax.credentials.local_cipher import WARNING, LocalKeyCipher
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.redis_config import RedisConfig
from tests.serve.conftest import create_key
from tests.storage.pg.pg_fixtures import make_config, migrated_schema

SECRET = "localFallbackSecret-0123456789abcdef"


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("SIGMAX_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def env_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_key_file_is_made_0600_and_reused(home: Path) -> None:
    cipher = open_cipher(SecretsConfig())
    assert isinstance(cipher, LocalKeyCipher) and cipher.warning == WARNING
    key_file = home / "credentials.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ciphertext = cipher.encrypt(SECRET)
    assert ciphertext.startswith(f"local:v1:{cipher.key_id}:") and SECRET not in ciphertext
    again = open_cipher(SecretsConfig())  # a later process reads the same key
    assert again.decrypt(ciphertext) == SECRET
    assert again.key_ref(ciphertext) == f"local:{cipher.key_id}"


def test_a_key_file_others_may_read_is_refused(home: Path) -> None:
    open_cipher(SecretsConfig())
    (home / "credentials.key").chmod(0o644)
    with pytest.raises(CipherError, match="chmod 600"):
        open_cipher(SecretsConfig())


def test_key_from_the_environment_round_trips_and_a_bad_one_is_named(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("SIGMAX_VAULT_LOCAL_KEY", env_key())
    cipher = open_cipher(SecretsConfig())
    assert cipher.decrypt(cipher.encrypt(SECRET)) == SECRET
    assert not (home / "credentials.key").exists()
    short = base64.urlsafe_b64encode(b"too short").decode()
    with pytest.raises(CipherError, match="SIGMAX_VAULT_LOCAL_KEY: decodes to 9 bytes") as err:
        open_cipher(SecretsConfig(local_key=SecretStr(short)))
    assert short not in str(err.value)


def test_wrong_key_and_tampering_are_clear_errors(home: Path) -> None:
    ciphertext = open_cipher(SecretsConfig()).encrypt(SECRET)
    other = open_cipher(SecretsConfig(local_key=SecretStr(env_key())))
    with pytest.raises(CipherError, match="made with local key"):
        other.decrypt(ciphertext)
    cipher = open_cipher(SecretsConfig())
    head, blob = ciphertext.rsplit(":", 1)
    flipped = blob[:-4] + ("AAAA" if blob[-4:] != "AAAA" else "BBBB")
    with pytest.raises(CipherError, match="corrupt"):
        cipher.decrypt(f"{head}:{flipped}")


def test_the_local_key_warning_is_logged_once(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setattr(cipher_choice, "_warned", False)
    with structlog.testing.capture_logs() as logs:
        open_cipher(SecretsConfig())
        open_cipher(SecretsConfig())
    warnings = [e for e in logs if e["event"] == "credentials.local_key_encryption"]
    assert len(warnings) == 1 and warnings[0]["warning"] == WARNING
    assert warnings[0]["log_level"] == "warning"


def test_health_warns_of_local_key_encryption_without_vault() -> None:
    assert cipher_health(SecretsConfig()) == {"credentials_cipher": "local", "warning": WARNING}
    with migrated_schema() as schema:
        settings = Settings(
            postgres=make_config(schema, pool_size=1, max_overflow=1),
            redis=RedisConfig(url="redis://127.0.0.1:6379/0"),
            vault=SecretsConfig(),
        )
        config = APIConfig(rate_limit_prefix=f"sigmax:test:{schema}:", session_id="none")
        key = create_key(settings, ["read"])
        with TestClient(create_app(settings, config)) as client:
            headers = {"Authorization": f"Bearer {key}"}
            body = client.get("/api/v1/health/details", headers=headers).json()
    secrets = body["stores"]["secrets"]
    assert secrets["detail"]["warning"] == "local key encryption, no Vault transit"
    assert secrets["detail"]["credentials_cipher"] == "local"
