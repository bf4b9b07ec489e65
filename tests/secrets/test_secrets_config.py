"""SecretsConfig: env prefix, standard Vault/OpenBao fallbacks, validation, redaction."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from sigmax.secrets_config import SecretsConfig


def test_defaults_mean_env_fallback() -> None:
    cfg = SecretsConfig()
    assert cfg.addr is None
    assert cfg.mount_point == "secret"
    assert cfg.base_path == "sigmax"
    assert cfg.verify is True
    assert cfg.auth_method == "none"
    assert cfg.not_configured_reason is not None
    assert "SIGMAX_VAULT_ADDR" in cfg.not_configured_reason


def test_sigmax_prefix_reads_every_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_VAULT_ADDR", "https://vault.example:8200/")
    monkeypatch.setenv("SIGMAX_VAULT_TOKEN", "tok")
    monkeypatch.setenv("SIGMAX_VAULT_MOUNT_POINT", "kv")
    monkeypatch.setenv("SIGMAX_VAULT_BASE_PATH", "apps/sigmax")
    monkeypatch.setenv("SIGMAX_VAULT_VERIFY", "false")
    monkeypatch.setenv("SIGMAX_VAULT_TIMEOUT_S", "2.5")
    monkeypatch.setenv("SIGMAX_VAULT_CACHE_TTL_S", "0")
    cfg = SecretsConfig()
    assert cfg.addr == "https://vault.example:8200"
    assert cfg.token is not None and cfg.token.get_secret_value() == "tok"
    assert (cfg.mount_point, cfg.base_path) == ("kv", "apps/sigmax")
    assert cfg.verify is False
    assert cfg.timeout_s == 2.5
    assert cfg.cache_ttl_s == 0
    assert cfg.auth_method == "token"
    assert cfg.not_configured_reason is None


@pytest.mark.parametrize("prefix", ["VAULT", "BAO"])
def test_standard_variables_are_fallbacks(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv(f"{prefix}_ADDR", "http://127.0.0.1:8200")
    monkeypatch.setenv(f"{prefix}_TOKEN", "std-token")
    cfg = SecretsConfig()
    assert cfg.addr == "http://127.0.0.1:8200"
    assert cfg.token is not None and cfg.token.get_secret_value() == "std-token"


def test_sigmax_variable_wins_over_standard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://standard:8200")
    monkeypatch.setenv("SIGMAX_VAULT_ADDR", "http://sigmax:8200")
    assert SecretsConfig().addr == "http://sigmax:8200"


def test_keyword_arguments_by_field_name() -> None:
    cfg = SecretsConfig(addr="http://x:1", token=SecretStr("t"), role_id="r", secret_id="s")
    assert cfg.addr == "http://x:1"
    assert cfg.auth_method == "approle"  # AppRole wins over a token


def test_address_without_credentials_is_not_configured() -> None:
    reason = SecretsConfig(addr="http://x:1").not_configured_reason
    assert reason is not None and "credentials" in reason


def test_frozen() -> None:
    cfg = SecretsConfig()
    with pytest.raises(ValidationError):
        cfg.mount_point = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"addr": "vault:8200"}, "must start with http:// or https://"),
        ({"role_id": "r"}, "secret_id is not (SIGMAX_VAULT_SECRET_ID)"),
        ({"secret_id": "s"}, "role_id is not (SIGMAX_VAULT_ROLE_ID)"),
        ({"mount_point": "../sys"}, "mount_point"),
        ({"cache_ttl_s": -1}, "cache_ttl_s"),
    ],
)
def test_invalid_settings_say_what_is_wrong(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        SecretsConfig(**kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_credentials_never_in_repr_or_validation_errors() -> None:
    cfg = SecretsConfig(
        addr="http://x:1", token="tok-canary", role_id="role-canary", secret_id="sid-canary"
    )
    text = repr(cfg) + str(cfg) + repr(cfg.model_dump())
    for value in ("tok-canary", "role-canary", "sid-canary"):
        assert value not in text
    with pytest.raises(ValidationError) as info:
        SecretsConfig(addr="nope", token="tok-canary", secret_id="sid-canary")
    assert "tok-canary" not in str(info.value) and "sid-canary" not in str(info.value)
