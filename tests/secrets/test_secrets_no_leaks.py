"""No secret value reaches logs, reprs, exceptions or health reports.

One scenario reads, caches, writes, fails and falls back while every output channel is
captured: structlog (rendered through stdlib logging), stdlib logging at DEBUG (hvac,
urllib3), and stdout/stderr. Then every captured text is searched for the values.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest
import structlog
from pydantic import ValidationError

from sigmax.secrets import SecretsError, SecretsManager
from sigmax.secrets_config import SecretsConfig


@pytest.fixture
def structlog_to_stdlib() -> Iterator[None]:
    """Render structlog events as JSON into stdlib logging (so caplog sees them), then restore."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=False,
    )
    yield
    structlog.configure(**saved)


def test_no_secret_value_in_any_output(
    bao: Any,
    root: hvac.Client,
    approle: Any,
    clock: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    structlog_to_stdlib: None,
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    values = {
        "stored": f"{canary}-stored",
        "exchange_secret": f"{canary}-exsecret",
        "exchange_password": f"{canary}-expass",
        "env": f"{canary}-env",
        "bad_token": f"{canary}-badtoken",
        "secret_id": approle.new_secret_id(root),
        "wrong_secret_id": str(uuid.uuid4()),
        "root_token": bao.root_token,
    }
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)

    # Vault with token auth: write, read, cache hit, cache expiry, missing key, health
    base = f"leak-{uuid.uuid4().hex[:8]}"
    cfg = SecretsConfig(addr=bao.addr, token=bao.root_token, base_path=base, cache_ttl_s=5)
    m = SecretsManager(cfg, environ={}, clock=clock)
    m.put_secret("svc", {"password": values["stored"]})
    got = m.get_secret("svc", "password")
    assert got.get_secret_value() == values["stored"]
    m.get_secret("svc", "password")
    clock.advance(6)
    m.get_secret("svc", "password")
    texts += [repr(m), str(m), repr(got), str(got), repr(cfg), str(cfg), cfg.model_dump_json()]
    with pytest.raises(SecretsError) as missing:
        m.get_secret("svc", "user")
    texts += [str(missing.value), repr(missing.value)]
    m.put_secret(
        "exchanges/okx",
        {
            "api_key": "k",
            "secret": values["exchange_secret"],
            "password": values["exchange_password"],
        },
    )
    creds = m.get_exchange_credentials("okx")
    texts += [repr(creds), str(creds), m.health().model_dump_json(), repr(m.health())]
    m.renew_token_if_needed(min_ttl_s=60)

    # AppRole: good login, then a refused one
    ar = SecretsManager(
        SecretsConfig(
            addr=bao.addr,
            role_id=approle.role_id,
            secret_id=values["secret_id"],
            base_path=approle.area,
        ),
        environ={},
    )
    ar.put_secret("svc", {"password": values["stored"]})
    ar.get_secret("svc", "password")
    texts += [repr(ar), ar.health().model_dump_json()]
    bad_ar = SecretsManager(
        SecretsConfig(addr=bao.addr, role_id=approle.role_id, secret_id=values["wrong_secret_id"]),
        environ={},
    )
    with pytest.raises(SecretsError) as refused:
        bad_ar.get_secret("svc", "password")
    texts += [str(refused.value), repr(refused.value), bad_ar.health().model_dump_json()]

    # refused token
    bad = SecretsManager(SecretsConfig(addr=bao.addr, token=values["bad_token"]), environ={})
    with pytest.raises(SecretsError) as bad_token:
        bad.get_secret("svc", "password")
    texts += [str(bad_token.value), repr(bad), bad.health().model_dump_json()]

    # unreachable server: env fallback, a hit and a miss
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        down_cfg = SecretsConfig(
            addr=f"http://127.0.0.1:{held.getsockname()[1]}", token=values["bad_token"]
        )
        down = SecretsManager(down_cfg, environ={"SIGMAX_SVC_PASSWORD": values["env"]})
        assert down.get_secret("svc", "password").get_secret_value() == values["env"]
        with pytest.raises(SecretsError) as env_missing:
            down.get_secret("svc", "user")
        texts += [str(env_missing.value), repr(down), down.health().model_dump_json()]
        with pytest.raises(SecretsError) as no_write:
            down.put_secret("svc", {"password": values["env"]})
        texts.append(str(no_write.value))

    # a config error while a token is set
    with pytest.raises(ValidationError) as invalid:
        SecretsConfig(addr="nope", token=values["bad_token"], secret_id=values["secret_id"])
    texts.append(str(invalid.value))

    captured = capsys.readouterr()
    log_text = caplog.text
    # the capture worked: our events and hvac's HTTP debug lines are in it
    assert "secrets.fallback_to_env" in log_text and "secrets.approle_login" in log_text
    assert "/v1/secret/data/" in log_text
    everything = "\n".join([log_text, captured.out, captured.err, *texts])
    for name, value in values.items():
        assert value not in everything, f"{name} leaked"
    assert canary not in everything


@pytest.mark.slow
def test_deploying_the_api_writes_no_secret_to_rays_logs(
    ray_cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sigmax up`'s API deployment with every kind of secret set: no Ray log of the
    session (runtime_env_agent.log, Serve's, the workers') holds any of them."""
    from ray import serve

    from sigmax.cli.paper_command import _deploy_api
    from sigmax.config import get_settings

    canary = f"canary-{uuid.uuid4().hex}"
    planted = {
        "SIGMAX_VAULT_TOKEN": f"{canary}-vault-token",
        "SIGMAX_VAULT_ROLE_ID": f"{canary}-role-id",
        "SIGMAX_VAULT_SECRET_ID": f"{canary}-secret-id",
        "SIGMAX_VAULT_LOCAL_KEY": f"{canary}-local-key",
        "SIGMAX_POSTGRES_DSN": f"postgresql://postgres:{canary}-pw@127.0.0.1:5432/test",
    }
    for name, value in planted.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    port = _free_port()
    try:
        _deploy_api(f"leak-{uuid.uuid4().hex[:8]}", port)
        _wait_until_live(f"http://127.0.0.1:{port}/health/live")
    finally:
        serve.shutdown()
        get_settings.cache_clear()
    logs = Path(ray_cluster._private.worker._global_node.get_logs_dir_path())
    leaked = [
        str(path.relative_to(logs))
        for path in sorted(logs.rglob("*"))
        if path.is_file() and canary.encode() in path.read_bytes()
    ]
    assert not leaked, f"a planted secret is in {leaked}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_live(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")
