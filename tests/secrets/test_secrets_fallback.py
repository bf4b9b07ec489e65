"""Environment-variable fallback: Vault not configured, or configured but unreachable."""

from __future__ import annotations

import socket
from collections.abc import MutableMapping
from typing import Any

import pytest
import structlog
from pydantic import SecretStr

from sigmax.execution import CredentialsError
from sigmax.execution.credentials import CredentialsProvider
from sigmax.secrets import (
    ExchangeCredentialsNotFoundError,
    SecretNotFoundError,
    SecretsBackendError,
    SecretsManager,
    env_var_name,
)
from sigmax.secrets_config import SecretsConfig

ENV = {
    "SIGMAX_OPENAI_API_KEY": "sk-sigmax",
    "ANTHROPIC_API_KEY": "ak-plain",
    "SIGMAX_POSTGRES_DSN": "postgresql://u@h/db",
    "SIGMAX_SERVICES_ALPHA_PASSWORD": "pw-env",
    "SIGMAX_EXCHANGE_BINANCE_API_KEY": "bk",
    "SIGMAX_EXCHANGE_BINANCE_SECRET": "bs",
    "SIGMAX_EXCHANGE_OKX_API_KEY": "ok",
    "SIGMAX_EXCHANGE_OKX_SECRET": "os",
    "SIGMAX_EXCHANGE_OKX_PASSWORD": "op",
}


def fallback_events(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == "secrets.fallback_to_env"]


def unreachable(port: int, clock: Any, environ: dict[str, str] | None = None) -> SecretsManager:
    config = SecretsConfig(addr=f"http://127.0.0.1:{port}", token="t", timeout_s=2)
    return SecretsManager(config, environ=ENV if environ is None else environ, clock=clock)


def check_env_reads(m: SecretsManager) -> None:
    assert m.get_api_key("openai").get_secret_value() == "sk-sigmax"
    assert m.get_api_key("anthropic").get_secret_value() == "ak-plain"  # un-prefixed fallback
    assert m.get_database_url("postgres").get_secret_value() == "postgresql://u@h/db"
    assert m.get_secret("services/alpha", "password").get_secret_value() == "pw-env"
    binance = m.get_exchange_credentials("binance")
    assert (binance.api_key, binance.secret, binance.password) == ("bk", "bs", None)
    assert m.get_exchange_credentials("okx").password == "op"


def test_not_configured_reads_env_and_logs_once() -> None:
    m = SecretsManager(SecretsConfig(), environ=ENV)
    assert isinstance(m, CredentialsProvider)
    with structlog.testing.capture_logs() as logs:
        check_env_reads(m)
        check_env_reads(m)
    events = fallback_events(logs)
    assert len(events) == 1
    assert "no vault address" in events[0]["reason"]
    assert events[0]["log_level"] == "warning"
    assert m.backend == "env"


def test_default_environ_is_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_DEEPSEEK_API_KEY", "ds-1")
    assert SecretsManager().get_api_key("deepseek").get_secret_value() == "ds-1"


def test_address_without_credentials_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:1")
    m = SecretsManager(environ=ENV)
    assert m.get_api_key("openai").get_secret_value() == "sk-sigmax"
    assert m.fallback_reason is not None and "no vault credentials" in m.fallback_reason


def test_unreachable_server_falls_back_with_one_log_line(closed_port: int, clock: Any) -> None:
    m = unreachable(closed_port, clock)
    with structlog.testing.capture_logs() as logs:
        check_env_reads(m)
        clock.advance(31)  # past retry_after_s: Vault is tried again, still down, no new line
        check_env_reads(m)
    events = fallback_events(logs)
    assert len(events) == 1, logs
    reason = events[0]["reason"]
    assert f"vault at http://127.0.0.1:{closed_port} unreachable" in reason
    assert "ConnectionError" in reason
    assert m.backend == "env" and m.fallback_reason == reason


def test_env_var_naming() -> None:
    assert env_var_name("services/alpha", "password") == "SIGMAX_SERVICES_ALPHA_PASSWORD"
    assert env_var_name("api-keys/open.ai", "api_key") == "SIGMAX_API_KEYS_OPEN_AI_API_KEY"


def test_missing_env_secret_names_the_variables_and_reason(closed_port: int, clock: Any) -> None:
    m = unreachable(closed_port, clock, environ={})
    with pytest.raises(SecretNotFoundError) as info:
        m.get_api_key("mistral")
    text = str(info.value)
    assert "SIGMAX_MISTRAL_API_KEY, MISTRAL_API_KEY unset" in text
    assert "unreachable" in text
    assert info.value.looked_in == ("SIGMAX_MISTRAL_API_KEY", "MISTRAL_API_KEY")
    with pytest.raises(SecretNotFoundError, match="SIGMAX_TIMESCALE_DSN"):
        m.get_database_url("timescale")
    with pytest.raises(SecretNotFoundError, match="SIGMAX_A_B_C"):
        m.get_secret("a/b", "c")


def test_empty_env_value_counts_as_missing() -> None:
    m = SecretsManager(SecretsConfig(), environ={"SIGMAX_OPENAI_API_KEY": ""})
    with pytest.raises(SecretNotFoundError, match="SIGMAX_OPENAI_API_KEY"):
        m.get_api_key("openai")


def test_missing_exchange_env_is_a_credentials_error() -> None:
    m = SecretsManager(SecretsConfig(), environ={"SIGMAX_EXCHANGE_BYBIT_API_KEY": "k"})
    with pytest.raises(CredentialsError) as info:
        m.get_exchange_credentials("bybit")
    assert isinstance(info.value, ExchangeCredentialsNotFoundError)
    assert "SIGMAX_EXCHANGE_BYBIT_SECRET" in str(info.value)
    assert "SIGMAX_EXCHANGE_BYBIT_API_KEY" not in str(info.value)  # that one is set


def test_write_needs_vault() -> None:
    m = SecretsManager(SecretsConfig(), environ={})
    with pytest.raises(SecretsBackendError, match="cannot write secret 'x': vault is not in use"):
        m.put_secret("x", {"k": SecretStr("v")})


@pytest.mark.parametrize("name", ["", "a/b", "a b", "../x"])
def test_bad_names_are_rejected(name: str) -> None:
    m = SecretsManager(SecretsConfig(), environ={})
    with pytest.raises(ValueError, match="invalid"):
        m.get_api_key(name)


def test_health_not_configured() -> None:
    h = SecretsManager(SecretsConfig(), environ={}).health()
    assert (h.backend, h.reachable, h.authenticated, h.auth_method) == ("env", False, False, "none")
    assert h.fallback_reason is not None and "no vault address" in h.fallback_reason
    assert h.token_ttl_s is None and h.latency_ms is None


def test_health_unreachable(closed_port: int, clock: Any) -> None:
    h = unreachable(closed_port, clock).health()
    assert (h.backend, h.reachable, h.authenticated, h.auth_method) == (
        "env",
        False,
        False,
        "token",
    )
    assert h.fallback_reason is not None and str(closed_port) in h.fallback_reason


def test_recovers_when_vault_comes_back(start_bao: Any, clock: Any) -> None:
    """A manager that fell back uses Vault again once it answers and retry_after_s passed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))  # bound, not listening: refused until the server starts
        port = int(held.getsockname()[1])
        config = SecretsConfig(
            addr=f"http://127.0.0.1:{port}", token="sigmax-dev-root", retry_after_s=5
        )
        m = SecretsManager(config, environ={"SIGMAX_SVC_K": "env-value"}, clock=clock)
        assert m.get_secret("svc", "k").get_secret_value() == "env-value"
    server = start_bao(port)
    server.client().secrets.kv.v2.create_or_update_secret(
        path="sigmax/svc", secret={"k": "vault-value"}, mount_point="secret"
    )
    clock.advance(4)  # not yet time to try Vault again
    assert m.get_secret("svc", "k").get_secret_value() == "env-value"
    clock.advance(1)
    with structlog.testing.capture_logs() as logs:
        assert m.get_secret("svc", "k").get_secret_value() == "vault-value"
    assert [e["event"] for e in logs] == ["secrets.vault_reachable_again"]
    assert m.backend == "vault" and m.fallback_reason is None
