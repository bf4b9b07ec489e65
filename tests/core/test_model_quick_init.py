"""The value types given a faster ``__init__`` (``quick_init``) behave as plain frozen
dataclasses: the same signature, defaults, validation, equality, immutability, copies."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sigmax.errors import InvalidInputError
from sigmax.execution.orders import OrderEvent
from sigmax.ledger import LedgerEntry
from sigmax.model import (
    Bar,
    Fill,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    RiskCheck,
    RiskVerdict,
    Side,
    quick_init,
)
from sigmax.risk.context import OrderImpact, RiskContext

TS = datetime(2024, 1, 1, tzinfo=UTC)
QUICK = (Bar, OrderRequest, Fill, Position, RiskVerdict, RiskContext, OrderImpact)


@pytest.mark.parametrize("cls", [*QUICK, OrderEvent, LedgerEntry], ids=lambda c: c.__name__)
def test_signature_is_the_dataclass_one(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        expected = inspect.Parameter.empty if f.default is dataclasses.MISSING else f.default
        assert p.default == expected
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_a_quick_instance_is_a_frozen_dataclass() -> None:
    fill = Fill(
        "f-1", "o-1", "BTC/USD", Side.BUY, Decimal("0.5"), Decimal(100), Decimal("0.05"), TS,
        Liquidity.TAKER, reference_price=Decimal(99),
    )  # fmt: skip
    assert fill.expected_price is None and fill.reference_price == Decimal(99)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fill.qty = Decimal(1)  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(fill)) == fill
    assert copy.deepcopy(fill) == fill and hash(copy.copy(fill)) == hash(fill)
    assert dataclasses.replace(fill, qty=Decimal(1)).qty == Decimal(1)
    assert dataclasses.asdict(fill)["fee"] == Decimal("0.05")
    assert repr(RiskCheck("x", True, "d")) == "RiskCheck(rule='x', passed=True, detail='d')"
    event = OrderEvent("o-1", None, OrderStatus.NEW, TS, Decimal(0))
    assert event.reason is None and event.fill_id is None


def test_post_init_still_validates() -> None:
    with pytest.raises(InvalidInputError, match="qty must be > 0"):
        OrderRequest("o-1", "BTC/USD", Side.BUY, Decimal(0))
    with pytest.raises(InvalidInputError, match="needs limit_price"):
        OrderRequest("o-1", "BTC/USD", Side.BUY, Decimal(1), type=OrderType.LIMIT)
    with pytest.raises(InvalidInputError, match="takes no limit_price"):
        OrderRequest("o-1", "BTC/USD", Side.BUY, Decimal(1), limit_price=Decimal(5))
    with pytest.raises(ValueError, match="no timezone"):
        RiskContext(datetime(2024, 1, 1), Decimal(1), Decimal(0), {}, Decimal(1))


def test_quick_init_refuses_fields_it_cannot_copy() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        items: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="not plain"):
        quick_init(WithFactory)
