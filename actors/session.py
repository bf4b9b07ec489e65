"""A session's per-bar loop as a detached, named, restartable Ray actor.

The actor builds the session's actors (:func:`~actors.system.start_system`) and runs
:func:`~actors.system.run_paper` in a thread of its own, so it keeps trading when the
driver that started it exits. Killed, Ray restarts it (``max_restarts``): it builds
the session again, and the session continues after the last bar its account stored
in PostgreSQL; orders are named by their bar, so none is sent twice. Callers follow
it by polling :meth:`SessionActor.status` and :meth:`SessionActor.reports`, and end
it with :meth:`SessionActor.stop`.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime
from typing import Any

import ray

from actors import options
from actors.options import spawn
from actors.system import (
    PaperRequest,
    TradingSystem,
    postgres_for_actors,
    run_paper,
    start_system,
)
from sigmax.config import Settings
from sigmax.model import BarSeries
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.trading.session import BarReport

RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped", "failed"
DONE = (FINISHED, STOPPED, FAILED)
STOP_WAIT_S = 120.0  # a live feed may be waiting for its next bar to close
CLOSE_WAIT_S = STOP_WAIT_S + 60.0
# A follower polls every fraction of a second; a long-running session keeps only its
# recent reports in memory (what it traded is in PostgreSQL).
REPORTS_KEPT = 50_000


@ray.remote
class SessionActor:
    """Runs one paper session's loop until its bars run out or it is asked to stop."""

    def __init__(self, settings: Settings, request: PaperRequest) -> None:
        self.request = request
        self.system: TradingSystem | None = None
        self.state = "starting"
        self.error: str | None = None
        self.remaining: int | None = None
        self.bars = 0
        self._reports: deque[BarReport] = deque(maxlen=REPORTS_KEPT)
        self._reports_lock = threading.Lock()  # the loop thread appends; calls read
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self._loop.start()

    def _run(self, settings: Settings) -> None:
        try:
            self.system = start_system(settings, self.request)
            self.state = RUNNING
            run_paper(self.system, self.request, self._on_bar, should_stop=self._stop.is_set)
            self.state = STOPPED if self._stop.is_set() else FINISHED
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = FAILED

    def _on_bar(self, report: BarReport, remaining: int | None) -> None:
        with self._reports_lock:
            self._reports.append(report)
        self.bars += 1
        self.remaining = remaining

    def status(self) -> dict[str, Any]:
        """Where the session stands (bars counted since this actor last (re)started)."""
        with self._reports_lock:
            last = self._reports[-1] if self._reports else None
        return {
            "session_id": self.request.session_id,
            "state": self.state,
            "bars": self.bars,
            "remaining": self.remaining,
            "last_bar": last.ts.isoformat() if last else None,
            "equity": last.equity if last else None,
            "weights": dict(self.system.weights) if self.system is not None else {},
            "weights_source": self.system.weights_source if self.system is not None else None,
            # kind, testnet, live, dry_run and the start's reconciliation (ccxt venues)
            "venue": self.system.venue if self.system is not None else None,
            "error": self.error,
        }

    def reports(self, after: datetime | None = None) -> list[BarReport]:
        """The kept reports of the bars after ``after`` (all kept without it): a follower
        asks for the ones after the last it has, also across a restart of this actor."""
        with self._reports_lock:
            kept = list(self._reports)
        return [r for r in kept if after is None or r.ts > after]

    def histories(self) -> dict[str, BarSeries]:
        """Every symbol's bars the session has seen, up to the last step it traded."""
        if self.system is None:
            return {}
        seen: dict[str, BarSeries] = ray.get(self.system.market_data.histories.remote())
        return seen

    def stop(self) -> dict[str, Any]:
        """Stop after the bar in progress; the state stays persisted for a resume."""
        self._stop.set()
        self._loop.join(timeout=STOP_WAIT_S)
        return self.status()

    def close(self) -> dict[str, Any]:
        """Stop the loop and the session's actors (the session actor itself stays)."""
        final = self.stop()
        if self.system is not None:
            self.system.shutdown()
        return final


def start_session(settings: Settings, request: PaperRequest) -> Any:
    """Start (or find, by name ``session:<id>``) the detached actor of ``request``'s
    session; returns its handle. A persisted session's actors share the PostgreSQL the
    driver resolves here (the embedded server is started by the driver)."""
    if request.persist:
        postgres = PostgresConfig.model_validate_json(postgres_for_actors(settings))
        settings = settings.model_copy(update={"postgres": postgres})
    return spawn(
        SessionActor, options.SESSION, request.session_id, settings, request, detached=True
    )


def session_ids() -> list[str]:
    """The ids of the sessions whose actors run on the connected cluster."""
    prefix = f"{options.SESSION.name}:"
    return sorted(
        entry["name"].removeprefix(prefix)
        for entry in ray.util.list_named_actors(all_namespaces=True)
        if entry["namespace"] == options.NAMESPACE and entry["name"].startswith(prefix)
    )


def end_session(session: Any) -> dict[str, Any]:
    """Stop the session's loop and actors, then its own actor (for good: no restart);
    what it traded stays in PostgreSQL. Returns its last status."""
    try:
        final: dict[str, Any] = ray.get(session.close.remote(), timeout=CLOSE_WAIT_S)
    finally:
        ray.kill(session, no_restart=True)
    return final
