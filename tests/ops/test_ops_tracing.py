"""OpenTelemetry tracing of one API request through to an actor, received for real.

A tiny OTLP/HTTP receiver (http.server, protobuf decoded with opentelemetry-proto)
listens on a free loopback port; ``OTEL_EXPORTER_OTLP_ENDPOINT`` points the API (in
this process) and the actor (another process: ``actors.options.spawn`` passes the
variables on in its runtime_env) at it. ``GET /api/v1/health`` reaches the session's
time-series store actor; both spans must arrive in one trace, the actor's span a
child of the API's server span."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from sigmax import tracing
from sigmax.config import Settings
from sigmax.storage.clickhouse_config import ClickHouseConfig
from tests.serve.conftest import unique_config

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict[str, Any]


class OTLPReceiver:
    """Accepts POST /v1/traces (OTLP/HTTP, protobuf) and keeps the decoded spans."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.paths: list[str] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.paths.append(self.path)
                received.spans.extend(_decode(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, names: set[str], limit_s: float = 60.0) -> dict[str, ReceivedSpan]:
        """The first span of each name, once all have arrived (or what came by then)."""
        deadline = time.monotonic() + limit_s
        while True:
            found = {s.name: s for s in reversed(self.spans) if s.name in names}
            if set(found) == names or time.monotonic() > deadline:
                return found
            time.sleep(0.1)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _decode(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest.FromString(body)
    out = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                out.append(
                    ReceivedSpan(
                        service=str(resource.get("service.name")),
                        name=s.name,
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(),
                        kind=s.kind,
                        attributes={a.key: _value(a.value) for a in s.attributes},
                    )
                )
    return out


@pytest.fixture
def receiver() -> Iterator[OTLPReceiver]:
    server = OTLPReceiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def store_actor(
    ray_cluster: Any, receiver: OTLPReceiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A session's time-series store actor (embedded chdb) started with tracing on;
    yields the session id."""
    from actors import options
    from actors.timeseries_store import TimeSeriesStoreActor

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # ms: export soon after the span ends
    session_id = f"trace-{uuid.uuid4().hex[:8]}"
    config = ClickHouseConfig(data_dir=tmp_path / "chdb").model_dump_json()
    handle = options.spawn(TimeSeriesStoreActor, options.TIMESERIES_STORE, session_id, config)
    try:
        ray_cluster.get(handle.__ray_ready__.remote(), timeout=120)
        yield session_id
    finally:
        ray_cluster.kill(handle)
        tracing.shutdown_tracing()  # this process stops exporting to the receiver


def test_a_request_is_one_trace_from_the_api_into_the_actor(
    store_actor: str, receiver: OTLPReceiver, api_settings: Settings
) -> None:
    request_id = f"trace-{uuid.uuid4().hex}"
    with TestClient(create_api(api_settings, store_actor)) as http:
        answer = http.get("/api/v1/health", headers={"X-Request-ID": request_id})
    assert answer.status_code == 200, answer.text
    assert answer.json()["stores"]["clickhouse"]["status"] == "up"
    assert tracing.force_flush()

    spans = receiver.wait_for({"GET /api/v1/health", "TimeSeriesStoreActor.health"})
    assert set(spans) == {"GET /api/v1/health", "TimeSeriesStoreActor.health"}, receiver.spans
    api, actor = spans["GET /api/v1/health"], spans["TimeSeriesStoreActor.health"]
    assert actor.trace_id == api.trace_id
    assert actor.parent_span_id == api.span_id
    assert api.parent_span_id == ""  # the request started the trace
    assert (api.service, actor.service) == ("sigmax-api", "sigmax")
    assert api.attributes["http.route"] == "/api/v1/health"
    assert api.attributes["http.response.status_code"] == 200
    assert api.attributes["sigmax.request_id"] == request_id
    assert actor.attributes["rpc.method"] == "health"
    assert set(receiver.paths) == {"/v1/traces"}


def test_a_callers_traceparent_is_continued(
    store_actor: str, receiver: OTLPReceiver, api_settings: Settings
) -> None:
    trace_id, parent = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    headers = {"traceparent": f"00-{trace_id}-{parent}-01"}
    with TestClient(create_api(api_settings, store_actor)) as http:
        assert http.get("/api/v1/health", headers=headers).status_code == 200
    assert tracing.force_flush()
    spans = receiver.wait_for({"GET /api/v1/health", "TimeSeriesStoreActor.health"})
    api, actor = spans["GET /api/v1/health"], spans["TimeSeriesStoreActor.health"]
    assert (api.trace_id, api.parent_span_id) == (trace_id, parent)
    assert actor.trace_id == trace_id and actor.parent_span_id == api.span_id


def test_a_decision_traces_into_every_agent_actor(
    ray_cluster: Any, receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actors import options
    from actors.agent import AgentActor
    from actors.decision_graph import DecisionGraphActor
    from sigmax.data import load_bars
    from sigmax.graph import DecisionGraph
    from sigmax.graph_agents import graph_agents

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    # every bar decides (no 4h window to wait for): the one decide call asks every agent
    graph_config = Settings().graph.model_copy(update={"cadence": None})
    sid, config = f"trace-{uuid.uuid4().hex[:8]}", graph_config.model_dump_json()
    agents = {
        a.name: options.spawn(AgentActor, options.AGENT, f"{sid}:{a.name}", a.name, config)
        for a in graph_agents(graph_config)
    }
    names = {name: options.AGENT.options(f"{sid}:{name}")["name"] for name in agents}
    graph = options.spawn(DecisionGraphActor, options.DECISION_GRAPH, sid, config, names)
    warmup = DecisionGraph(graph_config).warmup
    history = load_bars("bundled:BTC-USD-1h")[6_000 : 6_000 + warmup + 1]
    try:
        assert tracing.configure_tracing("sigmax-test")
        with tracing.span("operator request") as root:
            carrier = tracing.carrier()
        ray_cluster.get(graph.decide.remote(history, trace_context=carrier), timeout=300)
        trace_id = format(root.get_span_context().trace_id, "032x")
        spans = receiver.wait_for({"DecisionGraphActor.decide", "AgentActor.analyze_bars"})
        decide = spans["DecisionGraphActor.decide"]
        assert decide.trace_id == trace_id
        analyses = [s for s in receiver.spans if s.name == "AgentActor.analyze_bars"]
        deadline = time.monotonic() + 30
        while len(analyses) < len(agents) and time.monotonic() < deadline:
            time.sleep(0.2)
            analyses = [s for s in receiver.spans if s.name == "AgentActor.analyze_bars"]
        assert len(analyses) == len(agents)
        assert {(s.trace_id, s.parent_span_id) for s in analyses} == {(trace_id, decide.span_id)}
    finally:
        for handle in [graph, *agents.values()]:
            ray_cluster.kill(handle)
        tracing.shutdown_tracing()


def create_api(settings: Settings, session_id: str) -> Any:
    from serve_app.api import create_app

    return create_app(settings, unique_config(session_id=session_id))


@tracing.traced_actor
class _Echo:
    """A plain class made traceable the way the actors are (no Ray needed)."""

    def bound_request_id(self, prefix: str) -> str:
        import structlog

        return prefix + str(structlog.contextvars.get_contextvars().get("request_id"))

    async def current_trace(self) -> str:
        from opentelemetry import trace

        return format(trace.get_current_span().get_span_context().trace_id, "032x")


def test_traced_methods_take_trace_context_and_keep_their_own_parameters() -> None:
    import inspect

    signature = inspect.signature(_Echo.bound_request_id)
    assert list(signature.parameters) == ["self", "prefix", "trace_context"]
    assert tracing.accepts_trace_context(signature)
    assert not tracing.accepts_trace_context(inspect.signature(_Echo.__init__))
    assert not hasattr(_Echo.bound_request_id, "__wrapped__")  # Ray must see trace_context
    assert inspect.iscoroutinefunction(_Echo.current_trace)


def test_a_carrier_continues_trace_and_request_id_in_the_callee(
    receiver: OTLPReceiver, monkeypatch: pytest.MonkeyPatch, saved_logging: None
) -> None:
    import asyncio

    import structlog

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    assert tracing.configure_tracing("caller")
    try:
        echo = _Echo()
        with structlog.contextvars.bound_contextvars(request_id="rid-1"), tracing.span("caller"):
            carried = tracing.carrier()
        assert carried["request_id"] == "rid-1" and "traceparent" in carried
        assert echo.bound_request_id("id=", trace_context=carried) == "id=rid-1"
        assert echo.bound_request_id("id=") == "id=None"  # no carrier: nothing bound
        trace_id = asyncio.run(echo.current_trace(trace_context=carried))
        assert tracing.force_flush()
        spans = receiver.wait_for({"caller", "_Echo.bound_request_id", "_Echo.current_trace"})
        assert len(spans) == 3
        assert {s.trace_id for s in spans.values()} == {trace_id}
        caller = spans["caller"].span_id
        assert spans["_Echo.bound_request_id"].parent_span_id == caller
        assert spans["_Echo.current_trace"].parent_span_id == caller
    finally:
        tracing.shutdown_tracing()


def test_without_an_endpoint_tracing_is_off_and_carries_only_the_request_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import structlog

    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.endpoint() is None
    assert not tracing.configure_tracing() and not tracing.enabled()
    with structlog.contextvars.bound_contextvars(request_id="rid-2"), tracing.span("x"):
        assert tracing.carrier() == {"request_id": "rid-2"}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/v1/traces")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.endpoint() is None
    monkeypatch.delenv("OTEL_SDK_DISABLED")
    assert tracing.endpoint() == "http://collector:4318/v1/traces"
