"""``--reoptimise-every N``: a portfolio session reruns the optimiser as a Ray task on
its recent bars every N steps, trades the new weights, audits and publishes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.errors import InvalidInputError
from sigmax.events.model import Event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "strategies" / "donchian_breakout.py"
LEGS = (
    ("bundled:ETH-USD-30m", "ETH/USD"),
    ("bundled:LTC-USD-30m", "LTC/USD"),
    ("bundled:XRP-USD-30m", "XRP/USD"),
)


class RecordingPublisher:
    """Keeps every event the session publishes (an in-process stand-in for Redis)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("legs", "words"),
    [
        ((("bundled:ETH-USD-30m", "ETH/USD"),), "two or more"),
        ((("a.csv", "BTC/USD"), ("b.csv", "BTC/EUR")), "share a base currency"),
    ],
)
def test_a_request_the_optimiser_cannot_weight_is_refused_before_it_runs(
    legs: tuple[tuple[str, str], ...], words: str
) -> None:
    """Checked when the request is made (CLI and API alike), not mid-session."""
    with pytest.raises(InvalidInputError, match=words):
        PaperRequest(legs=legs, reoptimise_every=10)


@pytest.mark.slow
def test_session_reweights_from_the_optimiser_every_n_steps(ray_cluster: Any) -> None:
    request = PaperRequest(
        legs=LEGS,
        timeframe="1h",
        start=3_000,
        bars=90,
        session_id="reoptimise",
        persist=False,
        strategy=f"{EXAMPLE}:DonchianBreakout",
        reoptimise_every=40,
        reoptimise_window=300,
    )
    publisher = RecordingPublisher()
    system = start_system(Settings(), request, publisher=publisher)
    try:
        run_paper(system, request)
        audited = ray_cluster.get(system.risk.audit_records.remote("control"))
    finally:
        system.shutdown()

    changes = [e.data for e in publisher.events if e.data.get("status") == "allocation"]
    assert len(changes) == 2  # after steps 40 and 80
    first = changes[0]
    assert first["previous"] == pytest.approx(dict.fromkeys(first["weights"], 1 / 3))
    assert sum(first["weights"].values()) == pytest.approx(1.0)
    assert set(first["weights"]) == {"ETH/USD", "LTC/USD", "XRP/USD"}
    assert "classical" in first["source"] and "300" in first["source"]
    reruns = [r["payload"] for r in audited if r["payload"]["action"] == "reoptimise"]
    assert [r["details"]["weights"] for r in reruns] == [c["weights"] for c in changes]
    assert system.weights == changes[-1]["weights"]
