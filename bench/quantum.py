"""QAOA and VQE against the exact solver, n = 4..16 assets, on qiskit-aer (statevector).

For each n: assets BTC, ETH, LTC, XRP, EOS (real daily bars, bundled) and, beyond 5,
SYNTHETIC assets calibrated to them (mean/vol of a real parent x [0.8, 1.2], the real
average pairwise correlation; see sigmax/portfolio/synthetic.py); budget K = n // 2,
risk aversion 1. Per n and method it reports wall time, circuit evaluations, the
approximation ratio of the answer read out from 1,024 shots (1 - (f - f*) / (f_worst - f*)),
and P(optimum), the probability the final state measures the exact optimum. The
"round" column is the classical baseline the warm start gets for free: the K largest
entries of the continuous relaxation.

    .venv/bin/python bench/quantum.py [--min-n 4] [--max-n 16] [--budget-s 300]
        [--layers 2] [--reps 2] [--maxiter 200] [--json OUT]

It stops before starting an n once ``--budget-s`` seconds have passed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sigmax.portfolio import (  # noqa: E402
    OptimiserConfig,
    SelectionProblem,
    estimate,
    load_returns,
    relaxed_selection,
    run_quantum,
    solve_exact,
)
from sigmax.portfolio.solve import gap_of  # noqa: E402
from sigmax.portfolio.synthetic import extend_panel  # noqa: E402

REAL = ("BTC", "ETH", "LTC", "XRP", "EOS")


def bench_n(n: int, args: argparse.Namespace, real: Any) -> dict[str, Any]:
    panel = extend_panel(real, n, seed=args.seed)
    est = estimate(panel)
    k = max(1, n // 2)
    problem = SelectionProblem(est.mu, est.sigma, k, 1.0)
    exact = solve_exact(problem)
    t0 = time.perf_counter()
    exact_highs = solve_exact(problem, "highs")
    highs_s = time.perf_counter() - t0
    assert abs(exact_highs.cost - exact.cost) < 1e-9
    relaxed = relaxed_selection(problem)
    rounded = np.zeros(n, dtype=np.int8)
    rounded[np.argsort(-relaxed, kind="stable")[:k]] = 1
    row: dict[str, Any] = {
        "n": n, "k": k, "synthetic": len(panel.synthetic),
        "exact_s": exact.runtime_s, "highs_s": highs_s,
        "round_ratio": 1.0 - gap_of(float(problem.cost(rounded)), exact).relative,
    }  # fmt: skip
    for method in args.methods:
        config = OptimiserConfig(
            assets=panel.assets, budget=k, solver=method, layers=args.layers,
            vqe_reps=args.reps, maxiter=args.maxiter, seed=args.seed, warm_start=not args.cold,
            deadline_s=None,
        )  # fmt: skip
        run, _ = run_quantum(method, problem, config, exact.x)
        ratio = None if run.cost is None else 1.0 - gap_of(run.cost, exact).relative
        row[method] = {
            "s": run.runtime_s, "evals": run.iterations, "ratio": ratio,
            "p_opt": run.p_optimum, "p_feasible": run.p_feasible, "depth": run.depth,
        }  # fmt: skip
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-n", type=int, default=4)
    parser.add_argument("--max-n", type=int, default=16)
    parser.add_argument("--budget-s", type=float, default=300.0)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--maxiter", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cold", action="store_true", help="no warm start")
    parser.add_argument("--methods", default="qaoa,vqe")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.methods = [m for m in args.methods.split(",") if m]
    console = Console(width=200)
    real = load_returns(REAL, "1d")
    console.print(
        f"{len(real.ts)} daily returns of {', '.join(REAL)} (bundled, real); assets beyond 5 "
        "are SYNTHETIC, calibrated to them. Statevector simulation on qiskit-aer "
        f"{platform.processor() or platform.machine()}, warm start {not args.cold}."
    )
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    stopped = None
    for n in range(args.min_n, args.max_n + 1):
        if time.perf_counter() - start > args.budget_s:
            stopped = n
            break
        rows.append(bench_n(n, args, real))
        console.print(f"n={n} done at {time.perf_counter() - start:.0f} s", style="dim")
    table = Table(title="Quantum vs exact (ratio: 1 = optimum found; P(opt) from the statevector)")
    for col in ("n", "K", "syn", "exact s", "round"):
        table.add_column(col, justify="right")
    for m in args.methods:
        for col in ("s", "evals", "ratio", "P(opt)"):
            table.add_column(f"{m} {col}", justify="right")
    for r in rows:
        cells = [str(r["n"]), str(r["k"]), str(r["synthetic"]), f"{r['exact_s']:.4f}",
                 f"{r['round_ratio']:.3f}"]  # fmt: skip
        for m in args.methods:
            q = r[m]
            ratio = "infeasible" if q["ratio"] is None else f"{q['ratio']:.3f}"
            cells += [f"{q['s']:.1f}", str(q["evals"]), ratio, f"{q['p_opt']:.3g}"]
        table.add_row(*cells)
    console.print(table)
    if stopped is not None:
        console.print(f"stopped before n={stopped}: {args.budget_s:.0f} s budget spent")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": vars(args) | {"json": str(args.json)},
                    "rows": rows,
                    "stopped_before": stopped,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
