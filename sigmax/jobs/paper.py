"""``python -m sigmax.jobs.paper``: a finite paper session (``sigmax paper``) as a Ray job.

    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m sigmax.jobs.paper --bars 500 --json /tmp/paper.json

The actors are created on the job's cluster (``RAY_ADDRESS`` is set inside a job). It
takes every option of ``sigmax paper``, the venue's too (``--venue paper|dry-run|
ccxt:EXCHANGE``, ``--testnet``, ``--live``, ``--adopt-venue-state``; docs/LIVE.md): a
refused venue ends the job with exit code 2 before any actor starts.
"""

from __future__ import annotations

import sys

from sigmax.cli.paper_command import paper
from sigmax.jobs.entry import run_command

PROG = "python -m sigmax.jobs.paper"


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    return run_command(paper, PROG, argv)


if __name__ == "__main__":
    sys.exit(main())
