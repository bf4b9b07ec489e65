"""The selection problem as a QUBO (budget as a penalty) and as an Ising Hamiltonian."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigmax.portfolio.problem import SelectionProblem


@dataclass(frozen=True)
class QUBO:
    """``E(x) = x'Qx + c'x + offset`` over ``x in {0,1}^n`` (``Q`` symmetric)."""

    q: np.ndarray
    c: np.ndarray
    offset: float
    penalty: float

    @property
    def n(self) -> int:
        return int(self.c.shape[0])

    def energy(self, x: np.ndarray) -> np.ndarray:
        """Energy of one bitstring (n,) or many (m, n)."""
        x = np.asarray(x, dtype=float)
        return np.asarray(np.einsum("...i,ij,...j->...", x, self.q, x) + x @ self.c + self.offset)

    def all_energies(self) -> np.ndarray:
        """Energy of every basis state, indexed like a statevector: bit i of the index is
        qubit i (Qiskit's little-endian order). Memory 2^n floats."""
        return self.energy(basis_bits(self.n))


def basis_bits(n: int) -> np.ndarray:
    """Row ``k`` holds the bits of integer ``k``, column ``i`` = bit ``i`` (qubit ``i``)."""
    k = np.arange(2**n, dtype=np.int64)
    return ((k[:, None] >> np.arange(n)) & 1).astype(np.int8)


def penalty_weight(problem: SelectionProblem, margin: float = 1.0) -> float:
    """A budget-penalty weight ``P`` for which the QUBO minimum is the constrained optimum.

    Any infeasible ``x`` has ``(sum x - K)^2 >= 1``, so its QUBO energy is at least
    ``L + P`` where ``L`` is a lower bound of ``f`` over *all* bitstrings:
    ``L = sum_i min(0, A_ii + b_i) + sum_{i != j} min(0, A_ij)``. Every feasible ``x``
    has zero penalty, so the constrained optimum costs at most ``U = f(x0)`` for any
    feasible ``x0`` (here the ``K`` assets of highest ``mu``). With
    ``P = (U - L) + margin * |U - L| + tiny`` every infeasible energy exceeds ``U`` and
    hence the optimum: the QUBO minimiser is feasible and equals the exact solution.
    The bound is kept this tight (rather than an arbitrary large number) because a
    larger ``P`` flattens the cost landscape the QAOA/VQE optimiser sees.
    """
    a, b = problem.quadratic, problem.linear
    diag = np.diag(a) + b
    off = a - np.diag(np.diag(a))
    lower = float(np.minimum(diag, 0.0).sum() + np.minimum(off, 0.0).sum())
    x0 = np.zeros(problem.n)
    x0[np.argsort(-problem.mu, kind="stable")[: problem.budget]] = 1.0
    upper = float(problem.cost(x0))
    spread = max(upper - lower, 0.0)
    return spread * (1.0 + margin) + 1e-9 * max(1.0, abs(upper))


def to_qubo(problem: SelectionProblem, penalty: float | None = None) -> QUBO:
    """``f(x) + P (sum x - K)^2`` expanded into ``x'Qx + c'x + offset``."""
    p = penalty_weight(problem) if penalty is None else penalty
    n, k = problem.n, problem.budget
    # P (1'x - K)^2 = P x'11'x - 2PK 1'x + P K^2
    q = problem.quadratic + p * np.ones((n, n))
    c = problem.linear - 2.0 * p * k * np.ones(n)
    return QUBO(np.asarray(q), np.asarray(c), float(p * k * k), float(p))


@dataclass(frozen=True)
class Ising:
    """``H = offset + sum_i h_i Z_i + sum_{i<j} J_ij Z_i Z_j`` (``J`` strictly upper)."""

    h: np.ndarray
    j: np.ndarray
    offset: float

    def energy(self, z: np.ndarray) -> np.ndarray:
        """Energy of spins ``z in {+1, -1}`` (one (n,) or many (m, n))."""
        z = np.asarray(z, dtype=float)
        return np.asarray(np.einsum("...i,ij,...j->...", z, self.j, z) + z @ self.h + self.offset)

    def to_sparse_pauli_op(self) -> object:
        """The Hamiltonian as a ``qiskit.quantum_info.SparsePauliOp`` (qubit i = spin i)."""
        from qiskit.quantum_info import SparsePauliOp

        n = self.h.shape[0]
        terms: list[tuple[str, list[int], float]] = [("I", [0], self.offset)]
        terms += [("Z", [i], float(self.h[i])) for i in range(n) if self.h[i] != 0.0]
        terms += [
            ("ZZ", [i, j], float(self.j[i, j]))
            for i in range(n)
            for j in range(i + 1, n)
            if self.j[i, j] != 0.0
        ]
        return SparsePauliOp.from_sparse_list(terms, num_qubits=n).simplify(atol=0.0)


def to_ising(qubo: QUBO) -> Ising:
    """Substitute ``x_i = (1 - z_i) / 2``: bit 1 is spin -1, i.e. qubit state |1>."""
    q, c = qubo.q, qubo.c
    qs = (q + q.T) / 2.0
    diag = np.diag(qs)
    row = qs.sum(axis=1)
    # x'Qx = sum_i Q_ii x_i + sum_{i != j} Q_ij x_i x_j, x_i x_j = (1 - z_i - z_j + z_i z_j)/4
    off_total = float(qs.sum() - diag.sum())
    offset = qubo.offset + float(c.sum()) / 2.0 + float(diag.sum()) / 2.0 + off_total / 4.0
    h = -c / 2.0 - diag / 2.0 - (row - diag) / 2.0
    j = np.triu(qs, 1) / 2.0  # each unordered pair: 2 Q_ij / 4
    return Ising(np.asarray(h), np.asarray(j), offset)


def bits_to_spins(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 - 2 * np.asarray(x, dtype=np.int64))
