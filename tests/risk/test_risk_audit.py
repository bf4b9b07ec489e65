"""Audit trail: hash chain, tamper detection, sinks and decision records."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sigmax.model import Decision, RiskCheck, RiskVerdict, Side, Signal
from sigmax.risk import (
    AuditIntegrityError,
    AuditTrail,
    InMemoryAuditSink,
    JsonlAuditSink,
    RiskConfig,
    RiskEngine,
    read_jsonl,
    verify_chain,
)

TS = datetime(2024, 3, 1, tzinfo=UTC)


def filled_trail(sink=None) -> AuditTrail:
    trail = AuditTrail(sink)
    trail.append("risk_check", {"qty": Decimal("1.50"), "side": Side.BUY}, TS)
    trail.append("decision", {"score": 0.25, "tags": ("a", "b")}, TS)
    trail.append("state_change", {"to": "paused", "when": TS}, TS)
    return trail


def test_payload_values_become_json(tmp_path):
    trail = filled_trail()
    first = trail.records()[0]
    assert first.payload == {"qty": "1.50", "side": "buy"}
    assert trail.records()[2].payload["when"] == TS.isoformat()
    assert [r.seq for r in trail.records()] == [0, 1, 2]
    assert trail.records()[1].prev_hash == first.hash
    assert trail.verify() == 3 and len(trail) == 3


def test_bad_payload_is_refused_with_where():
    trail = AuditTrail()
    with pytest.raises(ValueError, match="audit decision payload: .*object is not JSON-able"):
        trail.append("decision", {"x": object()}, TS)
    with pytest.raises(ValueError, match="audit decision payload"):
        trail.append("decision", {"x": float("nan")}, TS)
    with pytest.raises(ValueError, match="kind must not be empty"):
        trail.append("", {}, TS)
    assert len(trail) == 0


def test_tampered_payload_is_detected():
    trail = filled_trail()
    trail.records()[1].payload["score"] = 0.9
    with pytest.raises(AuditIntegrityError, match="audit record 1: content does not match hash"):
        trail.verify()


def test_removed_or_replaced_records_are_detected():
    records = filled_trail().records()
    with pytest.raises(AuditIntegrityError, match="audit record 1: found seq 2"):
        verify_chain([records[0], records[2]])
    forged = dataclasses.replace(records[1], kind="forged")
    rehashed = dataclasses.replace(forged, hash=forged.expected_hash())
    with pytest.raises(AuditIntegrityError, match="audit record 2: prev_hash does not link"):
        verify_chain([records[0], rehashed, records[2]])


def test_jsonl_sink_round_trip_and_continues_chain(tmp_path):
    path = tmp_path / "audit" / "risk.jsonl"
    trail = filled_trail(JsonlAuditSink(path, fsync=True))
    original = trail.records()
    trail.close()
    assert list(read_jsonl(path)) == original
    reopened = AuditTrail(JsonlAuditSink(path))
    assert reopened.head_hash == original[-1].hash
    reopened.append("decision", {"n": 4}, TS)
    reopened.close()
    assert verify_chain(read_jsonl(path)) == 4


def test_jsonl_tampering_is_detected(tmp_path):
    path = tmp_path / "risk.jsonl"
    filled_trail(JsonlAuditSink(path)).close()
    lines = path.read_text().splitlines()
    data = json.loads(lines[0])
    data["payload"]["qty"] = "150"
    lines[0] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AuditIntegrityError, match="audit record 0: content"):
        verify_chain(read_jsonl(path))


def test_jsonl_bad_line_names_its_number(tmp_path):
    path = tmp_path / "risk.jsonl"
    filled_trail(JsonlAuditSink(path)).close()
    with path.open("a") as fh:
        fh.write('{"seq": "x"}\n')
    with pytest.raises(ValueError, match=r"risk.jsonl:4: .*'seq'"):
        list(read_jsonl(path))


def test_engine_records_decision_with_its_verdict():
    sink = InMemoryAuditSink()
    engine = RiskEngine(RiskConfig(), AuditTrail(sink))
    verdict = RiskVerdict(False, (RiskCheck("price_band", False, "too far"),))
    decision = Decision(
        ts=TS,
        symbol="BTC/USDT",
        target_position=0.5,
        signals=(Signal("momentum", 0.4, 0.8, "trend up", {"rsi": 61.5}),),
        bull_case="bull",
        bear_case="bear",
        rationale="buy half",
        missing=("sentiment",),
        risk_verdict=verdict,
    )
    engine.record_decision(decision)
    (record,) = list(sink.records())
    assert record.kind == "decision" and record.ts == TS.isoformat()
    assert record.payload["signals"][0]["evidence"] == {"rsi": 61.5}
    assert record.payload["risk_verdict"] == {
        "approved": False,
        "reason": "price_band: too far",
        "checks": [{"rule": "price_band", "passed": False, "detail": "too far"}],
    }
    assert record.payload["missing"] == ["sentiment"]


def test_a_deferred_trail_chains_the_same_records_as_an_eager_one():
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    eager, deferred = AuditTrail(), AuditTrail(deferred=True)
    for trail in (eager, deferred):
        trail.note("risk_check", {"qty": Decimal("0.5"), "approved": True}, ts)
        trail.note("decision", {"target": 0.25}, ts)
        trail.append("control", {"action": "pause"}, ts)  # an append writes what is pending
        trail.note("risk_check", {"qty": Decimal("1"), "approved": False}, ts)
    assert len(deferred) == 4
    assert deferred.records() == eager.records()
    assert deferred.head_hash == eager.head_hash
    assert deferred.verify() == 4


def test_a_view_holds_the_records_of_its_moment_and_reads_them_once_asked():
    ts = datetime(2024, 1, 2, tzinfo=UTC)
    trail = AuditTrail(deferred=True)
    trail.note("risk_check", {"n": 1}, ts)
    trail.note("risk_check", {"n": 2}, ts)
    view = trail.view()
    trail.note("risk_check", {"n": 3}, ts)  # after the view: not in it
    assert len(view) == 2
    assert [r.payload["n"] for r in view] == [1, 2]
    assert view[-1].seq == 1 and [r.seq for r in view[:1]] == [0]
    assert view == trail.records()[:2]


def test_only_an_in_memory_trail_may_defer(tmp_path):
    with pytest.raises(ValueError, match="only an in-memory trail may defer"):
        AuditTrail(JsonlAuditSink(tmp_path / "audit.jsonl"), deferred=True)


def test_a_deferred_risk_check_records_the_book_as_it_was_checked(order, ctx):
    config = RiskConfig()
    eager, deferred = RiskEngine(config), RiskEngine(config, AuditTrail(deferred=True))
    buy, sell = order(qty="2"), order(side="sell", qty="1")
    for engine in (eager, deferred):
        context = ctx(book={"BTC/USDT": "100", "ETH/USDT": "-50"})
        engine.check(buy, context)
        context.positions_notional["ETH/USDT"] = Decimal("999")  # type: ignore[index]
        engine.check(sell, ctx())
    records = deferred.audit.records()
    assert records == eager.audit.records()
    assert records[0].payload["context"]["positions_notional"] == {
        "BTC/USDT": "100",
        "ETH/USDT": "-50",
    }
