"""RiskCheck: an immutable value whose detail a rule may leave to be made when read."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from decimal import Decimal

import pytest

from sigmax.model import RiskCheck


def _deferred(calls: list[tuple[Decimal, ...]]) -> RiskCheck:
    def make(*args: Decimal) -> str:
        calls.append(args)
        return "gross exposure {:.2f}x equity <= limit {:.2f}x".format(*args)

    return RiskCheck.deferred("max_gross_exposure", True, make, Decimal("0.534"), Decimal(3))


def test_a_deferred_detail_is_made_once_when_first_read() -> None:
    calls: list[tuple[Decimal, ...]] = []
    check = _deferred(calls)
    assert calls == []  # nothing formatted until someone asks
    assert check.detail == "gross exposure 0.53x equity <= limit 3.00x"
    assert check.detail == "gross exposure 0.53x equity <= limit 3.00x"
    assert calls == [(Decimal("0.534"), Decimal(3))]


def test_deferred_and_eager_checks_are_the_same_value() -> None:
    eager = RiskCheck("max_gross_exposure", True, "gross exposure 0.53x equity <= limit 3.00x")
    lazy = _deferred([])
    assert lazy == eager and hash(lazy) == hash(eager)
    assert lazy != RiskCheck("max_gross_exposure", False, eager.detail)
    assert lazy != RiskCheck("max_leverage", True, eager.detail)
    assert repr(lazy) == repr(eager)
    assert repr(eager) == (
        "RiskCheck(rule='max_gross_exposure', passed=True, "
        "detail='gross exposure 0.53x equity <= limit 3.00x')"
    )
    assert (lazy == ("max_gross_exposure", True, eager.detail)) is False


def test_a_check_is_immutable_and_copies_as_its_text() -> None:
    check = _deferred([])
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.passed = False
    with pytest.raises(dataclasses.FrozenInstanceError):
        del check.rule
    # pickled (to a Ray actor, a process pool) with its text, never its formatter
    restored = pickle.loads(pickle.dumps(check))
    assert restored == check and restored.detail == check.detail
    assert copy.deepcopy(check) == check and copy.copy(check) == check


def test_a_check_matches_by_position() -> None:
    match RiskCheck("price_band", False, "too far"):
        case RiskCheck(rule, passed, detail):
            assert (rule, passed, detail) == ("price_band", False, "too far")
        case _:
            pytest.fail("RiskCheck did not match positionally")
