"""``python -m sigmax.jobs.optimize``: the ``sigmax optimize`` command as a Ray job.

It takes exactly the options of ``sigmax optimize`` (the same typer function parses
them); inside a submitted job (``RAY_ADDRESS`` set) it joins the cluster and the
optimisation runs there as a Ray task (``num_cpus=1``, ``--gpu`` adds ``num_gpus=1``)::

    ray job submit --address http://127.0.0.1:8265 --working-dir . -- \\
        python -m sigmax.jobs.optimize --assets BTC,ETH,LTC,XRP,EOS --budget 3 \\
        --solver qaoa --json /tmp/opt.json
"""

from __future__ import annotations

import sys

from sigmax.cli.optimize_command import optimize
from sigmax.jobs.entry import run_command

PROG = "python -m sigmax.jobs.optimize"


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    return run_command(optimize, PROG, argv)


if __name__ == "__main__":
    sys.exit(main())
