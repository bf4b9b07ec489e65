"""The API's side of the jobs: handles and timed calls; the job board, its tasks and
the optimiser live in ``actors`` (``actors.jobs``, ``actors.optimiser``)."""

from __future__ import annotations

from typing import Any

from actors.jobs import job_board
from actors.optimiser import last_optimisation
from sigmax.portfolio import OptimisationResult


def board() -> Any:
    """The job board actor's handle (created on first use)."""
    return job_board()


def last_result(timeout_s: float) -> OptimisationResult | None:
    """The last optimisation's result, None when none ran; waits at most ``timeout_s``."""
    return last_optimisation(timeout_s)
