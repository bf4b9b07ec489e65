"""``sigmax optimize``: pick and weight assets by mean-variance, classically or on qiskit-aer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sigmax.data import DataError
from sigmax.portfolio import OptimisationResult, OptimiserConfig, optimise

console = Console()
err_console = Console(stderr=True)

SolverName = Literal["auto", "classical", "qaoa", "vqe"]
ShrinkageName = Literal["identity", "constant-correlation", "none"]


def _ray_is_up() -> bool:
    """True inside a process that already joined Ray (e.g. a submitted job); never imports Ray."""
    ray = sys.modules.get("ray")
    return bool(ray is not None and ray.is_initialized())


def optimize(
    assets: Annotated[str, typer.Option(help="comma-separated assets")] = "BTC,ETH,LTC,XRP,EOS",
    budget: Annotated[int, typer.Option(help="number of assets to hold (K)")] = 3,
    risk_aversion: Annotated[float, typer.Option(help="lambda; 1.0 = full Kelly")] = 1.0,
    solver: Annotated[SolverName, typer.Option(help="auto | classical | qaoa | vqe")] = "auto",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the JSON result here")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="write the HTML report here")] = None,
    timeframe: Annotated[str, typer.Option(help="bar size of the returns")] = "1d",
    lookback: Annotated[int | None, typer.Option(help="last N common returns only")] = None,
    min_weight: Annotated[float, typer.Option(help="lower bound of a held weight")] = 0.05,
    max_weight: Annotated[float, typer.Option(help="upper bound of a held weight")] = 1.0,
    shrinkage: Annotated[
        ShrinkageName, typer.Option(help="Ledoit-Wolf target")
    ] = "constant-correlation",
    kelly: Annotated[bool, typer.Option(help="fractional-Kelly weights instead of the QP")] = False,
    layers: Annotated[int, typer.Option(help="QAOA layers p")] = 2,
    reps: Annotated[int, typer.Option(help="VQE ansatz repetitions")] = 2,
    shots: Annotated[
        int | None, typer.Option(help="Sampler V2 shots per evaluation (default: statevector)")
    ] = None,
    cvar_alpha: Annotated[float, typer.Option(help="CVaR alpha (1.0 = expectation)")] = 1.0,
    warm_start: Annotated[bool, typer.Option(help="warm-start from the relaxation")] = True,
    maxiter: Annotated[int, typer.Option(help="COBYLA iterations")] = 200,
    seed: Annotated[int, typer.Option(help="simulator / readout seed")] = 7,
    deadline: Annotated[float, typer.Option(help="quantum deadline in seconds")] = 60.0,
    gap_tolerance: Annotated[
        float, typer.Option(help="relative gap above which the quantum answer is rejected")
    ] = 1e-6,
    on_ray: Annotated[bool, typer.Option("--ray", help="run as a Ray task")] = False,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster address (implies --ray)")
    ] = None,
    gpu: Annotated[bool, typer.Option(help="Ray task with num_gpus=1, Aer GPU device")] = False,
) -> None:
    """Choose BUDGET assets and their weights by mean-variance (exact, QAOA or VQE)."""
    try:
        config = OptimiserConfig(
            assets=tuple(a for a in assets.split(",") if a.strip()),
            budget=budget, risk_aversion=risk_aversion, solver=solver, timeframe=timeframe,
            lookback=lookback, min_weight=min_weight, max_weight=max_weight,
            shrinkage=shrinkage, weighting="kelly" if kelly else "mean-variance",
            layers=layers, vqe_reps=reps, shots=shots, cvar_alpha=cvar_alpha,
            warm_start=warm_start, maxiter=maxiter, seed=seed, deadline_s=deadline,
            gap_tolerance=gap_tolerance,
        )  # fmt: skip
        if on_ray or ray_address or gpu or _ray_is_up():
            from actors.optimiser import optimise_on_ray

            result = optimise_on_ray(config, gpu=gpu, address=ray_address)
        else:
            result = optimise(config)
        if json_out is not None:
            result.write_json(json_out)
        if report is not None:
            from sigmax.portfolio.report import write_html

            write_html(result, report)
    except (DataError, ValidationError, ValueError, RuntimeError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    print_result(result, json_out, report)


def print_result(result: OptimisationResult, json_out: Path | None, report: Path | None) -> None:
    table = Table(title=f"{result.solver}: {', '.join(result.selection)}")
    table.add_column("asset")
    table.add_column("weight", justify="right")
    table.add_column("exp. return", justify="right")
    table.add_column("vol", justify="right")
    for i, asset in enumerate(result.assets):
        table.add_row(
            asset, f"{result.weights[asset]:.1%}",
            f"{result.estimate['mu'][i]:.1%}", f"{result.estimate['vol'][i]:.1%}",
        )  # fmt: skip
    console.print(table)
    console.print(f"why: {result.reason}")
    console.print(
        f"portfolio: return {result.expected_return:.1%}, vol {result.volatility:.1%}, "
        f"utility {result.utility:.4f}; selection gap to exact {result.gap:.3g}"
    )
    q = result.quantum
    if q is not None:
        console.print(
            f"{q.method}: {q.qubits} qubits, depth {q.depth}, {q.iterations} evaluations, "
            f"{q.runtime_s:.2f} s, P(optimum) "
            f"{'n/a' if q.p_optimum is None else f'{q.p_optimum:.3f}'}"
        )
    for path in (json_out, report):
        if path is not None:
            console.print(f"wrote {path}")
