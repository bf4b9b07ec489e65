"""SecretsManager against a real OpenBao dev server: token auth, KV v2 layout, cache, health."""

from __future__ import annotations

import uuid
from typing import Any

import hvac
import pytest
import structlog
from pydantic import SecretStr
from urllib3.exceptions import InsecureRequestWarning

from sigmax.execution import CcxtVenue, CcxtVenueConfig, CredentialsError
from sigmax.execution.credentials import CredentialsProvider, ExchangeCredentials
from sigmax.secrets import (
    ExchangeCredentialsNotFoundError,
    SecretNotFoundError,
    SecretsAuthError,
    SecretsBackendError,
    SecretsManager,
)
from sigmax.secrets_config import SecretsConfig


def manager(bao: Any, base_path: str, clock: Any = None, **overrides: Any) -> SecretsManager:
    settings: dict[str, Any] = {"addr": bao.addr, "token": bao.root_token, "base_path": base_path}
    settings.update(overrides)
    config = SecretsConfig(**settings)
    return (
        SecretsManager(config, environ={})
        if clock is None
        else SecretsManager(config, environ={}, clock=clock)
    )


def test_token_auth_write_then_read_back(bao: Any, root: hvac.Client, base_path: str) -> None:
    m = manager(bao, base_path)
    m.put_secret("services/alpha", {"user": "svc", "password": SecretStr("pw-1")})
    value = m.get_secret("services/alpha", "password")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == "pw-1"
    assert m.get_secret("services/alpha", "user").get_secret_value() == "svc"
    assert m.backend == "vault" and m.fallback_reason is None
    # it really is in KV v2 under mount/base_path/path
    stored = root.secrets.kv.v2.read_secret_version(
        path=f"{base_path}/services/alpha", mount_point="secret", raise_on_deleted_version=True
    )
    assert stored["data"]["data"] == {"user": "svc", "password": "pw-1"}


def test_put_replaces_the_secret_and_refreshes_the_cache(bao: Any, base_path: str) -> None:
    m = manager(bao, base_path)
    m.put_secret("svc", {"a": "1", "b": "2"})
    assert m.get_secret("svc", "a").get_secret_value() == "1"
    m.put_secret("svc", {"a": "3"})
    assert m.get_secret("svc", "a").get_secret_value() == "3"
    with pytest.raises(SecretNotFoundError):
        m.get_secret("svc", "b")


def test_non_string_values_come_back_as_json(bao: Any, root: hvac.Client, base_path: str) -> None:
    root.secrets.kv.v2.create_or_update_secret(
        path=f"{base_path}/typed", secret={"port": 5432, "tags": ["a"]}, mount_point="secret"
    )
    m = manager(bao, base_path)
    assert m.get_secret("typed", "port").get_secret_value() == "5432"
    assert m.get_secret("typed", "tags").get_secret_value() == '["a"]'


def test_custom_kv_v2_mount_and_base_path(bao: Any, root: hvac.Client) -> None:
    mount = f"kv-{uuid.uuid4().hex[:8]}"
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    m = manager(bao, "apps/sigmax", mount_point=mount)
    m.put_secret("databases/postgres", {"dsn": "postgresql://u@db/sigmax"})
    stored = root.secrets.kv.v2.read_secret_version(
        path="apps/sigmax/databases/postgres", mount_point=mount, raise_on_deleted_version=True
    )
    assert stored["data"]["data"]["dsn"] == "postgresql://u@db/sigmax"
    assert m.get_database_url("postgres").get_secret_value() == "postgresql://u@db/sigmax"
    # base_path '' addresses the mount root
    root.secrets.kv.v2.create_or_update_secret(
        path="api_keys/openai", secret={"api_key": "sk-root"}, mount_point=mount
    )
    assert manager(bao, "", mount_point=mount).get_api_key("openai").get_secret_value() == "sk-root"


def test_api_key_and_database_layout(bao: Any, root: hvac.Client, base_path: str) -> None:
    root.secrets.kv.v2.create_or_update_secret(
        path=f"{base_path}/api_keys/anthropic", secret={"api_key": "ak-1"}, mount_point="secret"
    )
    root.secrets.kv.v2.create_or_update_secret(
        path=f"{base_path}/databases/redis",
        secret={"dsn": "redis://r:6379/0"},
        mount_point="secret",
    )
    m = manager(bao, base_path)
    assert m.get_api_key("anthropic").get_secret_value() == "ak-1"
    assert m.get_database_url("redis").get_secret_value() == "redis://r:6379/0"


def test_env_is_not_read_while_vault_is_in_use(bao: Any, base_path: str) -> None:
    config = SecretsConfig(addr=bao.addr, token=bao.root_token, base_path=base_path)
    m = SecretsManager(config, environ={"SIGMAX_OPENAI_API_KEY": "from-env"})
    with pytest.raises(SecretNotFoundError, match="api_keys/openai"):
        m.get_api_key("openai")


# ---- cache --------------------------------------------------------------------------------


def test_cache_hit_until_ttl_then_fresh_read(
    bao: Any, root: hvac.Client, base_path: str, clock: Any
) -> None:
    m = manager(bao, base_path, clock, cache_ttl_s=10)
    m.put_secret("rotating", {"v": "old"})
    assert m.get_secret("rotating", "v").get_secret_value() == "old"
    # rotated behind the manager's back: the cached value is served until the TTL runs out
    root.secrets.kv.v2.create_or_update_secret(
        path=f"{base_path}/rotating", secret={"v": "new"}, mount_point="secret"
    )
    clock.advance(9.9)
    assert m.get_secret("rotating", "v").get_secret_value() == "old"
    clock.advance(0.1)
    assert m.get_secret("rotating", "v").get_secret_value() == "new"


def test_invalidate_one_path_or_all(
    bao: Any, root: hvac.Client, base_path: str, clock: Any
) -> None:
    m = manager(bao, base_path, clock, cache_ttl_s=300)
    for path in ("a", "b"):
        m.put_secret(path, {"v": "1"})
        assert m.get_secret(path, "v").get_secret_value() == "1"
        root.secrets.kv.v2.create_or_update_secret(
            path=f"{base_path}/{path}", secret={"v": "2"}, mount_point="secret"
        )
    m.invalidate("a")
    assert m.get_secret("a", "v").get_secret_value() == "2"
    assert m.get_secret("b", "v").get_secret_value() == "1"
    m.invalidate()
    assert m.get_secret("b", "v").get_secret_value() == "2"


def test_cache_ttl_zero_reads_every_time(bao: Any, root: hvac.Client, base_path: str) -> None:
    m = manager(bao, base_path, cache_ttl_s=0)
    m.put_secret("live", {"v": "1"})
    assert m.get_secret("live", "v").get_secret_value() == "1"
    root.secrets.kv.v2.create_or_update_secret(
        path=f"{base_path}/live", secret={"v": "2"}, mount_point="secret"
    )
    assert m.get_secret("live", "v").get_secret_value() == "2"


# ---- not found ------------------------------------------------------------------------------


def test_missing_path_names_the_vault_location(bao: Any, base_path: str) -> None:
    m = manager(bao, base_path)
    with pytest.raises(SecretNotFoundError) as info:
        m.get_secret("nowhere/x", "token")
    text = str(info.value)
    assert f"secret/{base_path}/nowhere/x" in text
    assert "'token'" in text and "no secret at that path" in text
    assert info.value.looked_in == (f"secret/{base_path}/nowhere/x",)
    assert info.value.keys == ("token",)


def test_missing_key_lists_the_keys_present_not_values(bao: Any, base_path: str) -> None:
    m = manager(bao, base_path)
    m.put_secret("svc", {"user": "value-u"})
    with pytest.raises(SecretNotFoundError) as info:
        m.get_secret("svc", "password")
    assert "keys there: ['user']" in str(info.value)
    assert "value-u" not in str(info.value)


def test_deleted_secret_is_not_found(bao: Any, root: hvac.Client, base_path: str) -> None:
    m = manager(bao, base_path, cache_ttl_s=0)
    m.put_secret("gone", {"v": "1"})
    root.secrets.kv.v2.delete_latest_version_of_secret(
        path=f"{base_path}/gone", mount_point="secret"
    )
    with pytest.raises(SecretNotFoundError, match="no secret at that path"):
        m.get_secret("gone", "v")


@pytest.mark.parametrize("path", ["", "../x", "a/../b", "a//b", "a b", "./x"])
def test_bad_paths_are_rejected(bao: Any, base_path: str, path: str) -> None:
    with pytest.raises(ValueError, match="secret path"):
        manager(bao, base_path).get_secret(path, "k")


# ---- exchange credentials -------------------------------------------------------------------


def test_exchange_credentials_round_trip_and_protocol(bao: Any, base_path: str) -> None:
    m = manager(bao, base_path)
    assert isinstance(m, CredentialsProvider)
    m.put_secret("exchanges/kucoin", {"api_key": "k-1", "secret": "s-1", "password": "p-1"})
    creds = m.get_exchange_credentials("kucoin")
    assert isinstance(creds, ExchangeCredentials)
    assert (creds.api_key, creds.secret, creds.password) == ("k-1", "s-1", "p-1")
    m.put_secret("exchanges/binance", {"api_key": "bk", "secret": "bs"})
    assert m.get_exchange_credentials("binance").password is None
    venue = CcxtVenue(CcxtVenueConfig(exchange_id="binance"), credentials=m)
    assert "bk" not in repr(venue) and "bs" not in repr(venue)


def test_missing_exchange_credentials_are_a_credentials_error(bao: Any, base_path: str) -> None:
    m = manager(bao, base_path)
    m.put_secret("exchanges/kraken", {"api_key": "only-key"})
    with pytest.raises(CredentialsError) as info:
        m.get_exchange_credentials("kraken")
    assert isinstance(info.value, ExchangeCredentialsNotFoundError)
    assert "secret" in str(info.value) and f"secret/{base_path}/exchanges/kraken" in str(info.value)
    with pytest.raises(CredentialsError, match="not a valid env-var part"):
        m.get_exchange_credentials("bad/id")


# ---- health, token lifetime ------------------------------------------------------------------


def test_health_with_root_token(bao: Any, base_path: str) -> None:
    h = manager(bao, base_path).health()
    assert (h.backend, h.auth_method, h.reachable, h.authenticated) == (
        "vault",
        "token",
        True,
        True,
    )
    assert h.token_ttl_s == 0  # the dev root token never expires
    assert h.latency_ms is not None and h.latency_ms >= 0
    assert h.fallback_reason is None and h.error is None


def test_health_reports_token_ttl_and_renewable(
    bao: Any, root: hvac.Client, base_path: str
) -> None:
    token = root.auth.token.create(policies=["default"], ttl="1h", renewable=True)["auth"]
    h = manager(bao, base_path, token=token["client_token"]).health()
    assert h.authenticated and h.token_renewable is True
    assert h.token_ttl_s is not None and 0 < h.token_ttl_s <= 3600


def test_refused_token_is_an_auth_error_not_a_fallback(bao: Any, base_path: str) -> None:
    m = manager(bao, base_path, token="not-a-real-token")
    with pytest.raises(SecretsAuthError, match="refused the configured token"):
        m.get_secret("x", "y")
    h = m.health()
    assert h.backend == "vault" and h.reachable and not h.authenticated
    assert h.error is not None and "refused" in h.error


def test_token_without_policy_for_a_path(bao: Any, root: hvac.Client, base_path: str) -> None:
    token = root.auth.token.create(policies=["default"], ttl="1h")["auth"]["client_token"]
    m = manager(bao, base_path, token=token)
    with pytest.raises(SecretsAuthError, match=f"secret/{base_path}/x"):
        m.get_secret("x", "y")


def test_renew_token_if_needed(bao: Any, root: hvac.Client, base_path: str) -> None:
    token = root.auth.token.create(policies=["default"], ttl="1h", renewable=True)["auth"]
    m = manager(bao, base_path, token=token["client_token"])
    assert m.renew_token_if_needed(min_ttl_s=60) is False
    assert not root.auth.token.lookup(token["client_token"])["data"].get("last_renewal_time")
    assert m.renew_token_if_needed(min_ttl_s=7200) is True
    assert root.auth.token.lookup(token["client_token"])["data"].get("last_renewal_time")


def test_renew_never_expiring_or_non_renewable_token(
    bao: Any, root: hvac.Client, base_path: str
) -> None:
    assert manager(bao, base_path).renew_token_if_needed(min_ttl_s=10**9) is False
    token = root.auth.token.create(policies=["default"], ttl="1h", renewable=False)["auth"]
    with structlog.testing.capture_logs() as logs:
        assert (
            manager(bao, base_path, token=token["client_token"]).renew_token_if_needed(7200)
            is False
        )
    assert [e["event"] for e in logs] == ["secrets.token_expiring"]


def test_tls_verify_flag_and_ca_bundle(start_bao: Any) -> None:
    server = start_bao(tls=True)
    assert server.ca_cert is not None
    server.client().secrets.kv.v2.create_or_update_secret(
        path="sigmax/svc", secret={"k": "over-tls"}, mount_point="secret"
    )
    base = {"addr": server.addr, "token": server.root_token}
    with_ca = SecretsManager(SecretsConfig(**base, ca_cert=server.ca_cert), environ={})
    assert with_ca.get_secret("svc", "k").get_secret_value() == "over-tls"
    unverified = SecretsManager(SecretsConfig(**base, verify=False), environ={})
    with pytest.warns(InsecureRequestWarning):
        assert unverified.get_secret("svc", "k").get_secret_value() == "over-tls"
    # the dev CA is not in the system trust store: a clear error, not a silent env fallback
    strict = SecretsManager(SecretsConfig(**base), environ={"SIGMAX_SVC_K": "env"})
    with pytest.raises(SecretsBackendError, match="TLS to vault at https://127.0.0.1"):
        strict.get_secret("svc", "k")
    h = strict.health()
    assert not h.reachable and h.error is not None and "SIGMAX_VAULT_CA_CERT" in h.error
