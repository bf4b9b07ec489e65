"""The operator reads the dashboard uses: the audit log paged and searched with its
chain verified, and the rate limiter's use per key and endpoint class, against the real
app, PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.risk.audit import AuditTrail
from sigmax.storage.repos.audit import PostgresAuditSink
from tests.serve.conftest import KeyMaker, unique_config

STREAM = "operator-test"


@pytest.fixture(scope="module")
def trail(api_settings: Settings) -> None:
    """Twelve records in a stream of their own, through the production sink."""
    sink = PostgresAuditSink(api_settings.postgres, stream=STREAM)
    try:
        audit = AuditTrail(sink)
        for i in range(12):
            audit.note("state_change" if i % 3 else "limits_change", {"step": i, "who": f"op{i}"})
        assert audit.verify() == 12
    finally:
        sink.close()


@pytest.fixture(scope="module")
def http(api_settings: Settings) -> Iterator[TestClient]:
    config = unique_config(rate_general=5, rate_window_s=60)
    with TestClient(create_app(api_settings, config)) as client:
        yield client


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_audit_log_is_paged_newest_first_with_its_chain_verified(
    trail: None, api_settings: Settings, make_key: KeyMaker
) -> None:
    admin = _auth(make_key(["admin"], "auditor"))
    with TestClient(create_app(api_settings, unique_config())) as http:
        streams = http.get("/api/v1/audit/streams", headers=admin).json()
        assert {"stream": STREAM, "records": 12} in streams
        page = http.get(
            "/api/v1/audit", params={"stream": STREAM, "limit": 5, "offset": 5}, headers=admin
        ).json()
        assert page["verified"] is True and page["verify_error"] is None
        assert (page["total"], page["matched"], page["offset"]) == (12, 12, 5)
        assert [r["seq"] for r in page["records"]] == [6, 5, 4, 3, 2]
        found = http.get(
            "/api/v1/audit", params={"stream": STREAM, "q": "LIMITS_"}, headers=admin
        ).json()
        assert [r["seq"] for r in found["records"]] == [9, 6, 3, 0]
        assert found["head_hash"] == page["head_hash"] and found["total"] == 12
        missing = http.get("/api/v1/audit", params={"stream": "nobody"}, headers=admin)
        assert missing.status_code == 404
        assert "no records" in missing.json()["detail"]


def test_operator_reads_need_the_admin_scope(api_settings: Settings, make_key: KeyMaker) -> None:
    reader = _auth(make_key(["read", "trade"], "not-admin"))
    with TestClient(create_app(api_settings, unique_config())) as http:
        for path in ("/api/v1/audit", "/api/v1/audit/streams", "/api/v1/ratelimits"):
            assert http.get(path, headers=reader).status_code == 403, path


def test_rate_limit_use_and_refusals_are_reported_per_key_and_class(
    http: TestClient, make_key: KeyMaker
) -> None:
    busy = _auth(make_key(["read"], "busy"))
    answers = [http.get("/api/v1/dashboard/me", headers=busy) for _ in range(7)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    busy_id = answers[0].json()["key_id"]
    watcher = _auth(make_key(["admin"], "limit-watcher"))
    table = http.get("/api/v1/ratelimits", headers=watcher).json()
    rows = {(r["who"], r["endpoint_class"]): r for r in table}
    row = rows[(f"key:{busy_id}", "general")]
    assert (row["key_id"], row["used"], row["limit"], row["refused"]) == (busy_id, 5, 5, 2)
    assert row["window_s"] == 60
    others = [r for r in table if r["key_id"] not in (None, busy_id)]
    assert [(r["used"], r["refused"]) for r in others] == [(1, 0)]


def test_bars_need_a_running_session(api_settings: Settings, make_key: KeyMaker) -> None:
    """With no session served the chart's bars are a 503 naming it (the browser test
    reads them from a running portfolio session)."""
    reader = _auth(make_key(["read"], "chart-reader"))
    config = unique_config()
    with TestClient(create_app(api_settings, config)) as http:
        answer = http.get("/api/v1/bars", params={"symbol": "ETH/USD"}, headers=reader)
        assert answer.status_code == 503, answer.text
        assert config.session_id in answer.json()["detail"]
        assert http.get("/api/v1/bars", headers=reader).status_code == 422  # symbol required


def test_weight_changes_are_read_from_the_accounts_audit_newest_first(
    api_settings: Settings, make_key: KeyMaker
) -> None:
    """The optimiser's reruns are audited as control ``reoptimise`` in the account's
    stream; the portfolio screen reads when and by what they changed."""
    config = unique_config()
    sink = PostgresAuditSink(api_settings.postgres, stream=f"paper:{config.session_id}")
    try:
        audit = AuditTrail(sink)
        audit.note("control", {"action": "pause", "operator": "op", "details": {}})
        for i, weight in enumerate((0.6, 0.7)):
            details = {
                "weights": {"ETH/USD": weight, "LTC/USD": 1 - weight},
                "previous": {"ETH/USD": 0.5, "LTC/USD": 0.5},
                "source": f"rerun {i}",
            }
            audit.note(
                "control", {"action": "reoptimise", "operator": "session", "details": details}
            )
    finally:
        sink.close()
    reader = _auth(make_key(["read"], "weights-reader"))
    with TestClient(create_app(api_settings, config)) as http:
        changes = http.get("/api/v1/weights/changes", headers=reader).json()
    assert [(c["seq"], c["source"]) for c in changes] == [(2, "rerun 1"), (1, "rerun 0")]
    assert changes[0]["weights"] == {"ETH/USD": 0.7, "LTC/USD": pytest.approx(0.3)}
    assert changes[0]["previous"] == {"ETH/USD": 0.5, "LTC/USD": 0.5}
