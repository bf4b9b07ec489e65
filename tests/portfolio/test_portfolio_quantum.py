"""QAOA and VQE on qiskit-aer, and the fallback rules."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sigmax.portfolio import OptimiserConfig, SelectionProblem, optimise, run_quantum, solve_exact
from sigmax.portfolio import solve as solve_module
from sigmax.portfolio.quantum import cvar

CONFIG = OptimiserConfig(budget=3, seed=7)


def test_warm_qaoa_statevector_finds_the_optimum_with_high_probability(
    real_problem: SelectionProblem,
) -> None:
    exact = solve_exact(real_problem)
    config = CONFIG.model_copy(update={"solver": "qaoa"})
    run, penalty = run_quantum("qaoa", real_problem, config, exact.x)
    again, _ = run_quantum("qaoa", real_problem, config, exact.x)
    assert np.array_equal(run.x, exact.x)  # type: ignore[arg-type]
    assert run.p_optimum is not None and run.p_optimum > 0.4  # 10 feasible subsets: 0.1 = blind
    assert run.p_feasible > 0.9
    assert run.p_optimum == again.p_optimum and run.iterations == again.iterations  # determinism
    assert run.qubits == 5 and run.depth > 0 and run.shots is None and penalty > 0
    assert "OPENQASM 3" in run.qasm and "rzz" in run.qasm
    assert "q_0" in run.drawing


def test_cold_qaoa_still_reads_out_the_optimum(real_problem: SelectionProblem) -> None:
    exact = solve_exact(real_problem)
    config = CONFIG.model_copy(update={"warm_start": False, "layers": 3})
    run, _ = run_quantum("qaoa", real_problem, config, exact.x)
    assert np.array_equal(run.x, exact.x)  # type: ignore[arg-type]
    assert run.p_optimum is not None and run.p_optimum > 0.1


def test_vqe_with_shots_and_cvar(real_problem: SelectionProblem) -> None:
    exact = solve_exact(real_problem)
    config = CONFIG.model_copy(update={"shots": 512, "cvar_alpha": 0.25, "maxiter": 60})
    run, _ = run_quantum("vqe", real_problem, config, exact.x)
    assert run.shots == 512 and run.cvar_alpha == 0.25
    assert np.array_equal(run.x, exact.x)  # type: ignore[arg-type]
    assert run.parameters == 5 * 3


def test_cvar_is_the_mean_of_the_lower_tail() -> None:
    energies = np.array([3.0, 1.0, 2.0, 4.0])
    probs = np.array([0.25, 0.25, 0.25, 0.25])
    assert cvar(energies, probs, 1.0) == pytest.approx(2.5)
    assert cvar(energies, probs, 0.25) == pytest.approx(1.0)
    assert cvar(energies, probs, 0.375) == pytest.approx((1.0 * 0.25 + 2.0 * 0.125) / 0.375)


def test_auto_uses_qaoa_and_records_why() -> None:
    result = optimise(CONFIG)
    assert result.solver == "qaoa"
    assert result.gap == pytest.approx(0.0, abs=1e-12)
    assert "matched the exact optimum" in result.reason
    assert result.quantum is not None and result.quantum.approximation_ratio == 1.0
    assert sum(result.weights.values()) == pytest.approx(1.0)
    held = [w for w in result.weights.values() if w > 0]
    assert len(held) == 3 and min(held) >= 0.05 - 1e-12


def test_classical_solver_is_quantum_disabled() -> None:
    result = optimise(CONFIG.model_copy(update={"solver": "classical"}))
    assert result.solver == "classical-exhaustive" and result.quantum is None
    assert "quantum disabled" in result.reason


def test_fallback_on_timeout_records_the_reason() -> None:
    result = optimise(CONFIG.model_copy(update={"solver": "qaoa", "deadline_s": 1e-6}))
    assert result.solver == "classical-exhaustive"
    assert re.search(r"fallback: qaoa timed out \(deadline 1e-06 s", result.reason)
    assert result.gap == 0.0


def test_fallback_on_a_worse_result_records_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real QAOA run whose readout is replaced by the second-best subset."""
    real_run = solve_module.run_quantum

    def second_best(method, problem, config, optimum=None, deadline=None):
        run, penalty = real_run(method, problem, config, optimum, deadline)
        ranking = solve_exact(problem).ranking
        x = np.zeros(problem.n, dtype=np.int8)
        x[list(ranking[1][0])] = 1
        run.x, run.cost = x, float(problem.cost(x))
        return run, penalty

    monkeypatch.setattr(solve_module, "run_quantum", second_best)
    result = optimise(CONFIG.model_copy(update={"solver": "vqe", "maxiter": 20}))
    assert result.solver == "classical-exhaustive"
    assert result.reason.startswith("fallback: vqe is worse than the exact optimum by")
    assert result.quantum is not None and result.quantum.relative_gap is not None
    assert result.quantum.relative_gap > 0 and result.gap == 0.0


def test_tolerance_accepts_a_near_optimal_quantum_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    real_run = solve_module.run_quantum

    def second_best(method, problem, config, optimum=None, deadline=None):
        run, penalty = real_run(method, problem, config, optimum, deadline)
        x = np.zeros(problem.n, dtype=np.int8)
        x[list(solve_exact(problem).ranking[1][0])] = 1
        run.x, run.cost = x, float(problem.cost(x))
        return run, penalty

    monkeypatch.setattr(solve_module, "run_quantum", second_best)
    result = optimise(CONFIG.model_copy(update={"solver": "qaoa", "gap_tolerance": 1.0}))
    assert result.solver == "qaoa" and result.gap > 0


def test_config_rejects_infeasible_requests() -> None:
    with pytest.raises(ValueError, match="budget 6 exceeds"):
        OptimiserConfig(budget=6)
    with pytest.raises(ValueError, match="infeasible bounds"):
        OptimiserConfig(budget=2, max_weight=0.4)
    with pytest.raises(ValueError, match="duplicates"):
        OptimiserConfig(assets=("BTC", "btc"), budget=1)
