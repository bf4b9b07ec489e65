"""The trading session publishes every decision, proposal, order, fill and risk change."""

from __future__ import annotations

from decimal import Decimal

from sigmax.config import Settings
from sigmax.data import load_bars
from sigmax.events import Event, EventsHealth
from sigmax.execution import PaperExchange
from sigmax.graph import DecisionGraph
from sigmax.ledger import Ledger
from sigmax.risk import RiskConfig, RiskEngine
from sigmax.trading.adapters import GraphDecider, PaperVenue
from sigmax.trading.session import SessionConfig, TradingSession

START, BARS = 15_600, 300


class RecordingPublisher:
    """Test double of an EventPublisher: keeps what it is given, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)

    def flush(self, timeout: float | None = 10.0) -> bool:
        return True

    def close(self, timeout: float | None = 10.0) -> None:
        return None

    def health(self) -> EventsHealth:
        return EventsHealth("recording", False, None, len(self.events))


def test_session_publishes_full_payloads_for_every_step() -> None:
    settings = Settings()
    graph = DecisionGraph(settings.graph)
    warmup = graph.data_warmup("1h")  # the default graph decides on 4h windows
    bars = load_bars("bundled:BTC-USD-1h")[START - warmup : START + BARS]
    # A hair-trigger drawdown breaker, so that the risk state changes in the session.
    risk = RiskEngine(RiskConfig(max_drawdown_pct=0.002))
    publisher = RecordingPublisher()
    seen: list[tuple[str, dict]] = []
    session = TradingSession(
        SessionConfig(symbol=bars.symbol, session_id="events-unit"),
        GraphDecider(graph),
        risk,
        PaperVenue(PaperExchange(settings.paper)),
        Ledger(Decimal(10_000)),
        on_event=lambda kind, data: seen.append((kind, data)),
        publisher=publisher,
        risk_status=lambda: {"state": risk.state.value, "reason": risk.state_reason},
    )
    reports = [session.on_bar(bars[: i + 1]) for i in range(warmup, len(bars))]
    graph.close()
    events = publisher.events

    assert {e.session_id for e in events} == {"events-unit"}
    assert len({e.id for e in events}) == len(events)
    # on_event sees the same data as the publisher, kind by kind
    assert [d for _, d in seen] == [e.data for e in events]

    decisions = [e.data for e in events if e.topic == "decisions"]
    assert [d["ts"] for d in decisions] == [r.decision.ts.isoformat() for r in reports]
    assert [d["target_position"] for d in decisions] == [
        r.decision.target_position for r in reports
    ]
    assert all(d["summary"]["count"] == len(d["signals"]) for d in decisions)  # type: ignore[index, arg-type]
    assert all(d["rationale"] for d in decisions)
    # every analyst's signal where a 4h window closes; none in between (target held)
    decided = [d for d in decisions if str(d["rationale"]).startswith("Decided on the 4h bar")]
    closes = (bars.ts[warmup:] + 3_600_000_000_000) % (4 * 3_600_000_000_000) == 0
    assert len(decided) == int(closes.sum()) >= BARS // 4
    assert all(len(d["signals"]) == 5 for d in decided)  # type: ignore[arg-type]
    assert all(
        not d["signals"] and str(d["rationale"]).startswith("Between decisions")
        for d in decisions
        if d not in decided
    )

    fills = [f for r in reports for f in r.fills]
    fill_events = [e.data for e in events if e.topic == "fills"]
    assert len(fills) >= 2
    assert [(d["fill_id"], d["qty"], d["price"], d["fee"]) for d in fill_events] == [
        (f.fill_id, str(f.qty), str(f.price), str(f.fee)) for f in fills
    ]

    orders = [(r.order, r.verdict) for r in reports if r.order is not None]
    order_events = [e.data for e in events if e.topic == "orders"]
    assert [(d["client_order_id"], d["approved"], d["reason"]) for d in order_events] == [
        (o.client_order_id, v.approved, v.reason) for o, v in orders if v is not None
    ]
    assert any(d["approved"] is False for d in order_events)  # the breaker blocked some
    proposals = [e.data for e in events if e.topic == "proposals"]
    assert [p["order"]["client_order_id"] for p in proposals] == [  # type: ignore[index, call-overload]
        d["client_order_id"] for d in order_events
    ]

    changes = [r.payload for r in risk.audit.records("state_change")]
    risk_events = [e.data for e in events if e.topic == "risk"]
    assert changes, "the tight drawdown limit should have paused trading"
    assert [(d["previous"], d["state"]) for d in risk_events] == [
        (c["from"], c["to"]) for c in changes
    ]
    assert risk_events[0]["reason"] == changes[0]["reason"]
