"""``python -m sigmax.jobs.backtest``: the ``sigmax backtest`` command as a Ray job.

It takes exactly the options of ``sigmax backtest`` (the same typer function parses
them), so ``--sweep``/``--walk-forward`` spread their cases over the job's cluster::

    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m sigmax.jobs.backtest --data bundled:BTC-USD-1h --strategy sma_cross \\
        --sweep fast=5,10,20 --sweep slow=30,60 --json /tmp/sweep.json

Inside a submitted job Ray sets ``RAY_ADDRESS``: the job connects there
(``ray.init(address="auto")``). Without it, a sweep starts a local Ray and a plain
backtest runs in this process. See docs/JOBS.md.
"""

from __future__ import annotations

import sys

from sigmax.cli.backtest_command import backtest
from sigmax.jobs.entry import connect, run_command

PROG = "python -m sigmax.jobs.backtest"
__all__ = ["PROG", "connect", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    return run_command(backtest, PROG, argv)


if __name__ == "__main__":
    sys.exit(main())
