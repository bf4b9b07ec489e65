"""OpenTelemetry tracing across processes: OTLP/HTTP export when configured, else a no-op.

Configuration is OpenTelemetry's own environment. ``OTEL_EXPORTER_OTLP_ENDPOINT``
(``/v1/traces`` is appended) or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is)
turns export on; ``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_HEADERS`` and the batch
processor's ``OTEL_BSP_*`` are read by the SDK as usual; ``OTEL_SDK_DISABLED=true``
turns it off. Without an endpoint every function here is a cheap no-op.

A call that crosses a process boundary (API -> actor) carries a plain
``dict[str, str]`` built by :func:`carrier`: the W3C ``traceparent``/``tracestate``
of the current span and the request id bound in the structlog context. The callee
continues both with :func:`span`; :func:`traced_actor` does so for every public
method of a class, which then takes a keyword-only ``trace_context`` argument.

Why not Ray's own tracing (``ray.init(_tracing_startup_hook=...)``): in Ray 2.60 it
is set once for a whole cluster by whoever starts it (a cluster started by
``ray start`` or KubeRay, or the test session's, cannot turn it on later), it traces
every task and actor call, and it carries no request id. An explicit carrier works on
any cluster, only for calls made on behalf of a request, and carries both.
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACE_CONTEXT = "trace_context"  # the keyword argument traced actor methods take
REQUEST_ID = "request_id"
_ENV_PREFIXES = ("OTEL_",)
_ENV_NAMES = ("SIGMAX_LOG_LEVEL", "SIGMAX_LOG_JSON")

C = TypeVar("C", bound=type)
_propagator = TraceContextTextMapPropagator()
_lock = threading.Lock()
_provider: TracerProvider | None = None
_endpoint: str | None = None
log = structlog.get_logger("sigmax.tracing")


def endpoint() -> str | None:
    """The OTLP/HTTP traces URL this process exports to, or None when tracing is off."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def configure_tracing(service_name: str = "sigmax") -> bool:
    """Export this process's spans over OTLP/HTTP when an endpoint is configured.

    Idempotent per endpoint; ``OTEL_SERVICE_NAME`` wins over ``service_name``.
    Returns whether spans are exported."""
    global _provider, _endpoint
    url = endpoint()
    with _lock:
        if url == _endpoint:
            return _provider is not None
        _shutdown_locked()
        if url is None:
            return False
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        name = os.environ.get("OTEL_SERVICE_NAME") or service_name
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        _provider, _endpoint = provider, url
    log.info("tracing: exporting spans over OTLP/HTTP", endpoint=url, service=name)
    return True


def enabled() -> bool:
    return _provider is not None


def force_flush(timeout_s: float = 10.0) -> bool:
    """Export the spans this process has ended so far; True when done in time."""
    provider = _provider
    return True if provider is None else provider.force_flush(int(timeout_s * 1000))


def shutdown_tracing() -> None:
    """Flush and stop exporting (a later :func:`configure_tracing` starts afresh)."""
    with _lock:
        _shutdown_locked()


def _shutdown_locked() -> None:
    global _provider, _endpoint
    provider, _provider, _endpoint = _provider, None, None
    if provider is not None:
        provider.shutdown()


def tracer() -> trace.Tracer:
    provider = _provider
    return provider.get_tracer("sigmax") if provider is not None else trace.NoOpTracer()


def propagated_env() -> dict[str, str]:
    """The variables of this process that set up tracing and logging in another one
    (``OTEL_*``, ``SIGMAX_LOG_LEVEL``, ``SIGMAX_LOG_JSON``): for an actor's runtime_env."""
    return {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES) or k in _ENV_NAMES}


def carrier() -> dict[str, str]:
    """What a cross-process call carries: the current span's W3C trace context (when
    one is recording or remote) and the request id of the structlog context."""
    out: dict[str, str] = {}
    _propagator.inject(out)
    request_id = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    if request_id:
        out[REQUEST_ID] = str(request_id)
    return out


@contextmanager
def span(
    name: str,
    parent: Mapping[str, str] | None = None,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, Any] | None = None,
) -> Iterator[Span]:
    """A span named ``name``, child of the trace context in ``parent`` (a carrier or
    HTTP headers with ``traceparent``) or else of the current span, current within the
    block; a request id in ``parent`` is bound to the structlog context meanwhile."""
    context = _propagator.extract(parent) if parent and "traceparent" in parent else None
    request_id = (parent or {}).get(REQUEST_ID)
    bound = {REQUEST_ID: request_id} if request_id else {}
    with (
        structlog.contextvars.bound_contextvars(**bound),
        tracer().start_as_current_span(
            name, context=context, kind=kind, attributes=dict(attributes or {})
        ) as current,
    ):
        yield current


def traced_actor(cls: C) -> C:
    """Let every public method of ``cls`` continue its caller's trace and request id.

    Each public method takes a keyword-only ``trace_context`` (a :func:`carrier`);
    given one, the call runs in a server span ``Class.method`` under the caller's span,
    with the caller's request id bound to its log lines, and logs one ``actor call``
    line. ``__init__`` first sets up this process's tracing and logging from its
    environment (:func:`propagated_env`). Generators are left as they are."""
    for attr, member in list(vars(cls).items()):
        if attr.startswith("_") or not inspect.isfunction(member):
            continue
        if inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member):
            continue
        setattr(cls, attr, _continuing(member, cls.__name__))
    init = vars(cls).get("__init__")
    if inspect.isfunction(init):
        cls.__init__ = _setting_up(init)  # type: ignore[misc]
    return cls


def _setting_up(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from sigmax.logs import configure_from_settings

        configure_from_settings()
        configure_tracing()
        init(*args, **kwargs)

    return wrapper


def _continuing(method: Callable[..., Any], owner: str) -> Callable[..., Any]:
    name = f"{owner}.{method.__name__}"
    attributes = {"rpc.system": "ray", "rpc.service": owner, "rpc.method": method.__name__}
    wrapper: Callable[..., Any]
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def wrapper(
            *args: Any, trace_context: Mapping[str, str] | None = None, **kw: Any
        ) -> Any:
            if not trace_context:
                return await method(*args, **kw)
            with _call_span(name, trace_context, attributes):
                return await method(*args, **kw)

    else:

        @functools.wraps(method)
        def wrapper(*args: Any, trace_context: Mapping[str, str] | None = None, **kw: Any) -> Any:
            if not trace_context:
                return method(*args, **kw)
            with _call_span(name, trace_context, attributes):
                return method(*args, **kw)

    wrapper.__signature__ = _with_trace_context(inspect.signature(method))  # type: ignore[attr-defined]
    # Ray reads a method's parameters from the innermost ``__wrapped__``: it must see
    # this wrapper's, which take ``trace_context``
    del wrapper.__wrapped__  # type: ignore[attr-defined]
    return wrapper


@contextmanager
def _call_span(
    name: str, parent: Mapping[str, str], attributes: Mapping[str, Any]
) -> Iterator[None]:
    started = time.perf_counter()
    outcome = "error"
    with span(name, parent, SpanKind.SERVER, attributes):
        try:
            yield
            outcome = "ok"
        finally:
            log.info(
                "actor call",
                method=name,
                outcome=outcome,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )


def _with_trace_context(sig: inspect.Signature) -> inspect.Signature:
    """``sig`` plus the keyword-only ``trace_context=None`` (before any ``**kwargs``)."""
    extra = inspect.Parameter(TRACE_CONTEXT, inspect.Parameter.KEYWORD_ONLY, default=None)
    params = list(sig.parameters.values())
    at = next(
        (i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_KEYWORD), len(params)
    )
    return sig.replace(parameters=[*params[:at], extra, *params[at:]])


def remote_call(bound: Any, *args: Any) -> Any:
    """``bound.remote(*args)`` for an actor method ``bound``, carrying this context's
    trace and request id when the method takes ``trace_context`` (:func:`traced_actor`;
    Ray keeps each method's parameters on it as ``_signature``); other actors are
    called as they are."""
    if accepts_trace_context(getattr(bound, "_signature", None)):
        return bound.remote(*args, trace_context=carrier())
    return bound.remote(*args)


def accepts_trace_context(signature: Any) -> bool:
    """Whether a method signature (a Signature or a list of its Parameters, as Ray keeps
    it on an actor method) takes ``trace_context``."""
    if isinstance(signature, inspect.Signature):
        signature = signature.parameters.values()
    return any(getattr(p, "name", None) == TRACE_CONTEXT for p in signature or ())
