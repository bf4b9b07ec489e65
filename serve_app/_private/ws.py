"""The live-events WebSocket: ``/ws`` (mounted under ``/api/v1``). Protocol: docs/EVENTS.md.

1. The client authenticates with ``Authorization: Bearer KEY`` or ``?token=KEY``;
   a missing or bad key closes the socket with code 4401 before it is accepted, and a
   key revoked while the socket is open closes it (4401) at the next key check.
2. The server sends ``{"type": "welcome", "topics": [...], "subscribed": [...]}``.
3. The client sends ``{"action": "subscribe" | "unsubscribe", "topics": [...]}``
   (answered ``{"type": "subscribed", "topics": [...]}``) and ``{"action": "ping"}``
   (answered ``{"type": "pong"}``); the server sends ``{"type": "ping"}`` when idle.
4. Events: ``{"type": "event", "id", "topic", "ts", "session_id", "data"}``.
5. A bad message is answered ``{"type": "error", "message": ...}``; the socket stays.

Events come from the bus subscriber: Redis pub/sub when configured (every replica
sees every event), else this process's in-process bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from sigmax.config import Settings
from sigmax.events import TOPICS, EventSubscriber, SubscriberOverflow, Subscription

_log = structlog.get_logger(__name__)

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_SLOW = 4408
CLOSE_INTERNAL = 1011
MAX_MESSAGE_CHARS = 4_096

Authenticate = Callable[[str], Awaitable[Any]]


class _BadMessage(ValueError):
    pass


def _token(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return websocket.query_params.get("token") or None


def _parse_topics(raw: str | None) -> list[str]:
    return [t.strip() for t in raw.split(",") if t.strip()] if raw else []


async def _authorize(websocket: WebSocket, authenticate: Authenticate) -> Any | None:
    """The principal, or None after closing the socket with the reason (not accepted)."""
    token = _token(websocket)
    if token is None:
        await websocket.close(CLOSE_UNAUTHORIZED, "missing API key")
        return None
    principal, refusal = await _verdict(authenticate, token)
    if refusal is not None:
        await websocket.close(*refusal)
        return None
    return principal


async def _verdict(authenticate: Authenticate, token: str) -> tuple[Any, tuple[int, str] | None]:
    """(principal, None) for a key that may read events, else (None, (close code, reason))."""
    try:
        principal = await authenticate(token)
    except PermissionError:
        principal = None
    except Exception as exc:
        status = getattr(exc, "status_code", None)
        if status == 403:
            return None, (CLOSE_FORBIDDEN, "API key not allowed")
        if status != 401:
            _log.exception("websocket authentication failed")
            return None, (CLOSE_INTERNAL, "authentication unavailable")
        principal = None
    if principal is None or principal is False:
        return None, (CLOSE_UNAUTHORIZED, "invalid API key")
    allows = getattr(principal, "allows", None)
    if callable(allows) and not allows("read"):
        return None, (CLOSE_FORBIDDEN, "API key lacks the 'read' scope")
    return principal, None


def _message(raw: str) -> tuple[str, list[str]]:
    """(action, topics) of a client message; _BadMessage with a clear reason otherwise."""
    if len(raw) > MAX_MESSAGE_CHARS:
        raise _BadMessage(f"message longer than {MAX_MESSAGE_CHARS} characters")
    try:
        message = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _BadMessage(f"not JSON: {exc.msg}") from None
    if not isinstance(message, dict):
        raise _BadMessage('expected a JSON object like {"action": "subscribe", "topics": [...]}')
    action = message.get("action")
    if action in ("ping", "pong"):
        return str(action), []
    if action not in ("subscribe", "unsubscribe"):
        raise _BadMessage(f"unknown action {action!r}; use subscribe, unsubscribe, ping or pong")
    return str(action), _topics(action, message.get("topics"))


def _topics(action: str, topics: Any) -> list[str]:
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise _BadMessage(f"{action}: 'topics' must be a list of topic names")
    unknown = sorted(set(topics) - set(TOPICS))
    if unknown:
        raise _BadMessage(f"{action}: unknown topic(s) {unknown}; valid topics: {list(TOPICS)}")
    return topics


class _Connection:
    """One accepted client: a reader (client messages) and a writer (events, pings)."""

    def __init__(self, websocket: WebSocket, sub: Subscription, ping_interval_s: float) -> None:
        self.ws = websocket
        self.sub = sub
        self.ping_interval_s = ping_interval_s
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def read(self) -> None:
        while True:
            raw = await self.ws.receive_text()
            try:
                action, topics = _message(raw)
            except _BadMessage as exc:
                await self.send({"type": "error", "message": str(exc)})
                continue
            if action == "ping":
                await self.send({"type": "pong"})
            elif action == "subscribe":
                current = self.sub.add(topics)
                await self.send({"type": "subscribed", "topics": sorted(current)})
            elif action == "unsubscribe":
                current = self.sub.remove(topics)
                await self.send({"type": "subscribed", "topics": sorted(current)})

    async def watch_key(self, authenticate: Authenticate, token: str, every_s: float) -> None:
        """Check the key again every ``every_s``; once it is revoked, expired or lost
        its scope, close the socket (4401/4403) and return. A failing key store keeps
        the socket open (the next check decides)."""
        while True:
            await asyncio.sleep(every_s)
            _, refusal = await _verdict(authenticate, token)
            if refusal is not None and refusal[0] != CLOSE_INTERNAL:
                await _close(self.ws, refusal[0], f"{refusal[1]}: revoked or expired")
                return

    async def write(self) -> None:
        while True:
            try:
                event = await self.sub.get(timeout=self.ping_interval_s)
            except TimeoutError:
                await self.send({"type": "ping"})
                continue
            except StopAsyncIteration:
                return
            await self.send(event.wire())


def websocket_router(
    authenticate: Authenticate,
    subscriber: EventSubscriber | Callable[[], EventSubscriber] | None = None,
    ping_interval_s: float | None = None,
    recheck_key_s: float | None = None,
) -> APIRouter:
    """A router with the ``/ws`` live-events route.

    ``authenticate(key)`` returns the caller (anything not None) for a good key and
    returns None or raises (``PermissionError``, or an error with ``status_code``
    401/403) for a bad one; other errors close the socket with 1011.
    ``subscriber`` is the bus (or a factory called on first use); default: this
    process's bus from the environment (:func:`serve_app._private.events.event_bus`).
    ``recheck_key_s``: an open socket's key is checked again this often, and the socket
    closed once it is no longer valid (None: checked at connect only).
    """
    router = APIRouter()
    interval = ping_interval_s or Settings().events.ws_ping_interval_s
    resolved: list[EventSubscriber] = []

    def bus() -> EventSubscriber:
        if not resolved:
            if subscriber is None:
                from serve_app._private.events import event_bus

                resolved.append(event_bus())
            elif isinstance(subscriber, EventSubscriber):
                resolved.append(subscriber)
            else:
                resolved.append(subscriber())
        return resolved[0]

    @router.websocket("/ws")
    async def events_socket(websocket: WebSocket) -> None:
        if await _authorize(websocket, authenticate) is None:
            return
        try:
            initial = _topics("topics", _parse_topics(websocket.query_params.get("topics")))
        except _BadMessage as exc:
            await websocket.close(1008, str(exc)[:120])
            return
        await websocket.accept()
        sub = await bus().subscribe(initial)
        conn = _Connection(websocket, sub, interval)
        tasks: list[asyncio.Task[None]] = []
        try:
            await conn.send(
                {"type": "welcome", "topics": list(TOPICS), "subscribed": sorted(sub.topics)}
            )
            tasks = [asyncio.create_task(conn.read()), asyncio.create_task(conn.write())]
            token = _token(websocket)
            if recheck_key_s is not None and token is not None:
                tasks.append(
                    asyncio.create_task(conn.watch_key(authenticate, token, recheck_key_s))
                )
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise what ended the connection
        except WebSocketDisconnect:
            pass
        except SubscriberOverflow as exc:
            await _close(websocket, CLOSE_TOO_SLOW, str(exc))
        except Exception:
            _log.exception("websocket connection failed")
            await _close(websocket, CLOSE_INTERNAL, "internal error")
        finally:
            sub.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    return router


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason[:120])
