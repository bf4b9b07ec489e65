"""Settings read from the environment compose every engine's config."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sigmax.config import Settings
from sigmax.events import EventsConfig


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


def test_events_section_reads_its_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_EVENTS_QUEUE_SIZE", "5")
    monkeypatch.setenv("SIGMAX_EVENTS_REDIS_CHANNEL_PREFIX", "desk:events")
    monkeypatch.setenv("SIGMAX_NATS_URL", "nats://nats.internal:4222")
    events = Settings().events
    assert events.queue_size == 5
    assert events.redis_channel_prefix == "desk:events"
    assert events.nats_url == "nats://nats.internal:4222"


def test_events_section_survives_the_trip_to_an_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGMAX_NATS_URL", "nats://nats.internal:4222")
    events = Settings().events
    assert EventsConfig.model_validate_json(events.model_dump_json()) == events
