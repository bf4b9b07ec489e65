"""Sweep scaling: N backtests on 1, 2, 4, 8, 16 CPUs under Ray and under a process pool.

Each case is the agent-graph strategy ``sigmax`` (or ``--strategy sma_cross``) over
the full bundled BTC/USD hourly series (20,111 bars; about 0.7 s, resp. 0.15 s, on
one core here), one parameter set per case. For every CPU count the
machine has, in the same run:

* Ray: a fresh ``ray.init(num_cpus=k)``; the cases run through
  ``actors.sweep.RayExecutor`` (the series ``ray.put`` once, one task per case);
* baseline: ``concurrent.futures.ProcessPoolExecutor(max_workers=k)`` running the
  same :func:`~sigmax.backtest.sweep.run_case` (the series pickled per task).

Workers are warmed first (imports, first call) in both, so the times are the
steady-state sweep. Prints wall time, speedup and efficiency against 1 CPU, and
Ray's time over the pool's. Both must give identical results (checked).

    .venv/bin/python bench/sweep_scaling.py [--cases 16] [--repeats 2] [--strategy sigmax]
        [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sigmax.backtest.risk_profile import backtest_risk_config  # noqa: E402
from sigmax.backtest.runner import BacktestRequest  # noqa: E402
from sigmax.backtest.sweep import CaseSpec, case_setup, run_case  # noqa: E402
from sigmax.config import get_settings  # noqa: E402
from sigmax.data import load_bars  # noqa: E402
from sigmax.model import BarSeries  # noqa: E402

COUNTS = (1, 2, 4, 8, 16)


def grid(strategy: str, cases: int) -> list[dict[str, str]]:
    if strategy == "sma_cross":
        fasts, slows = range(3, 40, 3), range(50, 400, 25)
        pairs = [{"fast": str(f), "slow": str(s), "size": "0.5"} for s in slows for f in fasts]
    else:
        steps, confidences = ("0.1", "0.25", "0.5", "1.0"), [f"{c / 20:.2f}" for c in range(12)]
        pairs = [{"position_step": p, "min_confidence": c} for c in confidences for p in steps]
    if cases > len(pairs):
        raise SystemExit(f"--cases: at most {len(pairs)}")
    return pairs[:cases]


def run_pool(
    bars: BarSeries, setup: dict[str, Any], params: list[dict[str, str]], k: int, repeats: int
) -> tuple[float, list[str]]:
    context = multiprocessing.get_context("spawn")  # a clean child, as a Ray worker is
    with ProcessPoolExecutor(max_workers=k, mp_context=context) as pool:
        warm = [pool.submit(run_case, bars, setup, params[0], 0, 500) for _ in range(2 * k)]
        [f.result() for f in warm]
        best, results = float("inf"), []
        for _ in range(repeats):
            start = time.perf_counter()
            futures = [pool.submit(run_case, bars, setup, p) for p in params]
            results = [f.result()["final_equity"] for f in futures]
            best = min(best, time.perf_counter() - start)
    return best, results


def run_ray(
    bars: BarSeries, setup: dict[str, Any], params: list[dict[str, str]], k: int, repeats: int
) -> tuple[float, list[str]]:
    import ray

    from actors.sweep import RayExecutor

    ray.init(num_cpus=k, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        executor = RayExecutor(ray.put(bars), setup, progress=False)
        executor([CaseSpec(params[0], 0, 500) for _ in range(2 * k)])  # start the workers
        best, results = float("inf"), []
        for _ in range(repeats):
            start = time.perf_counter()
            out = executor([CaseSpec(p, 0, len(bars)) for p in params])
            best = min(best, time.perf_counter() - start)
            bad = [r for r in out if not r.ok]
            if bad:
                raise SystemExit(f"case failed: {bad[0].spec.params}: {bad[0].error}")
            results = [r.data["final_equity"] for r in out if r.data is not None]
    finally:
        ray.shutdown()
    return best, results


def _timed(job: Any, *args: Any) -> float:
    start = time.perf_counter()
    job(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many sweeps")
    parser.add_argument("--data", default="bundled:BTC-USD-1h")
    parser.add_argument("--strategy", choices=("sigmax", "sma_cross"), default="sigmax")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    bars = load_bars(args.data)
    setup = case_setup(
        BacktestRequest(data=args.data, strategy=args.strategy, graph=get_settings().graph),
        risk=backtest_risk_config(base=get_settings().risk),
    )
    params = grid(args.strategy, args.cases)
    run_case(bars, setup, params[0], 0, 500)  # first call: imports, caches
    one = min(_timed(run_case, bars, setup, params[0]) for _ in range(2))
    cpus = os.cpu_count() or 1
    counts = [k for k in COUNTS if k <= cpus]
    console = Console()
    console.print(
        f"{args.cases} {args.strategy} cases × {len(bars):,} bars (one case ≈ {one:.2f} s), "
        f"CPU counts {counts} on {cpus} CPUs, {platform.processor() or platform.machine()}"
    )
    rows: list[dict[str, float]] = []
    reference: list[str] | None = None
    for k in counts:
        pool_s, pool_out = run_pool(bars, setup, params, k, args.repeats)
        ray_s, ray_out = run_ray(bars, setup, params, k, args.repeats)
        reference = reference or pool_out
        if ray_out != reference or pool_out != reference:
            raise SystemExit(f"results differ at {k} CPUs between Ray and the pool")
        rows.append({"cpus": k, "ray_s": ray_s, "pool_s": pool_s})
    table = Table(title=f"sweep scaling (best of {args.repeats}, warm workers)")
    for col in ("CPUs", "Ray s", "Ray speedup", "Ray eff.", "pool s", "pool speedup",
                "pool eff.", "Ray / pool"):  # fmt: skip
        table.add_column(col, justify="right")
    for row in rows:
        cpus_k = row["cpus"]
        rs, ps = rows[0]["ray_s"] / row["ray_s"], rows[0]["pool_s"] / row["pool_s"]
        row.update(ray_speedup=rs, pool_speedup=ps, ray_eff=rs / cpus_k, pool_eff=ps / cpus_k)
        table.add_row(
            str(int(cpus_k)), f"{row['ray_s']:.2f}", f"{rs:.2f}×", f"{rs / cpus_k:.0%}",
            f"{row['pool_s']:.2f}", f"{ps:.2f}×", f"{ps / cpus_k:.0%}",
            f"{row['ray_s'] / row['pool_s']:.2f}",
        )  # fmt: skip
    console.print(table)
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {"strategy": args.strategy, "cases": args.cases, "bars": len(bars), "rows": rows}
            )
        )


if __name__ == "__main__":
    main()
