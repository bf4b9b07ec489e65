"""bench/backtest_instructions.py: the job it hands valgrind runs on this tree, and checks
the bench's order count (valgrind itself is not run here: minutes, and not installed
everywhere)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.script_module import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "backtest_instructions.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_script(SCRIPT, "bench_instructions")


def _job(bench: ModuleType, runs: int, orders: int) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", bench.JOB, str(runs), str(orders)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_the_job_runs_the_benchs_sma_cross_with_its_orders(bench: ModuleType) -> None:
    done = _job(bench, 1, bench.ORDERS)
    assert done.returncode == 0, done.stderr


def test_the_job_stops_when_the_order_count_differs(bench: ModuleType) -> None:
    done = _job(bench, 0, bench.ORDERS + 1)
    assert done.returncode != 0
    assert f"sma_cross made {bench.ORDERS} orders, not {bench.ORDERS + 1}" in done.stderr
