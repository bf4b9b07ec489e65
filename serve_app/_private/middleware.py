"""One pure-ASGI middleware for what every HTTP request needs.

* ``X-Request-ID``: taken from the request when well-formed, else generated; bound to
  the structlog context (every log line of the request carries it) and returned.
* Version header: ``Accept-Version`` / ``X-API-Version`` naming an unsupported version,
  or contradicting the version in the path, answers 400 with the supported list.
* Body size: a declared or streamed body over ``max_body_bytes`` answers 413.
* Header size: headers over ``max_header_bytes`` in all answer 431 (a WebSocket
  handshake is refused), before anything else reads them.
* WebSocket connects count against the caller's address in the ``general`` class
  before the key is looked up; over the limit the handshake is refused (4429).
* Rate limit headers on every response: from the route's own limit decision, or,
  for responses no route limited (404, 405, 308, 403...), from a hit on the caller's
  address in the ``general`` class (never refused after the fact); probes and the
  dashboard's static files are not counted.
* An exception no handler answered (a bug): 500 without internals, logged once
  (``serve_app._private.errors``).
* A write request (not GET/HEAD/OPTIONS) drops the session's kept read answers in
  every replica (``serve_app._private.read_cache``).
* Metrics (count, latency by endpoint class) and one access log line per request.
  The ``Authorization`` header is never logged. The API's log lines are JSON.
* Tracing: one server span per request (continuing a W3C ``traceparent`` the caller
  sent), exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; calls
  to actors carry it on (``Backend.call``, ``sigmax.tracing.carrier``).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog
from opentelemetry.trace import SpanKind, Status, StatusCode

from serve_app._private import errors, metrics, versioning
from serve_app._private.gc_freeze import FreezeAfterWarmUp
from serve_app._private.ratelimit import STATE_KEY, headers
from serve_app.exceptions import HeadersTooLarge, PayloadTooLarge
from sigmax import tracing
from sigmax.logs import configure_logging
from sigmax.storage.rate_limit import RateLimitResult

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CLOSE_RATE_LIMITED = 4429
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_KEY_LIKE = re.compile(r"sgx_[0-9A-Za-z]+_[A-Za-z0-9_-]+")  # a key pasted into a URL
_PATH_VERSION = re.compile(r"^/api/([vV]\d[^/]*)(/|$)")
log = structlog.get_logger("serve_app.access")


class _BodyTooLarge(Exception):
    pass


def _error_body(status: int, code: str, detail: str, request_id: str) -> bytes:
    return json.dumps({"detail": detail, "code": code, "request_id": request_id}).encode()


class APIMiddleware:
    """Request ids, version header check, body limit, rate limit headers, metrics, logs."""

    def __init__(
        self,
        app: ASGIApp,
        backend: Callable[[], Any],
        proxy_echoes_request_id: bool = False,
        freeze_gc_after_warm_up: bool = False,
    ) -> None:
        self.app = app
        self.backend = backend
        # Ray Serve's own request-id middleware, around this app in a deployment, hands
        # every request an X-Request-ID (the caller's, else one it made) and appends that
        # id to the response: echoing the id we adopted from it would send it twice
        self.proxy_echoes_request_id = proxy_echoes_request_id
        self.warm_up = FreezeAfterWarmUp() if freeze_gc_after_warm_up else None
        # the API process logs JSON lines (unless whoever runs it configured structlog
        # already: an embedding program, a test); spans go out when OTLP is configured
        if not structlog.is_configured():
            configure_logging(backend().settings.log_level, json=True)
        tracing.configure_tracing("sigmax-api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header_cap = self.backend().config.max_header_bytes
        if _header_bytes(scope) > header_cap:
            await _refuse_headers(scope, send, header_cap)
            return
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        started = time.perf_counter()
        raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = raw.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        path = _KEY_LIKE.sub("sgx_***", scope["path"])
        attributes = {
            "http.request.method": scope["method"],
            "url.path": path,
            "sigmax.request_id": request_id,
        }
        parent = {k: raw[k] for k in ("traceparent", "tracestate") if k in raw}
        if not parent and not tracing.enabled():
            # nothing to record and no trace to carry on to the actors: skip the no-op
            # span (its context switches cost about a tenth of a cheap request)
            await self._handle(scope, receive, send, raw, request_id, started)
            return
        name = f"{scope['method']} {path}"
        with tracing.span(name, parent, SpanKind.SERVER, attributes) as span:
            await self._handle(scope, receive, send, raw, request_id, started)
            route = _route_template(path, getattr(scope.get("route"), "path", None))
            if route:
                span.update_name(f"{scope['method']} {route}")
                span.set_attribute("http.route", route)
            status = int(state.get("response_status", 500))
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw: dict[str, str],
        request_id: str,
        started: float,
    ) -> None:
        state: dict[str, Any] = scope["state"]
        backend = self.backend()
        status_holder = {"status": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                echoed = self.proxy_echoes_request_id and request_id == raw.get("x-request-id")
                extra = {} if echoed else {"X-Request-ID": request_id}
                result: RateLimitResult | None = state.get(STATE_KEY)
                if result is None and not _uncounted(scope["path"]):
                    result = await self._fallback_hit(scope, backend)
                if result is not None:
                    extra.update(headers(result))
                present = {k.decode("latin-1").lower() for k, _ in message.get("headers", [])}
                out = list(message.get("headers", []))
                for name, value in extra.items():
                    if name.lower() not in present:
                        out.append((name.encode("latin-1"), value.encode("latin-1")))
                message["headers"] = out
            await send(message)

        async def reply(status: int, code: str, detail: str) -> None:
            body = _error_body(status, code, detail, request_id)
            await send_wrapper(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_wrapper({"type": "http.response.body", "body": body})

        try:
            error = self._check_version(scope["path"], raw)
            limit = backend.config.max_body_bytes
            declared = raw.get("content-length")
            if error is not None:
                await reply(400, "unsupported_version", error)
            elif declared is not None and (not declared.isdigit() or int(declared) > limit):
                await reply(413, PayloadTooLarge.code, _too_large(limit))
            else:
                try:
                    await self.app(scope, _limited(receive, limit), send_wrapper)
                except _BodyTooLarge:
                    if status_holder["started"]:
                        raise
                    await reply(413, PayloadTooLarge.code, _too_large(limit))
                except Exception as exc:  # no handler took it: a bug, answered 500 here
                    if status_holder["started"]:
                        raise
                    answer = errors.answer_for(exc, request_id)
                    await reply(answer.status, answer.code, answer.detail)
        finally:
            if scope["method"] not in _READ_METHODS:  # orders, controls, approvals...
                await _note_write(backend)
            elapsed = time.perf_counter() - started
            endpoint_class = str(state.get("endpoint_class", "public"))
            status = int(status_holder["status"])
            state["response_status"] = status
            metrics.REQUESTS.labels(endpoint_class, scope["method"], str(status)).inc()
            metrics.LATENCY.labels(endpoint_class).observe(elapsed)
            log.info(
                "request",
                method=scope["method"],
                path=_KEY_LIKE.sub("sgx_***", scope["path"]),
                status=status,
                endpoint_class=endpoint_class,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()
            if self.warm_up is not None:
                self.warm_up.request_done()

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A connect attempt counts against the caller's address (``general`` class)
        before the key is looked up: over the limit, the handshake is refused (4429)."""
        result = await self._fallback_hit(scope, self.backend())
        if result is not None and not result.allowed:
            metrics.RATE_LIMITED.labels("general").inc()
            await send({"type": "websocket.close", "code": CLOSE_RATE_LIMITED})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check_version(path: str, headers_: dict[str, str]) -> str | None:
        """An error message when the requested version is unsupported or contradictory."""
        wanted = headers_.get("accept-version") or headers_.get("x-api-version")
        match = _PATH_VERSION.match(path)
        in_path = match.group(1) if match else None
        if in_path is not None and versioning.normalise(in_path) is None:
            return versioning.unsupported_message(in_path)
        if wanted is None:
            return None
        version = versioning.normalise(wanted)
        if version is None:
            return versioning.unsupported_message(wanted)
        if in_path is not None and version != versioning.normalise(in_path):
            return (
                f"the Accept-Version/X-API-Version header asks for {version} but the path is "
                f"/api/{in_path}; send one or make them agree"
            )
        return None

    @staticmethod
    async def _fallback_hit(scope: Scope, backend: Any) -> RateLimitResult | None:
        who = f"ip:{backend.address_of(scope)}:general"
        cfg = backend.config
        try:
            result: RateLimitResult = await backend.limiter.hit(
                who, cfg.rate_general, cfg.rate_window_s
            )
        except Exception as exc:  # headers are best effort; the response still goes out
            log.warning("rate limit headers unavailable", error=f"{type(exc).__name__}: {exc}")
            return None
        return result


_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _note_write(backend: Any) -> None:
    """A write may have changed what the session's read endpoints answer: drop the kept
    answers in every replica (serve_app/_private/read_cache.py)."""
    reads = getattr(backend, "reads", None)
    if reads is not None:
        await reads.changed()


def _header_bytes(scope: Scope) -> int:
    return sum(len(name) + len(value) for name, value in scope["headers"])


async def _refuse_headers(scope: Scope, send: Send, cap: int) -> None:
    """431 (HTTP) or a refused handshake (WebSocket, which has no status of its own)."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1009})
        return
    detail = f"request headers too large: the limit is {cap} bytes in all"
    body = _error_body(431, HeadersTooLarge.code, detail, uuid.uuid4().hex)
    length = str(len(body)).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", length)]
    await send({"type": "http.response.start", "status": 431, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


def _uncounted(path: str) -> bool:
    """Kubernetes probes (hit every few seconds) and the dashboard's static files do not
    count against the caller's address: only API requests do."""
    return path == "/" or path.startswith(("/health/", "/assets/"))


def _route_template(path: str, route: str | None) -> str | None:
    """The matched route's full template (``/api/v1/orders/{client_order_id}``): the
    route of an included router knows its path below the router's prefix only."""
    if not route:
        return None
    below = route.count("/")
    return "/".join(path.split("/")[:-below]) + route


def _too_large(limit: int) -> str:
    return f"request body too large: the limit is {limit} bytes"


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge()
        return message

    return wrapped
