"""The API through the default Serve setup: HAProxy mode with ``sigmax-haproxy``
(``sigmax/serve_proxy.py``), two replicas, real PostgreSQL and Redis.

Serve reads its HAProxy flags when Ray starts, and the session's Ray cluster runs
Serve's default proxy, so this module starts its own small Ray in a child process
(this file run as a script) with ``serve_env()`` set, exactly as ``sigmax up`` does.
Clients bind distinct loopback addresses (127.0.0.2, ...) to be distinct callers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from sigmax.config import Settings
from sigmax.serve_proxy import MARK, add_forwardfor, serve_env
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow
LIMIT = 5  # per key and per address, per window
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(api_settings: Settings) -> Iterator[str]:
    port = _free_port()
    config = unique_config(rate_general=LIMIT)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_SERVE_", "RAY_ADDRESS"))}
    env.update(serve_env())
    env["RAY_AUTH_MODE"] = "disabled"
    # teardown only: replicas and proxies drain 30 s by default before they stop
    env["RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S"] = "1"
    env["RAY_SERVE_PROXY_MIN_DRAINING_PERIOD_S"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    child = subprocess.Popen(  # noqa: S603 - this file, fixed arguments
        [
            sys.executable,
            __file__,
            str(port),
            api_settings.model_dump_json(),
            config.model_dump_json(),
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the child says READY once both replicas answer
        assert line.startswith("READY"), f"Serve did not come up: {line!r}"
        yield f"http://127.0.0.1:{port}"
    finally:
        assert child.stdin is not None
        child.stdin.close()  # the child shuts Serve and its Ray down
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()


def _from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=60)


def _haproxy_config(port: int) -> str:
    """The config file of the HAProxy process serving ``port`` (from its command line)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-f" in argv and argv[0].endswith(b"haproxy"):
            try:
                text = Path(argv[argv.index(b"-f") + 1].decode()).read_text()
            except OSError:
                continue
            if f"bind 127.0.0.1:{port}" in text:
                return text
    raise AssertionError(f"no HAProxy process serves port {port}")


def test_serve_runs_haproxy_with_forwardfor(served: str) -> None:
    # On each reload Serve rewrites the file, then starts the new HAProxy through
    # sigmax-haproxy, which adds the option a moment later: a read in between sees Ray's
    # text alone (seen once in CI). The file of the HAProxy that serves now has it.
    port = int(served.rsplit(":", 1)[1])
    deadline = time.monotonic() + 15
    while True:
        config = _haproxy_config(port)
        frontend = config.split("frontend http_frontend", 1)[1].split("\nbackend ", 1)[0]
        if MARK in frontend or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert MARK in frontend and "option forwardfor" in frontend


def test_two_client_addresses_have_their_own_address_limit(served: str) -> None:
    with _from("127.0.0.2") as first, _from("127.0.0.3") as second:
        a = [first.get(f"{served}/api/v1/health").status_code for _ in range(LIMIT + 2)]
        b = [second.get(f"{served}/api/v1/health").status_code for _ in range(LIMIT + 2)]
    assert a == [200] * LIMIT + [429] * 2
    assert b == [200] * LIMIT + [429] * 2  # not HAProxy's one shared address


def test_a_forged_forwarded_for_is_not_believed(served: str) -> None:
    with _from("127.0.0.4") as http:
        statuses = [
            http.get(
                f"{served}/api/v1/health", headers={"X-Forwarded-For": f"203.0.113.{i}"}
            ).status_code
            for i in range(LIMIT + 3)
        ]
    assert statuses == [200] * LIMIT + [429] * 3


def test_key_limit_is_exact_across_both_replicas(served: str, make_key: KeyMaker) -> None:
    headers = {"Authorization": f"Bearer {make_key(['read'], 'haproxy-limit')}"}

    def call(i: int) -> int:
        with _from(f"127.0.1.{i % 200 + 1}") as http:  # no address reaches its own limit
            return http.get(f"{served}/api/v1/status", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = Counter(pool.map(call, range(6 * LIMIT)))
    assert codes == {200: LIMIT, 429: 5 * LIMIT}, codes


def test_versioning_headers_and_request_ids(served: str, make_key: KeyMaker) -> None:
    with _from("127.0.2.1") as http:
        redirect = http.get(f"{served}/status", follow_redirects=False)
        assert redirect.status_code == 308
        assert redirect.headers["Deprecation"].startswith("@")
        assert 'rel="successor-version"' in redirect.headers["Link"]
        bad = http.get(f"{served}/api/v1/health", headers={"X-API-Version": "v7"})
        assert bad.status_code == 400 and "supported: v1" in bad.json()["detail"]
        mine = http.get(f"{served}/api/v1/health", headers={"X-Request-ID": "haproxy-test-1"})
        # the caller's id comes back, once (Ray's request-id middleware returns it)
        assert mine.headers.get_list("x-request-id") == ["haproxy-test-1"]
        fresh = http.get(f"{served}/api/v1/status")
        assert fresh.status_code == 401
        made = fresh.headers.get_list("x-request-id")  # one id, the one the error body names
        assert made == [fresh.json()["request_id"]]


def test_headers_over_the_cap_reach_the_api_and_get_its_431(served: str) -> None:
    with _from("127.0.2.2") as http:
        padded = http.get(f"{served}/health/live", headers={"X-Padding": "a" * 64 * 1024})
    assert padded.status_code == 431, padded.text


def test_websocket_through_haproxy(served: str, make_key: KeyMaker) -> None:
    from websockets.sync.client import connect

    key = make_key(["read"], "haproxy-ws")
    url = served.replace("http://", "ws://") + f"/api/v1/ws?token={key}"
    with connect(url, open_timeout=60) as ws:
        assert json.loads(ws.recv(timeout=60))["type"] == "welcome"


def test_forwardfor_insertion_is_idempotent_and_refuses_an_unknown_template() -> None:
    ray_like = (
        "defaults\n    mode http\nfrontend http_frontend\n    bind *:8000\n    acl a path /\n"
    )
    once = add_forwardfor(ray_like)
    assert once.index("option forwardfor") > once.index("bind *:8000")
    assert add_forwardfor(once) == once
    with pytest.raises(ValueError, match="http_frontend"):
        add_forwardfor("frontend other\n    bind *:8000\n")


def test_serve_env_names_the_wrapper_and_opts_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGMAX_SERVE_PROXY", raising=False)
    env = serve_env()
    assert env["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    assert os.access(env["RAY_SERVE_HAPROXY_BINARY_PATH"], os.X_OK)
    monkeypatch.setenv("SIGMAX_SERVE_PROXY", "default")
    assert serve_env() == {}


def _serve_child(port: int, settings_json: str, config_json: str) -> None:
    """Ray with the inherited (default Serve setup) flags, the API on ``port``."""
    import ray
    from ray import serve

    from serve_app.api import SigmaxAPI

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace=uuid.uuid4().hex)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        deployment = SigmaxAPI.options(  # type: ignore[attr-defined]
            num_replicas=2, autoscaling_config=None, ray_actor_options={"num_cpus": 0.1}
        )
        serve.run(deployment.bind(settings_json, config_json), name="haproxy", route_prefix="/")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/versions", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        print("READY", flush=True)
        sys.stdin.read()  # until the test closes our stdin
    finally:
        serve.shutdown()  # type: ignore[no-untyped-call]  # explicitly: HAProxy outlives the driver
        ray.shutdown()


if __name__ == "__main__":
    _serve_child(int(sys.argv[1]), sys.argv[2], sys.argv[3])
