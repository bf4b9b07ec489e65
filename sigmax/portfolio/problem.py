"""The binary asset-selection problem shared by the classical and quantum solvers.

Choosing ``x in {0,1}^n`` with ``sum(x) = K`` and holding the chosen assets equally,
``w = x / K``, costs (lower is better)::

    f(x) = (lambda / 2) (x/K)' Sigma (x/K) - mu' (x/K)

i.e. minus the mean-variance utility of the equal-weight portfolio on the chosen set.
This is the selection objective of Qiskit Finance's portfolio problem with
``q = lambda / (2K)`` up to the constant factor ``1/K``; the weighting step then
re-optimises the weights on the chosen set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SelectionProblem:
    """``min f(x)`` over binary ``x`` with exactly ``budget`` ones."""

    mu: np.ndarray
    sigma: np.ndarray
    budget: int
    risk_aversion: float

    def __post_init__(self) -> None:
        n = self.mu.shape[0]
        if self.sigma.shape != (n, n):
            raise ValueError(f"sigma has shape {self.sigma.shape}, expected ({n}, {n})")
        if not 1 <= self.budget <= n:
            raise ValueError(f"budget {self.budget} outside 1..{n}")

    @property
    def n(self) -> int:
        return int(self.mu.shape[0])

    @property
    def quadratic(self) -> np.ndarray:
        """Symmetric ``A`` with ``f(x) = x'Ax + b'x``."""
        return np.asarray(self.risk_aversion / (2.0 * self.budget**2) * self.sigma)

    @property
    def linear(self) -> np.ndarray:
        return np.asarray(-self.mu / self.budget)

    def cost(self, x: np.ndarray) -> np.ndarray:
        """``f`` of one bitstring (shape (n,)) or many (shape (m, n)); any x, feasible or not."""
        x = np.asarray(x, dtype=float)
        quad = np.einsum("...i,ij,...j->...", x, self.quadratic, x)
        return np.asarray(quad + x @ self.linear)

    def feasible(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.asarray(x).sum(axis=-1) == self.budget)
