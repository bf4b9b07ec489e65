"""Shared builders for the risk tests: small orders and contexts on a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from sigmax.model import OrderRequest, OrderType, Side
from sigmax.risk import RiskContext

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

OrderFactory = Callable[..., OrderRequest]
ContextFactory = Callable[..., RiskContext]


@pytest.fixture
def order() -> OrderFactory:
    counter = iter(range(1_000_000))

    def make(
        side: str = "buy", qty: str = "1", symbol: str = "BTC/USDT", **kw: Any
    ) -> OrderRequest:
        if "limit_price" in kw and "type" not in kw:
            kw["type"] = OrderType.LIMIT
        for key in ("limit_price", "stop_price"):
            if key in kw:
                kw[key] = Decimal(kw[key])
        return OrderRequest(f"o{next(counter)}", symbol, Side(side), Decimal(qty), **kw)

    return make


@pytest.fixture
def ctx() -> ContextFactory:
    def make(
        last: str = "100",
        position: str = "0",
        equity: str = "100000",
        book: dict[str, str] | None = None,
        ts: datetime = T0,
        reference: str | None = None,
    ) -> RiskContext:
        notionals = {s: Decimal(n) for s, n in (book or {}).items()}
        return RiskContext(
            ts=ts,
            last_price=Decimal(last),
            position_qty=Decimal(position),
            positions_notional=notionals,
            equity=Decimal(equity),
            reference_price=None if reference is None else Decimal(reference),
        )

    return make


@pytest.fixture
def t0() -> datetime:
    return T0
