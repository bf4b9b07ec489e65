"""Load test of the SIGMAX API: a realistic mix of readers, traders and event subscribers.

    locust -f tests/load/locustfile.py --host http://127.0.0.1:8000 \\
        --users 100 --spawn-rate 10 --run-time 5m --headless

Keys: the run creates its own (one per user, so per-key rate limits apply per user)
and revokes them at the end. With ``SIGMAX_LOAD_ADMIN_KEY`` (an admin key) they are
created through ``POST /api/v1/keys`` against any server; without it, straight in the
PostgreSQL the environment names (``SIGMAX_POSTGRES_*``, as ``sigmax keys create``
does), which must be the API's.

Users (weights): ``Reader`` 6 (status, positions, portfolio, decisions; 0.5-2 s
between requests, under the general limit), ``Trader`` 1 (a tiny market order every
``SIGMAX_LOAD_ORDER_EVERY_S`` seconds; default window / trading limit, that is at the
limit), ``Subscriber`` 1 (the event WebSocket, reconnecting every 30 s).

A response counts as a failure when it is a 5xx, a status the endpoint does not
answer, or a 429 without ``Retry-After`` and ``X-RateLimit-Remaining: 0``. With
``SIGMAX_LOAD_REPORT=path`` the run writes, at its end, every status seen per
endpoint class and, per key, the requests sent, accepted and refused (429), for a
check that the limits held exactly (tests/serve/test_load_locust.py).

Settings: ``SIGMAX_LOAD_SYMBOL`` (BTC/USD), ``SIGMAX_LOAD_QTY`` (0.0001),
``SIGMAX_LOAD_RATE_TRADING`` / ``SIGMAX_LOAD_RATE_WINDOW_S`` (the API's limits,
defaults 5 per 60 s as ``APIConfig``), ``SIGMAX_LOAD_KEY_PREFIX`` (key names).

Locust patches the standard library through gevent when imported: run it as its own
process (never import this file into a test process).
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlsplit

import requests
import websocket  # websocket-client: blocking, cooperative under gevent
from locust import HttpUser, User, between, constant_pacing, events, task
from locust.env import Environment

SYMBOL = os.environ.get("SIGMAX_LOAD_SYMBOL", "BTC/USD")
QTY = os.environ.get("SIGMAX_LOAD_QTY", "0.0001")
RATE_TRADING = int(os.environ.get("SIGMAX_LOAD_RATE_TRADING", "5"))
WINDOW_S = float(os.environ.get("SIGMAX_LOAD_RATE_WINDOW_S", "60"))
ORDER_EVERY_S = float(os.environ.get("SIGMAX_LOAD_ORDER_EVERY_S", str(WINDOW_S / RATE_TRADING)))
KEY_PREFIX = os.environ.get("SIGMAX_LOAD_KEY_PREFIX", f"load-{uuid.uuid4().hex[:6]}")
API = "/api/v1"

# what each endpoint may answer besides 429 (503 only when no session runs is not
# allowed: the load test wants a session)
EXPECTED: dict[str, set[int]] = {
    "status": {200},
    "positions": {200},
    "portfolio": {200},
    "decisions": {200},
    "order": {200, 201},  # 200: risk refused it (a verdict, not an error)
}


class _Ledger:
    """Statuses per endpoint class and per-key counts, shared by the run's users."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter[str]] = defaultdict(Counter)
        self.keys: dict[str, dict[str, Any]] = {}
        self.websocket: Counter[str] = Counter()

    def record(self, endpoint: str, key_id: int, key_class: str, status: int) -> None:
        with self.lock:
            self.statuses[endpoint][str(status)] += 1
            counts = self.keys.setdefault(
                str(key_id),
                {"class": key_class, "sent": 0, "accepted": 0, "refused": 0, "first": time.time()},
            )
            counts["sent"] += 1
            counts["accepted" if status != 429 else "refused"] += 1
            counts["last"] = time.time()

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "statuses": {k: dict(v) for k, v in self.statuses.items()},
                "keys": self.keys,
                "websocket": dict(self.websocket),
                "rate_trading": RATE_TRADING,
                "window_s": WINDOW_S,
            }


LEDGER = _Ledger()


class _Keys:
    """Keys made for this run, handed out one per user; revoked at the end."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.made: list[tuple[int, str]] = []
        self.serial = itertools.count(1)
        self.host = ""

    def make(self, scopes: list[str]) -> tuple[int, str]:
        name = f"{KEY_PREFIX}-{next(self.serial)}"
        admin = os.environ.get("SIGMAX_LOAD_ADMIN_KEY")
        if admin:
            reply = _as_admin(admin, f"{self.host}{API}/keys", {"name": name, "scopes": scopes})
            if reply.status_code != 201:
                raise RuntimeError(
                    f"creating a load key answered {reply.status_code}: {reply.text}"
                )
            body = reply.json()
            made = (int(body["id"]), str(body["key"]))
        else:
            made = _key_in_postgres(name, scopes)
        with self.lock:
            self.made.append(made)
        return made

    def revoke_all(self) -> None:
        admin = os.environ.get("SIGMAX_LOAD_ADMIN_KEY")
        ids = [key_id for key_id, _ in self.made]
        if admin:
            for key_id in ids:
                _as_admin(admin, f"{self.host}{API}/keys/{key_id}/revoke")
        elif ids:
            _revoke_in_postgres(ids)


KEYS = _Keys()
ADMIN_RETRIES = 5  # 429s waited out per admin call


def _as_admin(admin: str, url: str, body: dict[str, Any] | None = None) -> requests.Response:
    """POST with the admin key. Its requests count in the general class like any key's
    (100 per minute by default), and 100 users make 100 keys: a 429 is waited out for
    its Retry-After (cooperatively, under gevent) and the call made again."""
    headers = {"Authorization": f"Bearer {admin}"}
    for _ in range(ADMIN_RETRIES):
        reply = requests.post(url, json=body, headers=headers, timeout=30)
        if reply.status_code != 429:
            return reply
        time.sleep(float(reply.headers.get("Retry-After", "1")))
    return reply


def _run_async(coro: Any) -> Any:
    """Run a coroutine in a plain thread with its own loop (gevent patched this one)."""
    import asyncio

    out: dict[str, Any] = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller
            out["error"] = exc

    from gevent import threadpool

    threadpool.ThreadPool(1).spawn(target).get()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _key_in_postgres(name: str, scopes: list[str]) -> tuple[int, str]:
    from sigmax.config import Settings
    from sigmax.storage.postgres import PostgresPool
    from sigmax.storage.repos.keys import ApiKeyRepository

    async def run() -> tuple[int, str]:
        cfg = Settings().postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(cfg) as pool:
            key, plaintext = await ApiKeyRepository(pool).create(name, scopes)
        return key.id, plaintext

    made: tuple[int, str] = _run_async(run())
    return made


def _revoke_in_postgres(ids: list[int]) -> None:
    from sigmax.config import Settings
    from sigmax.storage.postgres import PostgresPool
    from sigmax.storage.repos.keys import ApiKeyRepository

    async def run() -> None:
        cfg = Settings().postgres.model_copy(update={"pool_size": 1, "max_overflow": 0})
        async with PostgresPool(cfg) as pool:
            repo = ApiKeyRepository(pool)
            for key_id in ids:
                await repo.revoke(key_id)

    _run_async(run())


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    KEYS.host = (environment.host or "").rstrip("/")


@events.test_stop.add_listener
def _on_stop(environment: Environment, **_: Any) -> None:
    path = os.environ.get("SIGMAX_LOAD_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(LEDGER.report(), out, indent=2)
    KEYS.revoke_all()


class _KeyedUser(HttpUser):
    abstract = True
    scopes: list[str] = ["read"]
    key_class = "general"

    def on_start(self) -> None:
        self.key_id, key = KEYS.make(self.scopes)
        self.client.headers["Authorization"] = f"Bearer {key}"

    def _call(self, method: str, path: str, endpoint: str, **kw: Any) -> None:
        with self.client.request(
            method, f"{API}{path}", name=endpoint, catch_response=True, **kw
        ) as reply:
            status = reply.status_code
            LEDGER.record(endpoint, self.key_id, self.key_class, status)
            if status == 429:
                headers = reply.headers
                if "Retry-After" not in headers or headers.get("X-RateLimit-Remaining") != "0":
                    reply.failure(f"429 without Retry-After/X-RateLimit-Remaining 0: {headers}")
                else:
                    reply.success()
            elif status in EXPECTED[endpoint]:
                reply.success()
            else:
                reply.failure(f"{endpoint}: unexpected {status}: {reply.text[:300]}")


class Reader(_KeyedUser):
    """A dashboard or bot reading the session."""

    weight = 6
    wait_time = between(0.5, 2.0)

    @task(4)
    def status(self) -> None:
        self._call("GET", "/status", "status")

    @task(2)
    def positions(self) -> None:
        self._call("GET", "/positions", "positions")

    @task(1)
    def portfolio(self) -> None:
        self._call("GET", "/portfolio", "portfolio")

    @task(2)
    def decisions(self) -> None:
        self._call("GET", "/decisions?limit=20", "decisions")


class Trader(_KeyedUser):
    """An operator's orders, paced at the trading limit (or faster, to see 429s)."""

    weight = 1
    wait_time = constant_pacing(ORDER_EVERY_S)
    scopes = ["read", "trade"]
    key_class = "trading"

    def on_start(self) -> None:
        super().on_start()
        self.sides = itertools.cycle(("buy", "sell"))

    @task
    def order(self) -> None:
        body = {
            "client_order_id": f"load-{uuid.uuid4().hex[:20]}",
            "symbol": SYMBOL,
            "side": next(self.sides),
            "qty": QTY,
        }
        self._call("POST", "/orders", "order", json=body)


class Subscriber(User):
    """A WebSocket client following every topic; reconnects every 30 s."""

    weight = 1
    wait_time = between(0.1, 0.5)
    hold_s = 30.0

    def on_start(self) -> None:
        _, self.key = KEYS.make(["read"])
        parts = urlsplit(self.host or "")
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.url = f"{scheme}://{parts.netloc}{API}/ws"

    @task
    def follow(self) -> None:
        started = time.perf_counter()
        name, error, length = "ws connect", None, 0
        try:
            ws = websocket.create_connection(
                self.url, header=[f"Authorization: Bearer {self.key}"], timeout=10
            )
        except Exception as exc:  # refused handshake, server away
            self._fire(name, started, 0, exc)
            return
        try:
            welcome = json.loads(ws.recv())
            if welcome.get("type") != "welcome":
                raise RuntimeError(f"first message was not the welcome: {welcome}")
            with LEDGER.lock:
                LEDGER.websocket["welcome"] += 1
            ws.send(json.dumps({"action": "subscribe", "topics": ["decisions", "fills"]}))
            self._fire(name, started, len(json.dumps(welcome)), None)
            ws.settimeout(1.0)
            until = time.monotonic() + self.hold_s
            while time.monotonic() < until:
                try:
                    message = ws.recv()
                except websocket.WebSocketTimeoutException:
                    continue
                kind = json.loads(message).get("type", "?")
                with LEDGER.lock:
                    LEDGER.websocket[kind] += 1
                length += len(message)
        except websocket.WebSocketConnectionClosedException as exc:
            error = exc
        except Exception as exc:
            error = exc
        finally:
            ws.close()
        if error is not None:
            self._fire("ws session", started, length, error)

    def _fire(self, name: str, started: float, length: int, error: Exception | None) -> None:
        events.request.fire(
            request_type="WS",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=length,
            exception=error,
            context={},
        )
