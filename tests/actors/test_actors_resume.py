"""A paper session resumes after the last bar its account saw (issue 18, item 5).

Running the same session id again, or killing the market-data actor mid-run, trades
exactly the bars and orders of one uninterrupted run: none replayed, none lost.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from actors.system import PaperRequest, run_paper, start_system
from sigmax.config import Settings
from sigmax.trading.session import BarReport

# the default graph trades at bars 2, 6, 14 and 38: the stop at bar 30 and the kills at
# bars 10 and 35 each have a trade after them
START, BARS = 7_150, 50


@pytest.fixture(scope="module")
def uninterrupted(ray_cluster: Any, settings: Settings) -> list[tuple[Any, ...]]:
    """What one run of the bars, never interrupted, trades."""
    request = _request("whole")
    return _trading(_run(settings, request), request.session_id)


def _request(label: str) -> PaperRequest:
    return PaperRequest(start=START, bars=BARS, session_id=f"{label}-{uuid.uuid4().hex[:8]}")


def _run(settings: Settings, request: PaperRequest, **kwargs: Any) -> list[BarReport]:
    system = start_system(settings, request)
    try:
        return run_paper(system, request, **kwargs)
    finally:
        system.shutdown()


def _trading(reports: list[BarReport], session_id: str) -> list[tuple[Any, ...]]:
    """What was traded, bar by bar, with client ids less their session prefix."""
    rows = []
    for r in reports:
        order = r.order.client_order_id.removeprefix(session_id) if r.order else None
        fills = [(f.client_order_id.removeprefix(session_id), f.qty, f.price) for f in r.fills]
        rows.append((r.ts, r.decision.target_position, order, fills, r.equity))
    return rows


@pytest.mark.slow
def test_same_session_id_again_continues_after_its_last_bar(
    settings: Settings, uninterrupted: list[tuple[Any, ...]]
) -> None:
    request = _request("again")
    seen: list[BarReport] = []
    first = _run(
        settings, request, on_bar=lambda r, _: seen.append(r), should_stop=lambda: len(seen) >= 30
    )
    second = _run(settings, request)  # the same session id: resumes, no OrderConflictError

    assert len(first) == 30 and len(second) == BARS - 30
    assert second[0].ts > first[-1].ts
    assert _trading(first + second, request.session_id) == uninterrupted
    assert any(r.fills for r in second), "the resumed part traded nothing: a weak test"
    assert _run(settings, request) == []  # a finished session has no bar left


@pytest.mark.slow
def test_killed_market_data_actor_resumes_from_the_session_position(
    ray_cluster: Any, settings: Settings, uninterrupted: list[tuple[Any, ...]]
) -> None:
    request = _request("md-kill")
    system = start_system(settings, request)
    kills: list[int] = []

    def kill_market_data(report: BarReport, remaining: int | None) -> None:
        if len(kills) < 2 and remaining is not None and remaining in (40, 15):
            ray_cluster.kill(system.market_data, no_restart=False)
            kills.append(remaining)

    try:
        reports = run_paper(system, request, kill_market_data)
    finally:
        system.shutdown()
    assert kills == [40, 15]
    assert _trading(reports, request.session_id) == uninterrupted
