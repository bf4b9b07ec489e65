"""The API's side of the jobs: the job board's handle; the board and its tasks live in
``actors.jobs``."""

from __future__ import annotations

from typing import Any

from actors.jobs import job_board


def board() -> Any:
    """The job board actor's handle (created on first use)."""
    return job_board()
