"""Exact classical selection, continuous weights and the Kelly fallback.

Exact selection (which solver runs when, ``exact_method="auto"``):

* ``n <= exhaustive_limit`` (20 by default): exhaustive search over all ``C(n, K)``
  subsets, evaluated as one vectorised ``einsum`` per chunk (C(20, 10) = 184,756 rows);
  it also yields the worst feasible cost (for the approximation ratio) and the ranking
  of alternatives.
* larger ``n``: HiGHS (highspy) on the standard exact linearisation of the binary
  quadratic: ``y_ij = x_i x_j`` with ``y_ij <= x_i, y_ij <= x_j, y_ij >= x_i + x_j - 1``,
  which is exact for binaries, so the MILP optimum is the MIQP optimum. The worst feasible
  cost comes from the same MILP maximised.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from sigmax.portfolio.problem import SelectionProblem

_CHUNK = 200_000


@dataclass(frozen=True)
class ExactSolution:
    """The optimum bitstring, its cost, the worst feasible cost and how it was found."""

    x: np.ndarray
    cost: float
    worst_cost: float
    method: str  # "exhaustive" or "highs"
    runtime_s: float
    ranking: list[tuple[tuple[int, ...], float]] = field(default_factory=list)  # best first


def _combinations(n: int, k: int) -> np.ndarray:
    return np.fromiter(
        itertools.chain.from_iterable(itertools.combinations(range(n), k)),
        dtype=np.int64,
        count=math.comb(n, k) * k,
    ).reshape(-1, k)


def solve_exhaustive(problem: SelectionProblem, keep: int = 10) -> ExactSolution:
    """Every ``C(n, K)`` subset, vectorised; returns the best and the ``keep`` best."""
    start = time.perf_counter()
    n, k = problem.n, problem.budget
    combos = _combinations(n, k)
    a, b = problem.quadratic, problem.linear
    costs = np.empty(combos.shape[0])
    for lo in range(0, combos.shape[0], _CHUNK):
        idx = combos[lo : lo + _CHUNK]
        sub = a[idx[:, :, None], idx[:, None, :]]  # (m, k, k)
        costs[lo : lo + _CHUNK] = sub.sum(axis=(1, 2)) + b[idx].sum(axis=1)
    order = np.argsort(costs, kind="stable")
    best = combos[order[0]]
    x = np.zeros(n, dtype=np.int8)
    x[best] = 1
    ranking = [(tuple(int(i) for i in combos[j]), float(costs[j])) for j in order[:keep]]
    return ExactSolution(
        x, float(costs[order[0]]), float(costs.max()), "exhaustive",
        time.perf_counter() - start, ranking,
    )  # fmt: skip


def _highs_milp(problem: SelectionProblem, maximise: bool) -> tuple[np.ndarray, float]:
    import highspy

    n, k = problem.n, problem.budget
    a, b = problem.quadratic, problem.linear
    sign = -1.0 if maximise else 1.0
    h = highspy.Highs()  # type: ignore[no-untyped-call]  # highspy ships no annotations
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    inf = highspy.kHighsInf
    # x_i: cost b_i + A_ii (x_i^2 = x_i)
    for i in range(n):
        h.addVar(0.0, 1.0)
        h.changeColCost(i, sign * (b[i] + a[i, i]))
        h.changeColIntegrality(i, highspy.HighsVarType.kInteger)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    for p, (i, j) in enumerate(pairs):
        col = n + p
        h.addVar(0.0, 1.0)
        h.changeColCost(col, sign * 2.0 * a[i, j])
        h.addRow(-inf, 0.0, 2, np.array([col, i], dtype=np.int32), np.array([1.0, -1.0]))
        h.addRow(-inf, 0.0, 2, np.array([col, j], dtype=np.int32), np.array([1.0, -1.0]))
        h.addRow(-1.0, inf, 3, np.array([col, i, j], dtype=np.int32), np.array([1.0, -1.0, -1.0]))
    h.addRow(float(k), float(k), n, np.arange(n, dtype=np.int32), np.ones(n))
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS did not prove optimality: {h.modelStatusToString(status)}")
    values = np.asarray(h.getSolution().col_value[:n])
    x = np.rint(values).astype(np.int8)
    return x, float(problem.cost(x))


def solve_highs(problem: SelectionProblem) -> ExactSolution:
    """The exact optimum (and the exact worst) from two HiGHS MILPs."""
    start = time.perf_counter()
    x, cost = _highs_milp(problem, maximise=False)
    _, worst = _highs_milp(problem, maximise=True)
    chosen = tuple(int(i) for i in np.flatnonzero(x))
    return ExactSolution(x, cost, worst, "highs", time.perf_counter() - start, [(chosen, cost)])


def solve_exact(
    problem: SelectionProblem, method: str = "auto", exhaustive_limit: int = 20
) -> ExactSolution:
    """Exhaustive when ``n <= exhaustive_limit`` (or asked), else HiGHS."""
    if method == "exhaustive" or (method == "auto" and problem.n <= exhaustive_limit):
        return solve_exhaustive(problem)
    if method in ("auto", "highs"):
        return solve_highs(problem)
    raise ValueError(f"unknown exact method {method!r}; use auto, exhaustive or highs")


def mean_variance_weights(
    mu: np.ndarray, sigma: np.ndarray, risk_aversion: float, lo: float, hi: float
) -> np.ndarray:
    """Long-only weights maximising ``mu.w - (lambda/2) w'Sigma w`` with ``sum w = 1``,
    ``lo <= w <= hi``: a strictly convex QP, solved by SLSQP with exact gradients from a
    feasible start, then checked against the KKT conditions (ValueError if they fail)."""
    n = mu.shape[0]
    if n * hi < 1.0 - 1e-12 or n * lo > 1.0 + 1e-12:
        raise ValueError(f"no weights of {n} assets in [{lo}, {hi}] sum to 1")
    if n == 1:
        return np.ones(1)
    lam = risk_aversion

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        sw = sigma @ w
        return float(lam / 2.0 * w @ sw - mu @ w), lam * sw - mu

    x0 = np.clip(np.full(n, 1.0 / n), lo, hi)
    res = minimize(
        objective, x0, jac=True, method="SLSQP", bounds=[(lo, hi)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
        options={"ftol": 1e-15, "maxiter": 500},
    )  # fmt: skip
    w = np.clip(res.x, lo, hi)
    w = w / w.sum()
    # The KKT conditions prove the optimum of this convex QP, whatever SLSQP reports: at
    # ftol 1e-15 its line search can stop at the optimum with "positive directional
    # derivative" (seen on a session's 300-bar panel of ETH, LTC and XRP).
    if not kkt_ok(w, mu, sigma, lam, lo, hi):
        raise ValueError(f"continuous weights did not converge: {res.message}")
    return np.asarray(w)


def kkt_ok(
    w: np.ndarray, mu: np.ndarray, sigma: np.ndarray, lam: float, lo: float, hi: float,
    tol: float = 1e-6,
) -> bool:  # fmt: skip
    """KKT of the box- and budget-constrained QP: the gradient is one constant ``nu`` on
    free weights, ``>= nu`` at the lower bound, ``<= nu`` at the upper bound."""
    grad = lam * sigma @ w - mu
    scale = max(1.0, float(np.abs(grad).max()))
    at_lo = w <= lo + 1e-7
    at_hi = w >= hi - 1e-7
    free = ~(at_lo | at_hi)
    nu = float(np.median(grad[free])) if free.any() else float(np.median(grad))
    ok = bool(np.all(np.abs(grad[free] - nu) <= tol * scale))
    ok &= bool(np.all(grad[at_lo & ~at_hi] >= nu - tol * scale))
    ok &= bool(np.all(grad[at_hi & ~at_lo] <= nu + tol * scale))
    return ok


def kelly_weights(mu: np.ndarray, sigma: np.ndarray, fraction: float, cap: float) -> np.ndarray:
    """Fractional Kelly on the diagonal: ``w_i = fraction * mu_i / sigma_ii`` clipped to
    ``[0, cap]``, scaled down to sum 1 when over-invested; the rest stays in cash."""
    var = np.diag(sigma)
    w = np.clip(fraction * mu / var, 0.0, cap)
    total = w.sum()
    return np.asarray(w / total if total > 1.0 else w)


def relaxed_selection(problem: SelectionProblem) -> np.ndarray:
    """The continuous relaxation ``x in [0, 1]^n, sum x = K`` of the selection problem
    (convex because Sigma is PSD): the warm start of QAOA and VQE."""
    n, k = problem.n, problem.budget
    a2 = 2.0 * problem.quadratic
    b = problem.linear

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(problem.cost(x)), a2 @ x + b

    res = minimize(
        objective, np.full(n, k / n), jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda x: x.sum() - k, "jac": lambda x: np.ones(n)}],
        options={"ftol": 1e-14, "maxiter": 500},
    )  # fmt: skip
    if not res.success:
        raise ValueError(f"relaxation did not converge: {res.message}")
    return np.asarray(np.clip(res.x, 0.0, 1.0))
