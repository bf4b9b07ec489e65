"""Read-only routes for the web dashboard: who the calling key is, and the served
session's equity curve with its drawdown and today's P&L. The numbers come from the
session's actors (risk engine's equity monitor, time-series store); none is computed
from trading rules here."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
import structlog
from fastapi import APIRouter, Query

from serve_app._private.backend import Backend, Session
from serve_app._private.deps import BackendDep, ReadKey
from serve_app.schema import EquityOut, EquityPointOut, KeyInfoOut
from sigmax.backtest.metrics import drawdown_series

router = APIRouter()
log = structlog.get_logger(__name__)


@router.get("/dashboard/me", response_model=KeyInfoOut, tags=["dashboard"])
async def me(principal: ReadKey) -> KeyInfoOut:
    """The calling key's id, name and scopes (the secret is never returned)."""
    return KeyInfoOut(
        key_id=principal.key_id,
        name=principal.name,
        scopes=sorted(principal.scopes),
        may_trade=principal.allows("trade"),
        may_admin=principal.allows("admin"),
    )


@router.get("/dashboard/equity", response_model=EquityOut, tags=["dashboard"])
async def equity(
    backend: BackendDep,
    _: ReadKey,
    limit: Annotated[int, Query(ge=2, le=20_000, description="most points, newest kept")] = 2000,
) -> EquityOut:
    """The equity curve the session stored (time-series store, written in batches) plus
    the risk engine's latest mark at the last bar; peak, drawdown and today's P&L from
    the risk engine's equity monitor."""
    session = await backend.session()
    monitor, histories, stored = await asyncio.gather(
        _equity_monitor(backend, session),
        backend.histories(session),
        _stored_curve(backend),
    )
    ts_ns, values = stored
    figures = _monitor_fields(monitor)
    points = _points(ts_ns, values)
    last_bar_ns = max(int(h.ts[-1]) for h in histories.values())
    if figures["last"] is not None and (not ts_ns or last_bar_ns > ts_ns[-1]):
        # The mark of the last bar, not yet in the store; its drawdown is the monitor's
        # (the monitor saw the whole session, the stored batches may not cover it yet).
        points.append(_point(last_bar_ns, figures["last"], figures["drawdown"] or 0.0))
    return EquityOut(account=backend.account, points=points[-limit:], **figures)


async def _equity_monitor(backend: Backend, session: Session) -> dict[str, Any]:
    snapshot: dict[str, Any] = await backend.call(session.risk, "snapshot")
    monitor: dict[str, Any] = snapshot.get("equity") or {}
    return monitor


async def _stored_curve(backend: Backend) -> tuple[list[int], list[float]]:
    """(ts_ns, equity) of the account's curve in the time-series store; empty when the
    session does not persist (no store actor), has not flushed a batch yet, or the
    store fails (logged: the live mark still answers)."""
    from ray.exceptions import RayError

    store = await asyncio.to_thread(_timeseries_store)
    if store is None:
        return [], []
    limit = backend.config.actor_timeout_s
    try:
        frame = await asyncio.wait_for(_awaited(store.load_equity.remote(backend.account)), limit)
    except (RayError, TimeoutError) as exc:
        log.warning("equity curve unavailable", error=f"{type(exc).__name__}: {exc}"[:500])
        return [], []
    return [int(t) for t in frame["ts_ns"]], [float(e) for e in frame["equity"]]


async def _awaited(ref: Any) -> Any:
    return await ref


def _timeseries_store() -> Any:
    import ray

    from actors import options

    try:
        return ray.get_actor(options.TIMESERIES_STORE.name, namespace=options.NAMESPACE)
    except ValueError:
        return None


def _point(ts_ns: int, equity: float, drawdown: float) -> EquityPointOut:
    when = datetime.fromtimestamp(ts_ns / 1e9, UTC)
    return EquityPointOut(ts=when, equity=equity, drawdown=drawdown)


def _points(ts_ns: list[int], values: list[float]) -> list[EquityPointOut]:
    if not values:
        return []
    drawdown = drawdown_series(np.asarray(values, dtype=float))
    return [_point(t, v, float(d)) for t, v, d in zip(ts_ns, values, drawdown, strict=True)]


def _monitor_fields(monitor: dict[str, Any]) -> dict[str, float | None]:
    peak, last, day_start = (
        monitor.get("peak"),
        monitor.get("last"),
        monitor.get("day_start_equity"),
    )
    return {
        "peak": peak,
        "last": last,
        "drawdown": last / peak - 1.0 if peak and last is not None else None,
        "day_start_equity": day_start,
        "pnl_today": last - day_start if last is not None and day_start is not None else None,
    }
