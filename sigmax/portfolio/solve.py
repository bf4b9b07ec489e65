"""``optimise``: estimate, select (exact / QAOA / VQE with fallback), weight, report.

Fallback rules (the result's ``reason`` says which applied):

* ``solver="classical"`` (quantum disabled) or qiskit missing: the exact selection;
* ``solver="auto"``: QAOA when ``n <= quantum_max_qubits``, else the exact selection;
* the quantum solve passes ``deadline_s``: the exact selection, reason ``timeout``;
* the quantum answer is infeasible or worse than the exact optimum by more than
  ``gap_tolerance`` (relative to the spread worst - best feasible cost): the exact one.

The exact solver always runs: it is cheap at the sizes a simulator reaches, and the
gap of the quantum answer is measured against it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from sigmax.portfolio.classical import (
    ExactSolution,
    kelly_weights,
    mean_variance_weights,
    relaxed_selection,
    solve_exact,
)
from sigmax.portfolio.config import OptimiserConfig
from sigmax.portfolio.estimate import Estimate, ReturnsPanel, estimate, load_returns
from sigmax.portfolio.problem import SelectionProblem
from sigmax.portfolio.quantum import QuantumDeadline, QuantumRun
from sigmax.portfolio.qubo import to_ising, to_qubo
from sigmax.portfolio.result import Alternative, OptimisationResult, QuantumInfo

QUANTUM_MAX_QUBITS = 16


@dataclass(frozen=True)
class Gap:
    absolute: float
    relative: float


def gap_of(cost: float, exact: ExactSolution) -> Gap:
    spread = exact.worst_cost - exact.cost
    absolute = cost - exact.cost
    relative = absolute / spread if spread > 0 else (0.0 if absolute <= 0 else float("inf"))
    return Gap(absolute, relative)


def run_quantum(
    method: str,
    problem: SelectionProblem,
    config: OptimiserConfig,
    optimum: np.ndarray | None = None,
    deadline: float | None = None,
) -> tuple[QuantumRun, float]:
    """One QAOA or VQE solve of ``problem``; returns the run and the penalty used."""
    from sigmax.portfolio.qaoa import qaoa_circuit, qaoa_initial_point
    from sigmax.portfolio.quantum import run_variational, warm_start_angles
    from sigmax.portfolio.vqe import vqe_ansatz, vqe_initial_point

    qubo = to_qubo(problem)
    warm = (
        warm_start_angles(relaxed_selection(problem), config.warm_start_epsilon)
        if config.warm_start
        else None
    )
    if method == "qaoa":
        circuit = qaoa_circuit(to_ising(qubo), config.layers, warm)
        theta0 = qaoa_initial_point(config.layers)
    elif method == "vqe":
        circuit = vqe_ansatz(problem.n, config.vqe_reps)
        theta0 = vqe_initial_point(problem.n, config.vqe_reps, warm)
    else:
        raise ValueError(f"unknown quantum method {method!r}; use qaoa or vqe")
    run = run_variational(
        method, circuit, theta0, qubo, problem,
        shots=config.shots, readout_shots=config.readout_shots, cvar_alpha=config.cvar_alpha,
        maxiter=config.maxiter, seed=config.seed, deadline=deadline,
        warm_start=config.warm_start, device=config.device, optimum=optimum,
    )  # fmt: skip
    return run, qubo.penalty


def _quantum_info(
    run: QuantumRun, penalty: float, exact: ExactSolution, assets: tuple[str, ...],
    config: OptimiserConfig,
) -> QuantumInfo:  # fmt: skip
    gap = gap_of(run.cost, exact) if run.cost is not None else None
    return QuantumInfo(
        method=run.method,
        selection=None if run.x is None else [a for a, b in zip(assets, run.x, strict=True) if b],
        cost=run.cost,
        gap=None if gap is None else gap.absolute,
        relative_gap=None if gap is None else gap.relative,
        approximation_ratio=None if gap is None else 1.0 - gap.relative,
        p_optimum=run.p_optimum, p_feasible=run.p_feasible, most_likely=run.most_likely,
        qubits=run.qubits, depth=run.depth, parameters=run.parameters, shots=run.shots,
        readout_shots=run.readout_shots, iterations=run.iterations,
        final_objective=run.final_objective, runtime_s=run.runtime_s,
        cvar_alpha=run.cvar_alpha, warm_start=run.warm_start,
        layers_or_reps=config.layers if run.method == "qaoa" else config.vqe_reps,
        penalty=penalty, device=run.device, qasm=run.qasm, drawing=run.drawing,
        notes=run.notes,
    )  # fmt: skip


def select(
    problem: SelectionProblem, exact: ExactSolution, config: OptimiserConfig,
    assets: tuple[str, ...],
) -> tuple[np.ndarray, str, str, QuantumInfo | None]:  # fmt: skip
    """The selection to hold, who produced it, why, and the quantum run if one ran."""
    classical = f"classical-{exact.method}"
    method = config.solver
    if method == "classical":
        return exact.x, classical, "quantum disabled (solver=classical)", None
    if method == "auto":
        if problem.n > QUANTUM_MAX_QUBITS:
            return exact.x, classical, (
                f"auto: {problem.n} qubits exceed the {QUANTUM_MAX_QUBITS}-qubit simulation "
                "limit; exact solver used"
            ), None  # fmt: skip
        method = "qaoa"
    try:
        import qiskit  # noqa: F401
        import qiskit_aer  # noqa: F401
    except ImportError as exc:
        return exact.x, classical, f"quantum unavailable ({exc}); exact solver used", None
    deadline = None if config.deadline_s is None else time.monotonic() + config.deadline_s
    try:
        run, penalty = run_quantum(method, problem, config, exact.x, deadline)
    except QuantumDeadline as exc:
        return exact.x, classical, (
            f"fallback: {method} timed out (deadline {config.deadline_s} s, "
            f"{exc.evaluations} evaluations in {exc.elapsed_s:.2f} s)"
        ), None  # fmt: skip
    info = _quantum_info(run, penalty, exact, assets, config)
    if run.x is None:
        return exact.x, classical, (
            f"fallback: {method} read out no feasible selection "
            f"(p_feasible {run.p_feasible:.3f})"
        ), info  # fmt: skip
    gap = gap_of(float(run.cost), exact)  # type: ignore[arg-type]
    if gap.relative > config.gap_tolerance:
        return exact.x, classical, (
            f"fallback: {method} is worse than the exact optimum by {gap.relative:.3g} "
            f"of the cost spread (tolerance {config.gap_tolerance:g})"
        ), info  # fmt: skip
    return run.x, method, (
        f"{method} matched the exact optimum within tolerance "
        f"(relative gap {gap.relative:.3g} <= {config.gap_tolerance:g})"
    ), info  # fmt: skip


def weigh(est: Estimate, chosen: np.ndarray, config: OptimiserConfig) -> tuple[np.ndarray, str]:
    """Weights on the chosen assets (sum 1 within bounds), or fractional Kelly."""
    mu, sigma = est.mu[chosen], est.sigma[np.ix_(chosen, chosen)]
    if config.weighting == "mean-variance":
        try:
            w = mean_variance_weights(
                mu, sigma, config.risk_aversion, config.min_weight, config.max_weight
            )
            return w, "mean-variance QP (long-only, bounded, fully invested)"
        except ValueError as exc:
            why = f"kelly fallback: {exc}"
    else:
        why = "kelly (requested)"
    w = kelly_weights(mu, sigma, config.kelly_fraction, config.kelly_cap)
    return w, f"{why}; {config.kelly_fraction:g} Kelly on the diagonal, cap {config.kelly_cap:g}"


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat()


def optimise(config: OptimiserConfig, panel: ReturnsPanel | None = None) -> OptimisationResult:
    """The whole optimisation of ``config`` (returns from bundled bars unless ``panel``)."""
    start = time.perf_counter()
    if panel is None:
        panel = load_returns(config.assets, config.timeframe, lookback=config.lookback)
    elif panel.assets != config.assets:
        raise ValueError(f"panel holds {panel.assets}, config asks for {config.assets}")
    est = estimate(panel, config.shrinkage)
    problem = SelectionProblem(est.mu, est.sigma, config.budget, config.risk_aversion)
    exact = solve_exact(problem, config.exact_method, config.exhaustive_limit)
    x, solver, reason, quantum = select(problem, exact, config, panel.assets)
    chosen = np.flatnonzero(x)
    w_sel, weighting = weigh(est, chosen, config)
    weights = {a: 0.0 for a in panel.assets}
    for i, w in zip(chosen, w_sel, strict=True):
        weights[panel.assets[i]] = float(w)
    w_all = np.array([weights[a] for a in panel.assets])
    exp_ret = float(est.mu @ w_all)
    var = float(w_all @ est.sigma @ w_all)
    alternatives = [
        Alternative(
            assets=[panel.assets[i] for i in combo],
            cost=cost,
            expected_return=float(est.mu[list(combo)].mean()),
            volatility=float(np.sqrt(est.sigma[np.ix_(combo, combo)].mean())),
        )
        for combo, cost in exact.ranking
    ]
    return OptimisationResult(
        config=config, assets=list(panel.assets), weights=weights,
        cash=float(max(0.0, 1.0 - w_all.sum())),
        selection=[panel.assets[i] for i in chosen], solver=solver,
        requested_solver=config.solver, reason=reason, weighting=weighting,
        selection_cost=float(problem.cost(x)), exact_cost=exact.cost, worst_cost=exact.worst_cost,
        gap=float(problem.cost(x)) - exact.cost, expected_return=exp_ret,
        volatility=float(np.sqrt(max(var, 0.0))),
        utility=exp_ret - config.risk_aversion / 2.0 * var,
        exact_method=exact.method, exact_runtime_s=exact.runtime_s, quantum=quantum,
        alternatives=alternatives,
        estimate={
            "mu": est.mu.tolist(), "vol": est.vol.tolist(), "corr": est.corr.tolist(),
            "shrinkage": est.shrinkage, "intensity": est.intensity,
            "observations": est.observations, "annualisation": panel.periods_per_year,
        },
        data={
            "timeframe": panel.timeframe, "sources": panel.sources,
            "synthetic": list(panel.synthetic),
            "first_ts": _iso(est.first_ts), "last_ts": _iso(est.last_ts),
        },
        runtime_s=time.perf_counter() - start,
    )  # fmt: skip
