"""Credential encryption through the real OpenBao dev server's transit engine, and the
credentials stored in PostgreSQL as transit ciphertext only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import hvac
import pytest

from sigmax.credentials.cipher import CipherError
from sigmax.credentials.cipher_choice import cipher_health, open_cipher
from sigmax.credentials.manager import CredentialManager, SecretFields
from sigmax.credentials.model import CredentialConflictError
from sigmax.credentials.repository import ExchangeCredentialRepository
from sigmax.credentials.transit_cipher import TransitCipher
from sigmax.secrets_config import SecretsConfig
from sigmax.storage.postgres import PostgresPool
from tests.execution.test_execution_ccxt import RecordedBinance
from tests.storage.pg.pg_fixtures import make_config, migrated_schema

API_KEY = "transitTestApiKey0123456789abcdefWXYZ"
SECRET = "transitTestSecret9876543210zyxwvuQRST"


class PermittedBinance(RecordedBinance):
    """Test double: Binance answering one apiRestrictions call (no withdrawals)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.session.script.append(
            ("GET", "/sapi/v1/account/apiRestrictions", "api_restrictions_no_withdraw.json", 200)
        )


@pytest.fixture(scope="module")
def pg_schema() -> Iterator[str]:
    with migrated_schema() as name:
        yield name


@pytest.fixture
def transit_mount(root: hvac.Client) -> str:
    """A transit engine on a mount of its own (so tests share the server, not the keys)."""
    mount = f"transit-{uuid.uuid4().hex[:8]}"
    root.sys.enable_secrets_engine("transit", path=mount)
    return mount


def vault_config(bao: Any, mount: str, **overrides: Any) -> SecretsConfig:
    values: dict[str, Any] = {"addr": bao.addr, "token": bao.root_token, "transit_mount": mount}
    values.update(overrides)
    return SecretsConfig(**values)


def test_transit_round_trip_creates_the_key(
    bao: Any, root: hvac.Client, transit_mount: str
) -> None:
    cipher = open_cipher(vault_config(bao, transit_mount))
    assert isinstance(cipher, TransitCipher) and cipher.warning is None
    ciphertext = cipher.encrypt(SECRET)
    assert ciphertext.startswith("vault:v1:") and SECRET not in ciphertext
    assert cipher.decrypt(ciphertext) == SECRET
    assert cipher.key_ref(ciphertext) == f"transit:{transit_mount}/sigmax-exchange-credentials:v1"
    key = root.secrets.transit.read_key(
        name="sigmax-exchange-credentials", mount_point=transit_mount
    )
    assert key["data"]["type"] == "aes256-gcm96"
    assert cipher_health(vault_config(bao, transit_mount)) == {
        "credentials_cipher": "transit",
        "warning": None,
    }


def test_old_ciphertexts_decrypt_after_the_key_is_rotated(
    bao: Any, root: hvac.Client, transit_mount: str
) -> None:
    cipher = open_cipher(vault_config(bao, transit_mount, transit_key="rotating"))
    before = cipher.encrypt("first")
    root.secrets.transit.rotate_key(name="rotating", mount_point=transit_mount)
    after = cipher.encrypt("second")
    assert before.startswith("vault:v1:") and after.startswith("vault:v2:")
    assert (cipher.decrypt(before), cipher.decrypt(after)) == ("first", "second")


def test_a_missing_transit_mount_says_how_to_enable_it(bao: Any) -> None:
    cipher = open_cipher(vault_config(bao, "no-such-transit"))
    with pytest.raises(CipherError, match="no transit engine is mounted at 'no-such-transit'"):
        cipher.encrypt(SECRET)


def test_a_configured_but_unreachable_vault_is_an_error_not_the_local_key(
    closed_port: int,
) -> None:
    config = SecretsConfig(addr=f"http://127.0.0.1:{closed_port}", token="t", timeout_s=2)
    cipher = open_cipher(config)
    assert cipher.kind == "transit"
    with pytest.raises(CipherError, match="vault is not in use"):
        cipher.encrypt(SECRET)


def test_tampered_transit_ciphertext_is_refused(bao: Any, transit_mount: str) -> None:
    cipher = open_cipher(vault_config(bao, transit_mount))
    ciphertext = cipher.encrypt(SECRET)
    with pytest.raises(CipherError):
        cipher.decrypt(ciphertext[:-6] + "AAAAAA")
    with pytest.raises(CipherError, match="not a transit ciphertext"):
        cipher.decrypt("local:v1:abc:def")


@pytest.mark.asyncio
async def test_credentials_are_stored_as_transit_ciphertext_and_load_after_a_test(
    bao: Any, transit_mount: str, pg_schema: str
) -> None:
    cipher = open_cipher(vault_config(bao, transit_mount))
    async with PostgresPool(make_config(pg_schema, pool_size=1, max_overflow=0)) as pool:
        manager = CredentialManager(
            ExchangeCredentialRepository(pool), cipher, {"binance": PermittedBinance}
        )
        name = f"binance-{uuid.uuid4().hex[:6]}"
        fields = SecretFields(API_KEY, SECRET, "a-passphrase-1")
        created = await manager.create(name, "binance", fields, sandbox=False, actor="test")
        assert created.hint == "****WXYZ" and created.cipher == "transit"
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT *, row_to_json(c)::text AS whole FROM exchange_credentials c WHERE id = $1",
                created.id,
            )
        for column in ("api_key_ciphertext", "secret_ciphertext", "password_ciphertext"):
            assert row[column].startswith("vault:v1:"), column
        for plaintext in (API_KEY, SECRET, "a-passphrase-1"):
            assert plaintext not in row["whole"]
        tested = await manager.test(created.id, allow_withdraw=False, actor="test")
        assert tested.status == "ok"
        loaded = await manager.load(name, "binance")
        assert (loaded.api_key, loaded.secret, loaded.password) == (
            API_KEY,
            SECRET,
            "a-passphrase-1",
        )
        audit = await manager.repo.audit_records()
        assert [r.kind for r in audit][-2:] == ["credential_created", "credential_tested"]
        assert all(SECRET not in str(r.payload) for r in audit)


def test_a_token_that_may_only_encrypt_and_decrypt_uses_the_existing_key(
    bao: Any, root: hvac.Client, transit_mount: str
) -> None:
    root.secrets.transit.create_key(name="ops-made", mount_point=transit_mount)
    policy = f"transit-use-{uuid.uuid4().hex[:8]}"
    paths = [f"{transit_mount}/{op}/ops-made" for op in ("encrypt", "decrypt")]
    root.sys.create_or_update_policy(
        name=policy, policy="".join(f'path "{p}" {{ capabilities = ["update"] }}\n' for p in paths)
    )
    token = root.auth.token.create(policies=[policy], ttl="10m")["auth"]["client_token"]
    config = SecretsConfig(
        addr=bao.addr, token=token, transit_mount=transit_mount, transit_key="ops-made"
    )
    cipher = open_cipher(config)
    assert cipher.decrypt(cipher.encrypt(SECRET)) == SECRET
    denied = open_cipher(config.model_copy(update={"transit_key": "not-allowed"}))
    with pytest.raises(CipherError, match="refused the token"):
        denied.encrypt(SECRET)


@pytest.mark.asyncio
async def test_a_test_result_is_not_recorded_for_secrets_rotated_meanwhile(
    bao: Any, transit_mount: str, pg_schema: str
) -> None:
    cipher = open_cipher(vault_config(bao, transit_mount))
    config = make_config(pg_schema, pool_size=1, max_overflow=0)
    name = f"race-{uuid.uuid4().hex[:6]}"

    class RotatedWhileChecking(PermittedBinance):
        """Test double: an operator rotates the secrets while the exchange answers."""

        def __init__(self, exchange_config: dict[str, Any]) -> None:
            super().__init__(exchange_config)

            async def rotate() -> None:
                async with PostgresPool(config) as other:
                    rival = CredentialManager(ExchangeCredentialRepository(other), cipher)
                    found = await rival.repo.get_by_name(name)
                    fields = SecretFields("rotatedKey-00001234", "rotatedSecret")
                    await rival.update(found.id, actor="rival", fields=fields)

            asyncio.run(rotate())  # the check runs in a worker thread: no loop here

    async with PostgresPool(config) as pool:
        manager = CredentialManager(
            ExchangeCredentialRepository(pool), cipher, {"binance": RotatedWhileChecking}
        )
        fields = SecretFields(API_KEY, SECRET)
        created = await manager.create(name, "binance", fields, sandbox=False, actor="test")
        with pytest.raises(CredentialConflictError, match="changed meanwhile"):
            await manager.test(created.id, allow_withdraw=False, actor="test")
        after = await manager.get(created.id)
        assert (after.status, after.hint) == ("untested", "****1234")
