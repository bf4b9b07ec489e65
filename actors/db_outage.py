"""A PostgreSQL outage pauses a session instead of ending it.

The session's stateful actors (risk, execution, portfolio, market data) store what a
call changed before they answer; while PostgreSQL is away those calls raise
:class:`~sigmax.storage.postgres.DatabaseUnavailableError` (or, for a server that
stops answering without refusing, ``PoolTimeoutError``) and nothing of them was
stored. :class:`OutageGuard` wraps one step of :func:`~actors.system.run_paper`:

1. The risk actor pauses trading with cause ``database_unavailable`` (in memory: the
   database that would store it is the one missing) and a ``risk`` event says so.
2. It asks the risk actor's pool whether PostgreSQL answers again, waiting with
   exponential backoff (:class:`Backoff`, capped) for at most
   ``Settings.trading.database_outage_s``; past that the session ends with
   :class:`DatabaseOutageError`.
3. When it answers, the risk, execution and portfolio actors are restarted: each
   rebuilds from what PostgreSQL holds, exactly as after a crash, so whatever a call
   changed in memory during the outage without storing it is dropped and never
   acknowledged. The restarted risk actor does not hold the pause (it was never
   stored); one that was stored after all is lifted, and only that one: an operator's
   stop, a breaker or the kill switch stays. The outage is audited (control action
   ``database_outage``) now that it can be.
4. The whole step is run again, from the session's state before it.

Why the whole step and not each call: a step's calls depend on each other (the fills
booked decide the equity risk sees, which decides the order) and the session moves
its own state along (the target acted on is set before the order is sent). Retrying
one call could leave that state ahead of what was stored (a target counted as acted
on whose order never reached the venue: the order would be lost). Replaying the step
from its start is the path a restarted session already takes and its tests cover:
orders are named by their bar (``SID-SYMBOL-TS``) and a retried step finds an order
that was stored and leaves it (no second order); a bar's stored fills come back once
(the portfolio and risk take each fill id once); progress is acknowledged to the
market-data actor only after the step, and storing it again is harmless. Decision
events of a replayed step are published again (their stored rows are one per bar).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import ray

from actors.ports import RiskPort
from sigmax.errors import UnavailableError
from sigmax.events.model import TOPIC_OF_KIND, make_event, risk_state_data
from sigmax.model import BarSeries
from sigmax.risk.state import DATABASE_UNAVAILABLE
from sigmax.storage.postgres import DatabaseUnavailableError, PoolTimeoutError
from sigmax.trading.session import BarReport, TradingSession

if TYPE_CHECKING:
    from actors.system import TradingSystem
    from sigmax.events import EventPublisher

T = TypeVar("T")
DEFAULT_OUTAGE_S = 300.0


class DatabaseOutageError(UnavailableError):
    """PostgreSQL stayed away longer than the session waits for it; the session ends
    after the last step it stored (started again with its id, it continues there)."""


def database_error(exc: BaseException) -> DatabaseUnavailableError | PoolTimeoutError | None:
    """The :class:`DatabaseUnavailableError` behind ``exc`` (an actor's, as Ray raises
    it, or chained), else None. A :class:`PoolTimeoutError` counts too: a server that
    stops answering without refusing (a network partition) shows as connections that
    never open in time."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailableError | PoolTimeoutError):
            return current
        cause = getattr(current, "cause", None)  # a RayTaskError's original error
        if isinstance(cause, BaseException) and id(cause) not in seen:
            current = cause
            continue
        current = current.__cause__ or current.__context__
    return None


@dataclass(frozen=True)
class Backoff:
    """Waits between tries: ``first_s``, then ``factor`` times longer each, at most
    ``cap_s``."""

    first_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 15.0

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s or self.factor < 1:
            raise ValueError(
                f"backoff: need 0 < first_s <= cap_s and factor >= 1, got first_s="
                f"{self.first_s}, cap_s={self.cap_s}, factor={self.factor}"
            )

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * self.factor, self.cap_s)


@dataclass
class _SessionState:
    """What a step moves along in the session, to start the step again from."""

    acted: dict[str, float]
    marks: dict[str, Decimal]
    step_ns: dict[str, int]
    last_ts: int
    risk_state: str | None

    @classmethod
    def of(cls, session: TradingSession) -> _SessionState:
        return cls(
            dict(session.acted),
            dict(session.marks),
            dict(session.step_ns),
            session.last_ts,
            session.risk_state,
        )

    def restore(self, session: TradingSession) -> None:
        session.acted = dict(self.acted)
        session.marks = dict(self.marks)
        session.step_ns = dict(self.step_ns)
        session.last_ts = self.last_ts
        session.risk_state = self.risk_state


def trade_step(
    session: TradingSession, market: Any, step: Mapping[str, BarSeries]
) -> tuple[list[BarReport], int | None]:
    """One step through the session, then its progress stored by the market-data
    actor: the reports, and the steps left in a replay (None for a live feed). The
    calls the step sent the risk actor without waiting are waited for before the
    progress is stored: one whose save failed fails the step."""
    risk = session.risk
    try:
        done = session.on_step(step)
        if isinstance(risk, RiskPort):
            risk.settle()
    except Exception:
        if isinstance(risk, RiskPort):
            risk.forget()
        raise
    remaining: int | None = ray.get(market.ack.remote(session.progress()))
    return done, remaining


@dataclass
class OutageGuard:
    """Runs a session's steps through PostgreSQL outages of up to ``limit_s`` seconds
    (see the module's docstring)."""

    system: TradingSystem
    session: TradingSession
    session_id: str
    publisher: EventPublisher | None = None
    limit_s: float = DEFAULT_OUTAGE_S
    backoff: Backoff = field(default_factory=Backoff)
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    outages: int = 0  # outages survived

    def __post_init__(self) -> None:
        if not self.limit_s > 0:
            raise ValueError(f"database outage limit: must be > 0 s, got {self.limit_s}")

    def trade(
        self, market: Any, step: Mapping[str, BarSeries]
    ) -> tuple[list[BarReport], int | None]:
        """:func:`trade_step` through outages: the reports and the steps left."""
        return self.run(lambda: trade_step(self.session, market, step))

    def run(self, step: Callable[[], T]) -> T:
        """``step()``, run again from the session's state before it after each outage
        until it goes through; :class:`DatabaseOutageError` once the outage has lasted
        ``limit_s``. Any other error is raised as it is."""
        before = _SessionState.of(self.session)
        started: float | None = None
        since = datetime.now(UTC)
        while True:
            try:
                result = step()
            except Exception as exc:
                error = database_error(exc)
                if error is None:
                    raise
                before.restore(self.session)
                if started is None:
                    started, since = self.clock(), datetime.now(UTC)
                self._wait_for_database(started, since, error)
                continue
            if started is not None:
                self.outages += 1
            return result

    def _wait_for_database(
        self, started: float, since: datetime, error: DatabaseUnavailableError | PoolTimeoutError
    ) -> None:
        """Pause, wait for PostgreSQL with backoff, restart the stateful actors and lift
        the pause; raises :class:`DatabaseOutageError` past the limit."""
        risk = self.system.risk
        last = f"{type(error).__name__}: {error}"
        reason = f"database unavailable since {since.isoformat(timespec='seconds')}: {last}"
        self._publish(ray.get(risk.database_unavailable.remote(reason[:500])))
        for delay in self.backoff.delays():
            left = started + self.limit_s - self.clock()
            if left <= 0:
                raise DatabaseOutageError(
                    f"session {self.session_id}: PostgreSQL unavailable for "
                    f"{self.clock() - started:.0f}s since {since.isoformat(timespec='seconds')}, "
                    f"longer than trading.database_outage_s={self.limit_s:g}s "
                    "(SIGMAX_TRADING__DATABASE_OUTAGE_S); last error: "
                    f"{last}. Nothing unstored was acknowledged; start the session again "
                    "with the same session id to continue after its last stored bar"
                )
            self.sleep(min(delay, left))
            why = ray.get(risk.database_reachable.remote())
            if why is not None:
                last = why
                continue
            try:
                status = self._rebuild(since)
            except Exception as exc:
                again = database_error(exc)
                if again is None:
                    raise
                last = f"{type(again).__name__}: {again}"
                continue
            self._publish(status)
            return

    def _rebuild(self, since: datetime) -> dict[str, Any]:
        """Restart the risk, execution and portfolio actors (each rebuilds from what
        PostgreSQL holds), lift a stored outage pause and audit the outage."""
        system = self.system
        stateful = [system.risk, system.execution, system.portfolio]
        for handle in stateful:
            ray.kill(handle, no_restart=False)
        # the first call to each rebuilds it from PostgreSQL (retried until it is back)
        ray.get(
            [
                system.risk.status.remote(),
                system.execution.activity.remote(),
                system.portfolio.positions.remote(),
            ]
        )
        status: dict[str, Any] = ray.get(system.risk.database_back.remote())
        until = datetime.now(UTC)
        details = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "seconds": round((until - since).total_seconds(), 3),
            "cause": DATABASE_UNAVAILABLE,
        }
        ray.get(system.risk.record_control.remote("database_outage", "session", details))
        return status

    def _publish(self, status: Mapping[str, Any]) -> None:
        """A ``risk`` event when the state changed from what the session last saw."""
        state, reason = str(status["state"]), str(status.get("reason") or "")
        previous = self.session.risk_state
        if self.publisher is not None and previous is not None and state != previous:
            data = risk_state_data(state, reason, previous, datetime.now(UTC))
            self.publisher.publish(make_event(TOPIC_OF_KIND["risk"], self.session_id, data))
        self.session.risk_state = state
