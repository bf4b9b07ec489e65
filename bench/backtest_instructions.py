"""Instructions per ``sma_cross`` backtest, counted by valgrind: this tree against a git ref.

Wall-clock times on a shared machine drift by a third within minutes; instruction counts
do not. Each tree runs the bench's ``sma_cross`` (20,111 bundled BTC/USD hourly bars,
776 orders) under ``valgrind --tool=callgrind`` twice: once with only the warm-up run,
once with ``--runs`` more; the difference over ``--runs`` is one run's instructions,
imports and set-up excluded. ``PYTHONHASHSEED`` is fixed; three counts of one tree
agreed to within 0.2 %. Instructions are not time (a cache miss costs more than an
add), so confirm a change with the timed benches too. Needs valgrind; takes minutes
(valgrind runs Python some fifty times slower).

    .venv/bin/python bench/backtest_instructions.py --against HEAD~3 [--runs 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
ORDERS = 776  # the bench's sma_cross orders (bench/backtest.py checks them)

# Imports only sigmax (not the bench's baselines), so that an older tree can run it too.
JOB = """
import sys
from decimal import Decimal
from sigmax.backtest.config import BacktestConfig
from sigmax.backtest.engine import BacktestEngine
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.config import get_settings
from sigmax.data import load_bars
from sigmax.execution import PaperExchange, PaperExchangeConfig
from sigmax.risk import RiskEngine
from sigmax.risk.audit import AuditTrail
from sigmax.strategies import make_strategy

bars = load_bars("bundled:BTC-USD-1h")
fee = Decimal(10)

def run():
    risk = RiskEngine(backtest_risk_config(base=get_settings().risk), AuditTrail(deferred=True))
    engine = BacktestEngine(
        BacktestConfig(cash=Decimal(10_000), progress=False),
        risk,
        PaperExchange(PaperExchangeConfig(maker_fee_bps=fee, taker_fee_bps=fee)),
    )
    params = {"fast": "10", "slow": "30", "size": "0.5"}
    return engine.run(bars, make_strategy("sma_cross", params, get_settings().graph))

orders, expected = len(run().orders), int(sys.argv[2])  # the warm-up run
assert orders == expected, f"sma_cross made {orders} orders, not {expected}"
for _ in range(int(sys.argv[1])):
    run()
"""


def instructions(tree: Path, runs: int) -> int:
    """Instructions valgrind counts for the warm-up run plus ``runs`` runs in ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, "-c", JOB, str(runs), str(ORDERS)]
    done = subprocess.run(command, env=env, cwd=tree, capture_output=True, text=True)
    lines = [line for line in done.stderr.splitlines() if "Collected :" in line]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"valgrind in {tree} failed (exit {done.returncode}):\n{done.stderr}")
    return int(lines[-1].split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the git ref to compare with")
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.against],
            check=True,
        )
        try:
            counts = _count({args.against: base, "this tree": ROOT}, args.runs)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)])
    baseline = counts[args.against]
    table = Table(title=f"instructions per sma_cross run (difference of 0 and {args.runs} runs)")
    for col in ("tree", "instructions per run", "per order", f"÷ {args.against}"):
        table.add_column(col, justify="left" if col == "tree" else "right")
    for name, count in counts.items():
        table.add_row(name, f"{count:,.0f}", f"{count / ORDERS:,.0f}", f"{count / baseline:.3f}")
    Console().print(table)


def _count(trees: dict[str, Path], runs: int) -> dict[str, float]:
    """Each tree's instructions for one run, the four valgrind runs two at a time."""
    jobs = [(name, tree, n) for name, tree in trees.items() for n in (0, runs)]
    with Progress(transient=True) as progress, ThreadPoolExecutor(2) as pool:
        task = progress.add_task("valgrind", total=len(jobs))
        futures = {}
        for name, tree, n in jobs:
            future = pool.submit(instructions, tree, n)
            future.add_done_callback(lambda _: progress.advance(task))
            futures[(name, n)] = future
        totals = {key: future.result() for key, future in futures.items()}
    return {name: (totals[(name, runs)] - totals[(name, 0)]) / runs for name in trees}


if __name__ == "__main__":
    main()
