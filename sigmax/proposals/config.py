"""The trading mode (orders sent at once, or proposed for approval) and proposal expiry."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TradingMode = Literal["auto", "approval"]


class ApprovalConfig(BaseModel):
    """``mode: approval`` turns the decision graph's orders into proposals that wait for
    an operator; ``auto`` sends them straight through risk to the venue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: TradingMode = Field(
        "auto",
        description="auto: orders go to the venue; approval: orders become proposals "
        "an operator approves or rejects (needs PostgreSQL)",
    )
    proposal_ttl_s: float = Field(
        900.0,
        gt=0,
        le=7 * 24 * 3600,
        description="seconds (wall clock) a proposal can be approved before it expires",
    )
    database_outage_s: float = Field(
        300.0,
        gt=0,
        le=24 * 3600,
        description="seconds a session waits, paused (risk cause database_unavailable) "
        "and retrying its step with backoff, for PostgreSQL to come back before it ends",
    )
