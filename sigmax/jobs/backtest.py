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

import os
import sys

import typer

from sigmax.cli.backtest_command import backtest

PROG = "python -m sigmax.jobs.backtest"


def connect() -> bool:
    """Join the job's cluster when ``RAY_ADDRESS`` is set; True when this call connected."""
    if not os.environ.get("RAY_ADDRESS"):
        return False
    import ray  # only here: importing sigmax never imports Ray

    if ray.is_initialized():
        return False
    ray.init(address="auto", log_to_driver=False)
    return True


def main(argv: list[str] | None = None) -> int:
    """Run the job with ``argv`` (default: the process arguments); returns the exit code."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(backtest)
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
