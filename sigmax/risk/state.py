"""Trading state of the risk engine and its errors."""

from __future__ import annotations

from enum import StrEnum

from sigmax.errors import ConflictError

STOPPED = "stopped"  # the pause cause of a stopped session: it makes no decisions
PAUSE_CAUSES = ("manual", "panic", STOPPED)  # causes an operator's pause may give
# the pause of a session whose database is away (actors.db_outage): set in memory only
# (the database cannot store it), lifted by the session when the database is back
DATABASE_UNAVAILABLE = "database_unavailable"


class TradingState(StrEnum):
    """RUNNING trades; PAUSED lets only position-shrinking reduce-only orders out;
    KILLED (manual kill switch) rejects everything."""

    RUNNING = "running"
    PAUSED = "paused"
    KILLED = "killed"


class RiskStateError(ConflictError, RuntimeError):
    """A state change that is not allowed now (e.g. resuming while a breaker holds)."""
