"""``python -m sigmax.jobs.tune``: the ``sigmax tune`` command as a Ray job.

It takes exactly the options of ``sigmax tune`` (the same typer function parses them),
so the trials spread over the job's cluster::

    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m sigmax.jobs.tune --data bundled:BTC-USD-1h --strategy sma_cross \\
        --space fast=2:40 --space slow=30:200:10 --trials 200 --json /tmp/tune.json

Inside a submitted job Ray sets ``RAY_ADDRESS``: the job connects there
(``ray.init(address="auto")``); without it the search starts a local Ray. See
docs/TUNE.md and docs/JOBS.md.
"""

from __future__ import annotations

import sys

from sigmax.cli.tune_command import tune
from sigmax.jobs.entry import run_command

PROG = "python -m sigmax.jobs.tune"
__all__ = ["PROG", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    return run_command(tune, PROG, argv)


if __name__ == "__main__":
    sys.exit(main())
