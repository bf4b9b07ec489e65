"""Reads for the dashboard: the served session's bars per symbol and a finished
backtest's bars (read scope), and for
operators (admin scope) the hash-chained audit log with its chain verified and the rate
limiter's use per caller and endpoint class.

The audit log is read from PostgreSQL (``sigmax.storage.repos.audit``); verifying is the
library's ``verify_chain`` over the whole stream, so a page is shown with the verdict of
the chain it belongs to. Rate-limit use is what this API replica counted: with several
replicas each reports its own share (the limit itself is enforced across them in Redis).
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from serve_app._private.deps import AdminKey, BackendDep, ReadKey
from serve_app._private.routes_jobs import JobId, _job_part
from serve_app.exceptions import NotFound
from sigmax.model import BarSeries
from sigmax.risk.audit import AuditIntegrityError, verify_chain
from sigmax.storage.repos.audit import AuditRepository

router = APIRouter(tags=["operator"])

Stream = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        description="the stream to read; default: the served session's account",
    ),
]


class AuditStreamOut(BaseModel):
    stream: str
    records: int


class AuditRecordOut(BaseModel):
    seq: int
    ts: str
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    stream: str
    total: int = Field(description="records in the stream")
    matched: int = Field(description="records matching the search")
    offset: int
    verified: bool = Field(description="the whole stream's chain re-hashed and linked")
    verify_error: str | None = Field(None, description="the first broken record, when not")
    head_hash: str | None = Field(None, description="the last record's hash")
    records: list[AuditRecordOut] = Field(description="newest first")


class BarOut(BaseModel):
    ts: int = Field(description="bar open time, ms since the epoch (UTC)")
    open: float
    high: float
    low: float
    close: float
    volume: float


class BarsOut(BaseModel):
    symbol: str
    timeframe: str
    bars: list[BarOut] = Field(description="oldest first")


class WeightsChangeOut(BaseModel):
    seq: int = Field(description="the audit record's sequence number")
    ts: str = Field(description="when the session set them (UTC)")
    weights: dict[str, float]
    previous: dict[str, float]
    source: str | None


class RateUseOut(BaseModel):
    who: str = Field(description="key:ID, or ip:ADDRESS for callers without a valid key")
    key_id: int | None
    endpoint_class: str
    used: int = Field(description="requests counted in the current window")
    limit: int
    window_s: float
    refused: int = Field(description="429 answers since this replica started")


@router.get("/bars", response_model=BarsOut, tags=["trading"])
async def bars(
    backend: BackendDep,
    _: ReadKey,
    symbol: Annotated[str, Query(min_length=1, max_length=32, examples=["ETH/USD"])],
    limit: Annotated[int, Query(ge=1, le=2000, description="the newest bars")] = 200,
) -> BarsOut:
    """The served session's bars of ``symbol`` handed out so far (the replay is not
    advanced); 404 for a symbol the session does not trade."""
    histories = await backend.histories(await backend.session())
    series = histories.get(symbol.replace("-", "/"))
    if series is None:
        raise NotFound(f"the session trades {', '.join(histories)}, not {symbol!r}")
    return _bars_out(series[-limit:])


@router.get("/backtests/{job_id}/bars", response_model=BarsOut, tags=["jobs"])
async def backtest_bars(
    backend: BackendDep,
    _: ReadKey,
    job_id: JobId,
    symbol: Annotated[
        str | None, Query(max_length=32, description="a portfolio's leg; default: the first")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=2000, description="the last bars it traded")] = 300,
) -> BarsOut:
    """The bars a finished backtest traded (its data, reloaded), so its fills and
    decisions can be drawn on them; 404 for a symbol it did not trade."""
    document: dict[str, Any] = await _job_part(backend, job_id, "document")
    meta = document["meta"]
    legs = meta.get("legs") or [{"data": meta["data"], "symbol": meta["symbol"]}]
    wanted = symbol.replace("-", "/") if symbol else legs[0]["symbol"]
    leg = next((x for x in legs if x["symbol"] == wanted), None)
    if leg is None:
        traded = ", ".join(x["symbol"] for x in legs)
        raise NotFound(f"backtest {job_id} traded {traded}, not {symbol!r}")
    series = await backend.in_thread(_load, leg["data"], wanted, meta)
    return _bars_out(series[-limit:])


def _load(data: str, symbol: str, meta: dict[str, Any]) -> BarSeries:
    from sigmax.data import load_bars

    bars = load_bars(data, symbol, meta["timeframe"])
    first, last = (_ns(meta["first_bar"]), _ns(meta["last_bar"]))
    keep = (bars.ts >= first) & (bars.ts <= last)
    start = int(keep.argmax()) if keep.any() else 0
    return bars[start : start + int(keep.sum())]


def _ns(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp()) * 1_000_000_000


def _bars_out(tail: BarSeries) -> BarsOut:
    rows = zip(
        (tail.ts // 1_000_000).tolist(),
        tail.open.tolist(),
        tail.high.tolist(),
        tail.low.tolist(),
        tail.close.tolist(),
        tail.volume.tolist(),
        strict=True,
    )
    return BarsOut(
        symbol=tail.symbol,
        timeframe=tail.timeframe,
        bars=[
            BarOut(ts=t, open=o, high=h, low=lo, close=c, volume=v) for t, o, h, lo, c, v in rows
        ],
    )


@router.get("/weights/changes", response_model=list[WeightsChangeOut], tags=["trading"])
async def weights_changes(
    backend: BackendDep,
    _: ReadKey,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[WeightsChangeOut]:
    """The served account's symbol weights as the optimiser reran them during the session
    (audited as control ``reoptimise``), newest first; empty while they are the start's."""
    found = await AuditRepository(await backend.pool()).latest(
        backend.account, "control", "reoptimise", limit
    )
    out = []
    for r in found:
        details = r.payload.get("details", {})
        out.append(
            WeightsChangeOut(
                seq=r.seq,
                ts=r.ts,
                weights=details.get("weights", {}),
                previous=details.get("previous", {}),
                source=details.get("source"),
            )
        )
    return out


@router.get("/audit/streams", response_model=list[AuditStreamOut])
async def audit_streams(backend: BackendDep, _: AdminKey) -> list[AuditStreamOut]:
    """Every audit stream (an account's risk chain, ``credentials``...) and its size."""
    found = await AuditRepository(await backend.pool()).streams()
    return [AuditStreamOut(stream=s, records=n) for s, n in found.items()]


@router.get("/audit", response_model=AuditPageOut)
async def audit_page(
    backend: BackendDep,
    _: AdminKey,
    stream: Stream = None,
    q: Annotated[
        str | None, Query(max_length=200, description="text in the kind or the payload")
    ] = None,
    offset: Annotated[int, Query(ge=0, description="matching records to skip, newest first")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPageOut:
    """One page of an audit stream, newest first, with the whole chain verified."""
    name = stream or backend.account
    records = await AuditRepository(await backend.pool()).records(name)
    if not records and stream is not None:
        raise NotFound(f"audit stream {stream!r} has no records")
    error = None
    try:
        verify_chain(records)
    except AuditIntegrityError as exc:
        error = str(exc)
    needle = (q or "").lower()
    matching = [
        r
        for r in reversed(records)
        if not needle or needle in r.kind.lower() or needle in json.dumps(r.payload).lower()
    ]
    page = matching[offset : offset + limit]
    return AuditPageOut(
        stream=name,
        total=len(records),
        matched=len(matching),
        offset=offset,
        verified=error is None,
        verify_error=error,
        head_hash=records[-1].hash if records else None,
        records=[
            AuditRecordOut(
                seq=r.seq,
                ts=r.ts,
                kind=r.kind,
                payload=dict(r.payload),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in page
        ],
    )


@router.get("/ratelimits", response_model=list[RateUseOut])
async def rate_limits(backend: BackendDep, _: AdminKey) -> list[RateUseOut]:
    """Per caller and endpoint class: requests in the current window, the limit, 429s."""
    out = []
    for u in backend.limiter.usage():
        key_id = int(u.who[4:]) if u.who.startswith("key:") and u.who[4:].isdigit() else None
        out.append(
            RateUseOut(
                who=u.who,
                key_id=key_id,
                endpoint_class=u.endpoint_class,
                used=u.used,
                limit=u.limit,
                window_s=u.window_s,
                refused=u.refused,
            )
        )
    return out
