"""``python -m sigmax.jobs.train``: the ``sigmax train`` command as a Ray job.

It takes exactly the options of ``sigmax train``; the env runners are spread over the
job's cluster::

    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m sigmax.jobs.train --data bundled:BTC-USD-1h --iterations 50 \\
        --env-runners 4 --checkpoint-dir /tmp/rl

Inside a submitted job Ray sets ``RAY_ADDRESS`` and the job connects there; without
it, training starts a local Ray. See docs/RL.md.
"""

from __future__ import annotations

import sys

from sigmax.cli.train_command import train
from sigmax.jobs.entry import run_command

PROG = "python -m sigmax.jobs.train"
__all__ = ["PROG", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    return run_command(train, PROG, argv)


if __name__ == "__main__":
    sys.exit(main())
