"""Trading state of the risk engine and its errors."""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    """RUNNING trades; PAUSED lets only position-shrinking reduce-only orders out;
    KILLED (manual kill switch) rejects everything."""

    RUNNING = "running"
    PAUSED = "paused"
    KILLED = "killed"


class RiskStateError(RuntimeError):
    """A state change that is not allowed now (e.g. resuming while a breaker holds)."""
