"""AppRole login against a real OpenBao dev server: login, re-login on expiry or revocation."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import hvac
import pytest
import structlog

from sigmax.secrets import SecretsAuthError, SecretsManager
from sigmax.secrets_config import SecretsConfig


def approle_manager(bao: Any, role: Any, secret_id: str, clock: Any = None) -> SecretsManager:
    config = SecretsConfig(
        addr=bao.addr, role_id=role.role_id, secret_id=secret_id, base_path=role.area
    )
    if clock is None:
        return SecretsManager(config, environ={})
    return SecretsManager(config, environ={}, clock=clock)


def logins(logs: list[MutableMapping[str, Any]]) -> int:
    return sum(1 for e in logs if e["event"] == "secrets.approle_login")


def revoke_role_tokens(root: hvac.Client, role_name: str) -> int:
    """Revoke every token the dev server issued through the given AppRole role."""
    revoked = 0
    for accessor in root.auth.token.list_accessors()["data"]["keys"]:
        meta = root.auth.token.lookup_accessor(accessor)["data"].get("meta") or {}
        if meta.get("role_name") == role_name:
            root.auth.token.revoke_accessor(accessor)
            revoked += 1
    return revoked


def test_approle_login_read_and_write(bao: Any, root: hvac.Client, approle: Any) -> None:
    m = approle_manager(bao, approle, approle.new_secret_id(root))
    with structlog.testing.capture_logs() as logs:
        m.put_secret("svc", {"token": "t-1"})
        assert m.get_secret("svc", "token").get_secret_value() == "t-1"
    assert logins(logs) == 1
    h = m.health()
    assert (h.backend, h.auth_method, h.authenticated) == ("vault", "approle", True)
    assert h.token_ttl_s is not None and 0 < h.token_ttl_s <= 3600 and h.token_renewable


def test_approle_policy_limits_paths(bao: Any, root: hvac.Client, approle: Any) -> None:
    config = SecretsConfig(
        addr=bao.addr, role_id=approle.role_id, secret_id=approle.new_secret_id(root)
    )
    m = SecretsManager(config, environ={})  # base_path 'sigmax' is outside the role's policy
    with pytest.raises(SecretsAuthError, match="policies do not allow it"):
        m.get_secret("svc", "token")


def test_relogin_after_token_revoked(bao: Any, root: hvac.Client, approle: Any) -> None:
    m = approle_manager(bao, approle, approle.new_secret_id(root))
    m.put_secret("svc", {"token": "t-1"})
    assert revoke_role_tokens(root, approle.name) == 1
    m.invalidate()
    with structlog.testing.capture_logs() as logs:
        assert m.get_secret("svc", "token").get_secret_value() == "t-1"
    assert logins(logs) == 1


def test_relogin_when_token_lease_runs_out(
    bao: Any, root: hvac.Client, approle: Any, clock: Any
) -> None:
    m = approle_manager(bao, approle, approle.new_secret_id(root), clock)
    with structlog.testing.capture_logs() as logs:
        m.put_secret("svc", {"token": "t-1"})
        clock.advance(3599)
        m.invalidate()
        m.get_secret("svc", "token")
        assert logins(logs) == 1
        clock.advance(1)  # the 1 h lease is over
        m.invalidate()
        assert m.get_secret("svc", "token").get_secret_value() == "t-1"
    assert logins(logs) == 2


def test_renew_approle_token(bao: Any, root: hvac.Client, approle: Any) -> None:
    m = approle_manager(bao, approle, approle.new_secret_id(root))
    assert m.renew_token_if_needed(min_ttl_s=60) is False
    with structlog.testing.capture_logs() as logs:
        assert m.renew_token_if_needed(min_ttl_s=7200) is True
    assert [e["event"] for e in logs] == ["secrets.token_renewed"]


def test_wrong_secret_id_is_refused(bao: Any, root: hvac.Client, approle: Any) -> None:
    m = approle_manager(bao, approle, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(SecretsAuthError, match="refused the AppRole login at auth/approle"):
        m.get_secret("svc", "token")
    h = m.health()
    assert h.backend == "vault" and h.reachable and not h.authenticated
    assert h.error is not None and "SIGMAX_VAULT_SECRET_ID" in h.error
