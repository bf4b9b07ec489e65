"""The risk engine as a Ray actor: the single writer of limits and trading state.

With a PostgreSQL config (a PostgresConfig as JSON), each call that changes the
engine stores its snapshot and the audit records it produced in one transaction
before answering; a restarted actor restores the snapshot (a paused or killed
system stays so) and continues the stored audit chain. Decisions it is shown go
to the decisions table too (one per account, symbol and bar).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import ray
import structlog

from actors.persistence import actor_pool
from actors.session_metrics import record_verdicts
from sigmax.model import Decision, Fill, OrderRequest, RiskVerdict
from sigmax.risk import RiskConfig, RiskContext, RiskEngine
from sigmax.risk.audit import AuditTrail
from sigmax.risk.audit_sinks import InMemoryAuditSink
from sigmax.storage.repos.books import DecisionRepository
from sigmax.storage.repos.runtime import RiskStateRepository
from sigmax.tracing import traced_actor

STALE_CHECK_S = 10.0  # how often the stale-data trigger is checked without any call
log = structlog.get_logger(__name__)


@ray.remote
@traced_actor
class RiskActor:
    """Every order of the system passes ``check`` here; pause/kill state lives here."""

    def __init__(
        self,
        config_json: str,
        account: str,
        postgres: str | None = None,
        stale_check_s: float = STALE_CHECK_S,
    ) -> None:
        self.config = RiskConfig.model_validate_json(config_json)
        self.stale_check_s = stale_check_s
        self.account = account
        self.postgres = postgres
        self._engine: RiskEngine | None = None
        self._repo: RiskStateRepository | None = None
        self._persisted = 0
        self._save_lock = asyncio.Lock()  # the staleness watch saves between calls
        self._watch: asyncio.Task[None] | None = None

    async def _ready(self) -> RiskEngine:
        if self._engine is not None:
            return self._engine
        if self._watch is None:
            self._watch = asyncio.get_running_loop().create_task(self._watch_staleness())
        if self.postgres is None:
            self._engine = RiskEngine(self.config)
            return self._engine
        self._repo = RiskStateRepository(await actor_pool(self.postgres))
        snapshot, records = await self._repo.load(self.account)
        sink = InMemoryAuditSink()
        for record in records:
            sink.write(record)
        engine = RiskEngine(self.config, AuditTrail(sink))
        self._persisted = len(records)
        if snapshot is not None:
            engine.restore(snapshot)
            engine.restart_data_clock()
        self._engine = engine
        await self._save()
        return engine

    async def _save(self) -> None:
        engine = self._engine
        if self._repo is None or engine is None:
            return
        async with self._save_lock:
            new = engine.audit.records()[self._persisted :]
            await self._repo.save(self.account, engine.snapshot(), new)
            self._persisted += len(new)

    async def _watch_staleness(self) -> None:
        """Trip the stale-data trigger also when no bar (and so no call) arrives."""
        while True:
            await asyncio.sleep(self.stale_check_s)
            engine = self._engine
            try:
                if engine is not None and engine.check_staleness():
                    await self._save()
            except Exception as exc:  # keep watching; the next call saves again
                log.warning("stale-data check failed", error=f"{type(exc).__name__}: {exc}")

    async def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict:
        engine = await self._ready()
        verdict = engine.check(order, ctx)
        await self._save()
        record_verdicts(engine.verdict_counts())
        return verdict

    async def on_equity(self, ts_ns: int, equity: float) -> None:
        (await self._ready()).on_equity(ts_ns, equity)
        await self._save()

    async def on_fill(self, fill: Fill) -> bool:
        """False for a fill id seen before (a replayed bar): nothing changes then."""
        new = (await self._ready()).on_fill(fill)
        if new:
            await self._save()
        return new

    async def on_venue_error(self, ts: datetime, error: str) -> None:
        """An exchange-side error; enough in 60 s pause trading (venue_errors)."""
        (await self._ready()).on_venue_error(ts, error)
        await self._save()

    async def on_market_data(self, received: datetime, bar_ts_ns: int, interval_ns: int) -> None:
        """A bar arrived (stored with the next snapshot: on_equity follows every bar)."""
        (await self._ready()).on_market_data(received, bar_ts_ns, interval_ns)

    async def emergency_check(
        self, order: OrderRequest, ctx: RiskContext, operator: str
    ) -> RiskVerdict:
        """The emergency path of a panic: reduce-only orders that shrink pass in any state."""
        verdict = (await self._ready()).emergency_check(order, ctx, operator)
        await self._save()
        return verdict

    async def record_control(self, action: str, operator: str, details: dict[str, Any]) -> None:
        """Audit an operator's control action (start, pause, stop, panic)."""
        (await self._ready()).record_control(action, operator, details)
        await self._save()

    async def record_decision(self, decision: Decision) -> None:
        """Audit the decision and store it (every agent signal) in the decisions table."""
        (await self._ready()).record_decision(decision)
        await self._save()
        if self._repo is not None:
            await DecisionRepository(self._repo.pool).insert(decision, self.account)

    async def record_decisions(self, decisions: list[Decision]) -> None:
        """Every decision of one step (one per symbol) in one call, in order."""
        for decision in decisions:
            await self.record_decision(decision)

    async def pause(self, reason: str, operator: str = "operator", cause: str = "manual") -> str:
        (await self._ready()).pause(reason, operator=operator, cause=cause)
        await self._save()
        return await self.state()

    async def resume(self, operator: str, force: bool = False) -> str:
        (await self._ready()).resume(operator, force=force)
        await self._save()
        return await self.state()

    async def kill(self, reason: str, operator: str = "operator") -> str:
        (await self._ready()).kill(reason, operator=operator)
        await self._save()
        return await self.state()

    async def release_kill(self, operator: str) -> str:
        """Release the kill switch; the system stays paused until an operator resumes."""
        (await self._ready()).release_kill(operator)
        await self._save()
        return await self.state()

    async def update_limits(self, changes: dict[str, Any], operator: str = "operator") -> str:
        config = (await self._ready()).update_limits(operator=operator, **changes)
        await self._save()
        return config.model_dump_json()

    async def database_unavailable(self, reason: str) -> dict[str, Any]:
        """Pause trading because the database is away (cause ``database_unavailable``),
        in memory only: the database that would store it is the one missing. A system
        already paused or killed keeps its own cause. Returns :meth:`status`."""
        (await self._ready()).database_unavailable(reason)
        return await self.status()

    async def database_back(self) -> dict[str, Any]:
        """Lift the ``database_unavailable`` pause, if it is the one holding (stored);
        an operator's pause, a breaker or the kill switch stays. Returns :meth:`status`."""
        if (await self._ready()).database_back():
            await self._save()
        return await self.status()

    async def database_reachable(self) -> str | None:
        """None when this actor's PostgreSQL answers a query now, else why not (no
        PostgreSQL configured: None)."""
        if self.postgres is None:
            return None
        try:
            health = await (await actor_pool(self.postgres)).health()
        except Exception as exc:  # the pool could not even open: the server is away
            return f"{type(exc).__name__}: {exc}"
        return None if health["reachable"] else str(health["error"])

    async def state(self) -> str:
        return str((await self._ready()).state.value)

    async def status(self) -> dict[str, Any]:
        engine = await self._ready()
        return {
            "state": str(engine.state.value),
            "reason": engine.state_reason,
            "cause": engine.pause_cause,
            "triggers": engine.triggers_status(),
        }

    async def verdict_counts(self) -> dict[str, Any]:
        return (await self._ready()).verdict_counts()

    async def snapshot(self) -> dict[str, Any]:
        return (await self._ready()).snapshot()

    async def audit_records(self, *kinds: str) -> list[dict[str, Any]]:
        """The audit records of these kinds (every record when none is named), in order."""
        return [
            {"seq": r.seq, "ts": r.ts, "kind": r.kind, "payload": r.payload, "hash": r.hash}
            for r in (await self._ready()).audit.records()
            if not kinds or r.kind in kinds
        ]
