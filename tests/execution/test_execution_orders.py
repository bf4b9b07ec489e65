"""The order state machine and OrderManager: transitions, idempotence, fills, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sigmax.execution import (
    TRANSITIONS,
    IllegalTransitionError,
    InvalidFillError,
    OrderConflictError,
    OrderManager,
    OverfillError,
    UnknownOrderError,
)
from sigmax.model import Fill, Liquidity, OrderRequest, OrderStatus, OrderType, Side

S = OrderStatus
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CID = "o-1"


def _request(qty: str = "4", cid: str = CID) -> OrderRequest:
    return OrderRequest(cid, "BTC/USDT", Side.BUY, Decimal(qty))


def _fill(qty: str, price: str = "100", n: int = 1, fee: str = "0") -> Fill:
    return Fill(
        f"{CID}-{n}",
        CID,
        "BTC/USDT",
        Side.BUY,
        Decimal(qty),
        Decimal(price),
        Decimal(fee),
        T0 + timedelta(minutes=n),
        Liquidity.TAKER,
    )


def _manager_in(status: OrderStatus) -> OrderManager:
    """A manager whose one order (qty 4) is in ``status``."""
    m = OrderManager()
    m.submit(_request(), T0)
    if status is S.NEW:
        return m
    if status is S.REJECTED:
        m.reject(CID, T0, "no")
        return m
    m.accept(CID, T0)
    if status is S.PARTIALLY_FILLED:
        m.apply_fill(_fill("1", n=90))
    elif status is S.FILLED:
        m.apply_fill(_fill("4", n=90))
    elif status is S.CANCELLED:
        m.cancel(CID, T0)
    elif status is S.EXPIRED:
        m.expire(CID, T0)
    return m


def _move(m: OrderManager, dst: OrderStatus) -> None:
    ts = T0 + timedelta(hours=1)
    remaining = m.order(CID).remaining_qty
    if dst is S.ACCEPTED:
        m.accept(CID, ts)
    elif dst is S.PARTIALLY_FILLED:
        m.apply_fill(_fill("1" if remaining > 1 else "0.5", n=91))
    elif dst is S.FILLED:
        m.apply_fill(_fill(str(remaining) if remaining > 0 else "1", n=92))
    elif dst is S.CANCELLED:
        m.cancel(CID, ts)
    elif dst is S.REJECTED:
        m.reject(CID, ts, "exchange said no")
    elif dst is S.EXPIRED:
        m.expire(CID, ts)


PAIRS = [(src, dst) for src in S for dst in S if dst is not S.NEW]


@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition_follows_the_table(src: OrderStatus, dst: OrderStatus) -> None:
    m = _manager_in(src)
    assert m.order(CID).status is src
    before_events = len(m.events)
    # from partially_filled (1 of 4 filled) a 1-unit fill is partial, so src -> PF is legal
    if dst in TRANSITIONS[src]:
        _move(m, dst)
        assert m.order(CID).status is dst
        assert m.events[-1].from_status is src and m.events[-1].to_status is dst
    else:
        before = m.order(CID)
        with pytest.raises(IllegalTransitionError) as info:
            _move(m, dst)
        assert CID in str(info.value)
        # a fill on a filled order can only aim at "filled": nothing is left to fill partially
        aimed = S.FILLED if (src, dst) == (S.FILLED, S.PARTIALLY_FILLED) else dst
        assert f"illegal transition {src.value} -> {aimed.value}" in str(info.value)
        assert m.order(CID) == before
        assert len(m.events) == before_events


def test_no_transition_leads_back_to_new_and_terminal_states_are_dead_ends() -> None:
    assert all(S.NEW not in targets for targets in TRANSITIONS.values())
    for status in S:
        assert (not TRANSITIONS[status]) == status.is_terminal


def test_submit_is_idempotent_and_records_one_creation() -> None:
    m = OrderManager()
    first = m.submit(_request(), T0)
    again = m.submit(_request(), T0 + timedelta(seconds=5))
    assert first == again and len(m) == 1
    assert [(e.from_status, e.to_status) for e in m.events] == [(None, S.NEW)]


def test_a_different_request_under_an_existing_id_is_refused() -> None:
    m = OrderManager()
    m.submit(_request("4"), T0)
    with pytest.raises(OrderConflictError, match="o-1"):
        m.submit(_request("5"), T0)
    assert m.order(CID).request.qty == Decimal(4)
    assert len(m.events) == 1


def test_fills_give_exact_vwap_fees_and_events() -> None:
    m = _manager_in(S.ACCEPTED)
    m.apply_fill(_fill("1", "100.10", n=1, fee="0.01"))
    m.apply_fill(_fill("2", "100.25", n=2, fee="0.02"))
    order = m.apply_fill(_fill("1", "99.90", n=3, fee="0.03"))
    assert order.status is S.FILLED
    assert order.filled_qty == Decimal(4)
    assert order.avg_fill_price == Decimal("100.125")  # (100.10 + 200.50 + 99.90) / 4
    assert order.fees == Decimal("0.06")
    tail = [(e.to_status, e.filled_qty, e.fill_id) for e in m.events[-3:]]
    assert tail == [
        (S.PARTIALLY_FILLED, Decimal(1), "o-1-1"),
        (S.PARTIALLY_FILLED, Decimal(3), "o-1-2"),
        (S.FILLED, Decimal(4), "o-1-3"),
    ]


def test_overfill_is_refused_and_changes_nothing() -> None:
    m = _manager_in(S.PARTIALLY_FILLED)
    with pytest.raises(OverfillError, match="exceeds the remaining 3"):
        m.apply_fill(_fill("3.5", n=5))
    order = m.order(CID)
    assert order.filled_qty == Decimal(1) and order.status is S.PARTIALLY_FILLED


def test_duplicate_and_mismatched_fills_are_refused() -> None:
    m = _manager_in(S.ACCEPTED)
    m.apply_fill(_fill("1", n=1))
    with pytest.raises(InvalidFillError, match="already applied"):
        m.apply_fill(_fill("1", n=1))
    wrong_side = Fill(
        "x", CID, "BTC/USDT", Side.SELL, Decimal(1), Decimal(1), Decimal(0), T0, Liquidity.TAKER
    )
    with pytest.raises(InvalidFillError, match="is sell BTC/USDT, order is buy"):
        m.apply_fill(wrong_side)
    assert m.order(CID).filled_qty == Decimal(1)


def test_unknown_order_and_naive_timestamps_are_clear_errors() -> None:
    m = OrderManager()
    with pytest.raises(UnknownOrderError, match="nope"):
        m.cancel("nope", T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        m.submit(_request(), datetime(2024, 1, 1))
    assert len(m) == 0


def test_expire_due_expires_only_orders_past_their_expiry() -> None:
    m = OrderManager()
    m.submit(_request(cid="a"), T0, expire_ts=T0 + timedelta(hours=1))
    m.submit(_request(cid="b"), T0, expire_ts=T0 + timedelta(hours=3))
    m.submit(_request(cid="c"), T0)
    for cid in "abc":
        m.accept(cid, T0)
    expired = m.expire_due(T0 + timedelta(hours=2))
    assert [o.client_order_id for o in expired] == ["a"]
    assert [o.client_order_id for o in m.open_orders()] == ["b", "c"]
    assert m.order("a").status is S.EXPIRED and m.order("a").reason is not None


def test_expiry_must_follow_submission() -> None:
    with pytest.raises(ValueError, match="not after submission"):
        OrderManager().submit(_request(), T0, expire_ts=T0)


def test_returned_orders_are_copies() -> None:
    m = _manager_in(S.ACCEPTED)
    copy = m.order(CID)
    copy.status = S.FILLED
    assert m.order(CID).status is S.ACCEPTED


def test_events_since_returns_the_tail() -> None:
    m = _manager_in(S.ACCEPTED)
    assert [e.to_status for e in m.events_since(1)] == [S.ACCEPTED]
    assert m.events_since(2) == ()
    with pytest.raises(ValueError):
        m.events_since(-1)


def test_limit_request_keeps_its_prices() -> None:
    m = OrderManager()
    req = OrderRequest(
        "L", "ETH/USDT", Side.SELL, Decimal("1.5"), OrderType.LIMIT, limit_price=Decimal("2500.5")
    )
    assert m.submit(req, T0).request.limit_price == Decimal("2500.5")


def test_order_copy_carries_every_field_and_is_separate() -> None:
    import dataclasses
    from datetime import UTC, datetime

    from sigmax.model import Order, OrderRequest, OrderStatus, Side

    now = datetime(2024, 1, 1, tzinfo=UTC)
    order = Order(OrderRequest("c1", "BTC/USD", Side.BUY, Decimal(1)), OrderStatus.NEW, now, now)
    marks = {f.name: object() for f in dataclasses.fields(Order)}  # a new field shows up here
    for name, mark in marks.items():
        setattr(order, name, mark)
    copy = order.copy()
    assert copy is not order
    for name, mark in marks.items():
        assert getattr(copy, name) is mark, f"Order.copy() drops {name}"


def test_open_creates_and_accepts_in_one_step_with_both_events() -> None:
    one_step, two_steps = OrderManager(), OrderManager()
    opened = one_step.open(_request(), T0, "v-1")
    two_steps.create(_request(), T0)
    accepted = two_steps.accept(CID, T0, venue_order_id="v-1")
    assert opened == accepted
    assert opened.status is S.ACCEPTED and opened.venue_order_id == "v-1"
    assert one_step.events == two_steps.events
    assert [(e.from_status, e.to_status) for e in one_step.events] == [
        (None, S.NEW),
        (S.NEW, S.ACCEPTED),
    ]
    opened.status = S.CANCELLED  # a copy: the manager's order does not change
    assert one_step.status(CID) is S.ACCEPTED


def test_open_refuses_an_order_already_past_new_and_changes_nothing() -> None:
    m = _manager_in(S.ACCEPTED)
    events = m.events
    with pytest.raises(IllegalTransitionError):
        m.open(_request(), T0, "v-2")
    assert m.events == events and m.order(CID).venue_order_id is None
    with pytest.raises(ValueError, match="timezone-aware"):
        OrderManager().open(_request(), datetime(2024, 1, 1), "v-3")  # noqa: DTZ001
