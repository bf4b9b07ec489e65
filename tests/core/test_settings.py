"""Settings read from the environment compose every engine's config."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.config import Settings


def test_one_paper_variable_keeps_the_other_paper_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGMAX_PAPER__SLIPPAGE_BPS", "3")
    paper = Settings().paper
    assert paper.slippage_bps == Decimal(3)
    assert (paper.maker_fee_bps, paper.taker_fee_bps, paper.spread_bps) == (10, 10, 2)


def test_nested_risk_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_RISK__MAX_LEVERAGE", "1.5")
    assert Settings().risk.max_leverage == Decimal("1.5")
