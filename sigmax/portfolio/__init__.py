"""Portfolio optimisation: mean-variance selection and weights, classical and quantum.

``optimise(OptimiserConfig(...))`` estimates returns and a shrunk covariance from the
stored bars, picks ``budget`` assets exactly (exhaustive search or HiGHS) or with
QAOA / VQE on qiskit-aer (falling back to the exact answer on timeout or a worse
result), weights them with a bounded long-only QP (or fractional Kelly) and returns an
:class:`OptimisationResult`. See docs/QUANTUM.md.
"""

from sigmax.portfolio.classical import (
    ExactSolution,
    kelly_weights,
    mean_variance_weights,
    relaxed_selection,
    solve_exact,
    solve_exhaustive,
    solve_highs,
)
from sigmax.portfolio.config import OptimiserConfig
from sigmax.portfolio.estimate import (
    Estimate,
    ReturnsPanel,
    estimate,
    ledoit_wolf_constant_correlation,
    ledoit_wolf_identity,
    load_returns,
)
from sigmax.portfolio.problem import SelectionProblem
from sigmax.portfolio.qubo import QUBO, Ising, penalty_weight, to_ising, to_qubo
from sigmax.portfolio.result import OptimisationResult, QuantumInfo
from sigmax.portfolio.solve import optimise, run_quantum

__all__ = [
    "QUBO",
    "Estimate",
    "ExactSolution",
    "Ising",
    "OptimisationResult",
    "OptimiserConfig",
    "QuantumInfo",
    "ReturnsPanel",
    "SelectionProblem",
    "estimate",
    "kelly_weights",
    "ledoit_wolf_constant_correlation",
    "ledoit_wolf_identity",
    "load_returns",
    "mean_variance_weights",
    "optimise",
    "penalty_weight",
    "relaxed_selection",
    "run_quantum",
    "solve_exact",
    "solve_exhaustive",
    "solve_highs",
    "to_ising",
    "to_qubo",
]
