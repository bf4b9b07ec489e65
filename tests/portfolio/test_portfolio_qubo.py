"""QUBO and Ising forms of the selection problem agree with the penalised objective."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sigmax.portfolio import SelectionProblem, penalty_weight, solve_exhaustive, to_ising, to_qubo
from sigmax.portfolio.qubo import basis_bits, bits_to_spins


def test_qubo_energy_equals_penalised_objective_for_every_bitstring(
    real_problem: SelectionProblem,
) -> None:
    qubo = to_qubo(real_problem)
    bits = basis_bits(5)
    assert bits.shape == (32, 5)
    for x in bits:  # one bitstring at a time, against the objective written out
        penalised = float(real_problem.cost(x)) + qubo.penalty * (x.sum() - 3) ** 2
        assert float(qubo.energy(x)) == pytest.approx(penalised, abs=1e-12)
    assert np.allclose(qubo.all_energies(), [qubo.energy(x) for x in bits])


@pytest.mark.parametrize(("n", "k", "seed"), [(5, 2, 0), (6, 3, 1), (8, 4, 2), (8, 1, 3)])
def test_penalty_makes_the_qubo_minimum_the_exact_optimum(
    n: int, k: int, seed: int, make_problem: Callable[..., SelectionProblem]
) -> None:
    problem = make_problem(n, k, seed)
    qubo = to_qubo(problem)
    energies = qubo.all_energies()
    best = basis_bits(n)[int(np.argmin(energies))]
    exact = solve_exhaustive(problem)
    assert best.sum() == k
    assert np.array_equal(best, exact.x)
    assert float(energies.min()) == pytest.approx(exact.cost, abs=1e-12)
    infeasible = basis_bits(n).sum(axis=1) != k
    assert energies[infeasible].min() > exact.cost
    assert penalty_weight(problem) == qubo.penalty > 0


def test_ising_matches_qubo(real_problem: SelectionProblem) -> None:
    qubo = to_qubo(real_problem)
    ising = to_ising(qubo)
    bits = basis_bits(5)
    assert np.allclose(ising.energy(bits_to_spins(bits)), qubo.energy(bits), atol=1e-12)


def test_sparse_pauli_op_diagonal_is_the_qubo(real_problem: SelectionProblem) -> None:
    qubo = to_qubo(real_problem)
    op = to_ising(qubo).to_sparse_pauli_op()
    matrix = op.to_matrix()  # type: ignore[attr-defined]
    assert np.allclose(matrix, np.diag(np.diag(matrix)))  # only Z terms: diagonal
    # basis index k has qubit i = bit i of k (little-endian), as basis_bits lays out
    assert np.allclose(np.diag(matrix).real, qubo.all_energies(), atol=1e-10)
    assert op.num_qubits == 5  # type: ignore[attr-defined]
