"""Orders with their event history, and fills (idempotent, with two bulk paths)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sigmax.execution.errors import OrderConflictError
from sigmax.execution.orders import OrderEvent
from sigmax.model import (
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from sigmax.storage.postgres import Connection
from sigmax.storage.repos._base import Repository

_ORDER_COLS = (
    "account, client_order_id, run_id, symbol, side, type, qty, limit_price, stop_price, tif,"
    " reduce_only, status, filled_qty, avg_fill_price, fees, venue_order_id, reason,"
    " created_ts, updated_ts"
)
_ORDER_VALUES = ", ".join(f"${i}" for i in range(1, 20))
_OPEN = ("new", "accepted", "partially_filled")

# SQL from module constants only (column lists); values are $n parameters.
_INSERT_NEW = f"""
INSERT INTO orders ({_ORDER_COLS}) VALUES ({_ORDER_VALUES})
ON CONFLICT (account, client_order_id) DO NOTHING
RETURNING *
"""  # nosec B608

# A replayed older snapshot must not move an order back: update only when not older,
# and only when the request part is the same order (else it is an id conflict).
# SQL from module constants only (column lists); values are $n parameters.
_UPSERT = f"""
INSERT INTO orders ({_ORDER_COLS}) VALUES ({_ORDER_VALUES})
ON CONFLICT (account, client_order_id) DO UPDATE SET
    status = EXCLUDED.status,
    filled_qty = EXCLUDED.filled_qty,
    avg_fill_price = EXCLUDED.avg_fill_price,
    fees = EXCLUDED.fees,
    venue_order_id = COALESCE(EXCLUDED.venue_order_id, orders.venue_order_id),
    reason = EXCLUDED.reason,
    updated_ts = EXCLUDED.updated_ts
WHERE orders.updated_ts <= EXCLUDED.updated_ts
  AND (orders.symbol, orders.side, orders.type, orders.qty, orders.tif, orders.reduce_only)
      = (EXCLUDED.symbol, EXCLUDED.side, EXCLUDED.type, EXCLUDED.qty, EXCLUDED.tif,
         EXCLUDED.reduce_only)
  AND orders.limit_price IS NOT DISTINCT FROM EXCLUDED.limit_price
  AND orders.stop_price IS NOT DISTINCT FROM EXCLUDED.stop_price
RETURNING client_order_id
"""  # nosec B608

_INSERT_EVENT = """
INSERT INTO order_events
    (account, client_order_id, from_status, to_status, ts, filled_qty, reason, fill_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (account, client_order_id, to_status, filled_qty) DO NOTHING
"""

_FILL_COLS = (
    "account",
    "fill_id",
    "client_order_id",
    "run_id",
    "symbol",
    "side",
    "qty",
    "price",
    "fee",
    "ts",
    "liquidity",
    "reference_price",
    "expected_price",
)
# SQL from module constants only (column lists); values are $n parameters.
_INSERT_FILL = f"""
INSERT INTO fills ({", ".join(_FILL_COLS)})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (account, fill_id) DO NOTHING
"""  # nosec B608
# Spelled out (not joined from _FILL_COLS) so the statement is one constant string.
_COPY_FROM_STAGE = (
    "INSERT INTO fills (account, fill_id, client_order_id, run_id, symbol, side, qty,"
    " price, fee, ts, liquidity, reference_price, expected_price)"
    " SELECT account, fill_id, client_order_id, run_id, symbol, side, qty,"
    " price, fee, ts, liquidity, reference_price, expected_price"
    " FROM sigmax_fill_stage ON CONFLICT (account, fill_id) DO NOTHING"
)


def order_args(order: Order, account: str, run_id: str | None) -> tuple[Any, ...]:
    r = order.request
    return (
        account,
        r.client_order_id,
        run_id,
        r.symbol,
        r.side.value,
        r.type.value,
        r.qty,
        r.limit_price,
        r.stop_price,
        r.tif.value,
        r.reduce_only,
        order.status.value,
        order.filled_qty,
        order.avg_fill_price,
        order.fees,
        order.venue_order_id,
        order.reason,
        order.created_ts,
        order.updated_ts,
    )


def event_args(event: OrderEvent, account: str) -> tuple[Any, ...]:
    return (
        account,
        event.client_order_id,
        event.from_status.value if event.from_status is not None else None,
        event.to_status.value,
        event.ts,
        event.filled_qty,
        event.reason,
        event.fill_id,
    )


def fill_args(fill: Fill, account: str, run_id: str | None) -> tuple[Any, ...]:
    return (
        account,
        fill.fill_id,
        fill.client_order_id,
        run_id,
        fill.symbol,
        fill.side.value,
        fill.qty,
        fill.price,
        fill.fee,
        fill.ts,
        fill.liquidity.value,
        fill.reference_price,
        fill.expected_price,
    )


def order_from_row(row: Any) -> Order:
    request = OrderRequest(
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        qty=row["qty"],
        type=OrderType(row["type"]),
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
        tif=TimeInForce(row["tif"]),
        reduce_only=row["reduce_only"],
    )
    return Order(
        request=request,
        status=OrderStatus(row["status"]),
        created_ts=row["created_ts"],
        updated_ts=row["updated_ts"],
        filled_qty=row["filled_qty"],
        avg_fill_price=row["avg_fill_price"],
        fees=row["fees"],
        venue_order_id=row["venue_order_id"],
        reason=row["reason"],
    )


def fill_from_row(row: Any) -> Fill:
    return Fill(
        fill_id=row["fill_id"],
        client_order_id=row["client_order_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        qty=row["qty"],
        price=row["price"],
        fee=row["fee"],
        ts=row["ts"],
        liquidity=Liquidity(row["liquidity"]),
        reference_price=row["reference_price"],
        expected_price=row["expected_price"],
    )


class OrderRepository(Repository):
    """Orders (one row per account + client_order_id) and their state changes."""

    async def insert_new(
        self,
        order: Order,
        account: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> tuple[Order, bool]:
        """Insert an order and its creation event unless the id exists.

        Returns ``(stored order, created)``. The same client_order_id twice is one row
        (the database's unique key decides, so concurrent submitters agree); the same
        id for a different request raises :class:`OrderConflictError`.
        """
        async with self._tx(conn) as c:
            row = await c.fetchrow(_INSERT_NEW, *order_args(order, account, run_id))
            if row is not None:
                created = OrderEvent(
                    order.client_order_id,
                    None,
                    order.status,
                    order.created_ts,
                    order.filled_qty,
                )
                await c.execute(_INSERT_EVENT, *event_args(created, account))
                return order_from_row(row), True
            existing = await self.get(account, order.client_order_id, conn=c)
            if existing is None:  # deleted between the two statements
                raise OrderConflictError(f"order {order.client_order_id}: vanished on insert")
            if existing.request != order.request:
                raise OrderConflictError(
                    f"order {order.client_order_id} (account {account}): client_order_id "
                    f"already used for a different order (stored {existing.request}, "
                    f"new {order.request})"
                )
            return existing, False

    async def save(
        self,
        order: Order,
        events: Sequence[OrderEvent] = (),
        account: str = "paper",
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Upsert the order's current state and append its events, in one transaction.

        Events already stored are skipped, so re-saving after a retry is harmless.
        """
        for event in events:
            if event.client_order_id != order.client_order_id:
                raise ValueError(
                    f"order {order.client_order_id}: event of order {event.client_order_id}"
                )
        async with self._tx(conn) as c:
            done = await c.fetchval(_UPSERT, *order_args(order, account, run_id))
            if done is None:
                await self._explain_refused(c, order, account)
            if events:
                await c.executemany(_INSERT_EVENT, [event_args(e, account) for e in events])

    async def _explain_refused(self, c: Connection, order: Order, account: str) -> None:
        stored = await self.get(account, order.client_order_id, conn=c)
        if stored is not None and stored.request != order.request:
            raise OrderConflictError(
                f"order {order.client_order_id} (account {account}): client_order_id already "
                f"used for a different order (stored {stored.request}, new {order.request})"
            )
        # else: the stored state is newer than this snapshot; keeping it is correct

    async def save_many(
        self,
        orders: Iterable[Order],
        events: Iterable[OrderEvent],
        account: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Bulk form of :meth:`save` (one transaction; no per-order conflict diagnosis)."""
        async with self._tx(conn) as c:
            await c.executemany(_UPSERT, [order_args(o, account, run_id) for o in orders])
            await c.executemany(_INSERT_EVENT, [event_args(e, account) for e in events])

    async def get(
        self, account: str, client_order_id: str, conn: Connection | None = None
    ) -> Order | None:
        async with self._conn(conn) as c:
            row = await c.fetchrow(
                "SELECT * FROM orders WHERE account = $1 AND client_order_id = $2",
                account,
                client_order_id,
            )
        return None if row is None else order_from_row(row)

    async def open_orders(self, account: str, symbol: str | None = None) -> list[Order]:
        """Orders not in a terminal state, oldest first."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM orders WHERE account = $1 AND status = ANY($2::text[])"
                " AND ($3::text IS NULL OR symbol = $3) ORDER BY created_ts, client_order_id",
                account,
                list(_OPEN),
                symbol,
            )
        return [order_from_row(r) for r in rows]

    async def for_account(self, account: str) -> list[Order]:
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM orders WHERE account = $1 ORDER BY created_ts, client_order_id",
                account,
            )
        return [order_from_row(r) for r in rows]

    async def events(self, account: str, client_order_id: str | None = None) -> list[OrderEvent]:
        """Stored state changes, in the order they were written."""
        async with self._conn(None) as c:
            rows = await c.fetch(
                "SELECT * FROM order_events WHERE account = $1"
                " AND ($2::text IS NULL OR client_order_id = $2) ORDER BY id",
                account,
                client_order_id,
            )
        return [
            OrderEvent(
                r["client_order_id"],
                OrderStatus(r["from_status"]) if r["from_status"] is not None else None,
                OrderStatus(r["to_status"]),
                r["ts"],
                r["filled_qty"],
                r["reason"],
                r["fill_id"],
            )
            for r in rows
        ]


class FillRepository(Repository):
    """Fills, unique per account + fill_id: inserting one twice stores it once."""

    async def insert(
        self, fill: Fill, account: str, run_id: str | None = None, conn: Connection | None = None
    ) -> bool:
        """Store one fill; False when it was already stored."""
        async with self._conn(conn) as c:
            status = await c.execute(_INSERT_FILL, *fill_args(fill, account, run_id))
        return bool(status.endswith(" 1"))

    async def insert_many_executemany(
        self,
        fills: Iterable[Fill],
        account: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Bulk insert with one prepared INSERT ... ON CONFLICT DO NOTHING per row."""
        async with self._tx(conn) as c:
            await c.executemany(_INSERT_FILL, [fill_args(f, account, run_id) for f in fills])

    async def insert_many_copy(
        self,
        fills: Iterable[Fill],
        account: str,
        run_id: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Bulk insert through COPY into a temporary staging table, then one
        ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (COPY alone cannot skip
        duplicates). Returns how many fills were new."""
        async with self._tx(conn) as c:
            await c.execute(
                "CREATE TEMP TABLE IF NOT EXISTS sigmax_fill_stage"
                " (LIKE fills INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            await c.copy_records_to_table(
                "sigmax_fill_stage",
                records=[fill_args(f, account, run_id) for f in fills],
                columns=list(_FILL_COLS),
            )
            status = await c.execute(_COPY_FROM_STAGE)
            await c.execute("TRUNCATE sigmax_fill_stage")  # also within a caller's transaction
        return int(status.rsplit(" ", 1)[1])

    async def for_account(
        self, account: str, client_order_id: str | None = None, conn: Connection | None = None
    ) -> list[Fill]:
        async with self._conn(conn) as c:
            rows = await c.fetch(
                "SELECT * FROM fills WHERE account = $1"
                " AND ($2::text IS NULL OR client_order_id = $2) ORDER BY ts, fill_id",
                account,
                client_order_id,
            )
        return [fill_from_row(r) for r in rows]
