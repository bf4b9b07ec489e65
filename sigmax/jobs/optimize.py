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

import typer

from sigmax.cli.optimize_command import optimize
from sigmax.jobs.backtest import connect

PROG = "python -m sigmax.jobs.optimize"


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(optimize)
    connected = connect()
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name=PROG)
    except SystemExit as exc:  # typer exits even on success; the code is the result
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        if connected:
            import ray

            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
