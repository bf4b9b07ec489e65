"""Serve replica autoscaling of the API: 1 → 2 replicas under load and back to 1, with
one key's rate limit exact across the replicas while they change.

The deployment (its own application name, on the test session's Ray cluster and a free
loopback port) autoscales on tiny replicas (0.1 CPU) with short delays: a target of 2
ongoing requests per replica, metrics pushed every 0.5 s, averaged over 2 s, 1 s before
a scale-down. Load is 24 client threads on a key of their own; the probe key (limit
``LIMIT`` per 600 s window, Redis-backed) takes half its limit before the scale-up, the
rest and more while two replicas serve (once requests reach both), and more while the
second replica goes away and after: exactly ``LIMIT`` answers 200, every other one 429."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from sigmax.config import Settings
from tests.serve.conftest import KeyMaker, unique_config

pytestmark = pytest.mark.slow

APP = "sigmax-autoscale-test"
DEPLOYMENT = "SigmaxAPI"
LIMIT = 30
LOAD_THREADS = 24
AUTOSCALING = {
    "min_replicas": 1,
    "initial_replicas": 1,
    "max_replicas": 2,
    "target_ongoing_requests": 2,
    "metrics_interval_s": 0.5,
    "look_back_period_s": 2.0,
    "upscale_delay_s": 1.0,
    "downscale_delay_s": 1.0,
}
# a replica going away (scale-down, teardown) checks every 0.5 s, not 2 s, for its
# requests in flight to end
SHUTDOWN = {"graceful_shutdown_wait_loop_s": 0.5, "graceful_shutdown_timeout_s": 10.0}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _replica_states() -> dict[str, int]:
    from ray import serve

    app = serve.status().applications.get(APP)
    if app is None or DEPLOYMENT not in app.deployments:
        return {}
    return {
        str(getattr(s, "value", s)): n
        for s, n in app.deployments[DEPLOYMENT].replica_states.items()
    }


def _until(what: str, check: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until ``check()`` held; fails naming what was awaited and the replicas."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s}s; replicas {_replica_states()}")
        time.sleep(0.25)
    return time.monotonic() - started


def _routes_to_both(url: str, make_key: KeyMaker) -> Callable[[], bool]:
    """A check that holds once requests have reached two replicas: each call sends a
    few requests under a fresh key (far under its limit, and apart from the probe's)."""
    seen: set[str] = set()

    def check() -> bool:
        headers = {"Authorization": f"Bearer {make_key(['read'], 'autoscale-route')}"}

        def call(_: int) -> httpx.Response:
            return httpx.get(f"{url}/api/v1/status", headers=headers, timeout=60)

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(call, range(4)))
        seen.update(r.json()["replica"] for r in answers if r.status_code == 200)
        return len(seen) == 2

    return check


@pytest.fixture(scope="module")
def served(ray_cluster: Any, api_settings: Settings) -> Iterator[str]:
    from ray import serve

    from serve_app.api import SigmaxAPI

    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    config = unique_config(rate_general=LIMIT, rate_window_s=600.0)
    deployment = SigmaxAPI.options(  # type: ignore[attr-defined]
        autoscaling_config=AUTOSCALING, ray_actor_options={"num_cpus": 0.1}, **SHUTDOWN
    )
    app = deployment.bind(api_settings.model_dump_json(), config.model_dump_json())
    url = f"http://127.0.0.1:{port}"
    try:
        serve.run(app, name=APP, route_prefix="/", blocking=False)

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/api/versions", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        _until("the API answering through Serve", answers, 120)
        yield url
    finally:
        serve.delete(APP)
        serve.shutdown()  # type: ignore[no-untyped-call]  # the next module starts Serve on a port of its own


class Load:
    """``LOAD_THREADS`` clients sending GET /api/v1/status back to back until stopped."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {key}"}
        self.stop = threading.Event()
        self.codes: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(LOAD_THREADS)]

    def _run(self) -> None:
        with httpx.Client(timeout=60) as client:
            while not self.stop.is_set():
                code = client.get(f"{self.url}/api/v1/status", headers=self.headers).status_code
                with self._lock:
                    self.codes[code] += 1

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


class Trickle:
    """One probe request every 0.2 s in a thread until the block ends."""

    def __init__(self, send: Callable[[], int]) -> None:
        self.send = send
        self.codes: Counter[int] = Counter()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self.codes[self.send()] += 1

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self._thread.join(timeout=60)


def test_replicas_scale_1_to_2_and_back_with_an_exact_rate_limit(
    served: str, make_key: KeyMaker
) -> None:
    headers = {"Authorization": f"Bearer {make_key(['read'], 'autoscale-probe')}"}
    load_key = make_key(["read"], "autoscale-load")
    _until("one running replica", lambda: _replica_states() == {"RUNNING": 1}, 60)

    def probe(count: int) -> list[tuple[int, str | None]]:
        def call(_: int) -> tuple[int, str | None]:
            r = httpx.get(f"{served}/api/v1/status", headers=headers, timeout=60)
            return r.status_code, r.json()["replica"] if r.status_code == 200 else None

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(call, range(count)))

    before = probe(LIMIT // 2)  # one replica: half the limit
    assert Counter(code for code, _ in before) == {200: LIMIT // 2}
    with Load(served, load_key) as load:
        up_s = _until(
            "2 running replicas under load", lambda: _replica_states() == {"RUNNING": 2}, 90
        )
        # RUNNING comes before the proxy routes to the new replica: wait for that too,
        # or the probe's allowed hits may all reach the first one
        route_s = _until("requests reaching both replicas", _routes_to_both(served, make_key), 30)
        during = probe(2 * LIMIT)  # two replicas: the other half, then 429s
        states_during = _replica_states()
    assert sum(load.codes.values()) > 0 and set(load.codes) <= {200, 429}, load.codes
    with Trickle(lambda: probe(1)[0][0]) as trickle:  # while the second replica goes away
        down_s = _until("back to 1 replica", lambda: _replica_states() == {"RUNNING": 1}, 90)
    after = probe(LIMIT // 2)  # one replica again: the hits of both are still counted

    assert states_during == {"RUNNING": 2}, states_during
    allowed = LIMIT - LIMIT // 2
    assert Counter(code for code, _ in during) == {200: allowed, 429: 2 * LIMIT - allowed}
    assert trickle.codes and set(trickle.codes) == {429}, trickle.codes
    assert Counter(code for code, _ in after) == {429: LIMIT // 2}
    replicas = {replica for _, replica in before + during if replica}
    assert len(replicas) == 2, replicas  # the allowed hits were counted on both replicas
    print(
        f"scale-up {up_s:.1f}s, routed to both {route_s:.1f}s later, "
        f"scale-down {down_s:.1f}s, load {dict(load.codes)}, "
        f"probe while scaling down {dict(trickle.codes)}"
    )
