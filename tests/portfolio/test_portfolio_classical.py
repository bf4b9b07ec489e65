"""Exact selection, continuous weights, Kelly and the relaxation."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from sigmax.portfolio import (
    SelectionProblem,
    kelly_weights,
    mean_variance_weights,
    relaxed_selection,
    solve_exact,
    solve_exhaustive,
    solve_highs,
)
from sigmax.portfolio.classical import kkt_ok


def _brute_force(problem: SelectionProblem) -> tuple[float, float]:
    """min and max of f over feasible bitstrings, one bitstring at a time."""
    costs = [
        float(problem.cost(np.array(bits)))
        for bits in itertools.product((0, 1), repeat=problem.n)
        if sum(bits) == problem.budget
    ]
    return min(costs), max(costs)


@pytest.mark.parametrize(("n", "k", "seed"), [(4, 2, 0), (5, 3, 1), (7, 3, 2), (9, 4, 3)])
def test_exhaustive_equals_brute_force(
    n: int, k: int, seed: int, make_problem: Callable[..., SelectionProblem]
) -> None:
    problem = make_problem(n, k, seed)
    best, worst = _brute_force(problem)
    sol = solve_exhaustive(problem)
    assert sol.cost == pytest.approx(best, abs=1e-12)
    assert sol.worst_cost == pytest.approx(worst, abs=1e-12)
    assert sol.x.sum() == k
    assert float(problem.cost(sol.x)) == pytest.approx(best, abs=1e-12)
    assert [c for _, c in sol.ranking] == sorted(c for _, c in sol.ranking)


@pytest.mark.parametrize(("n", "k", "seed"), [(6, 3, 4), (10, 4, 5), (12, 6, 6)])
def test_highs_linearisation_equals_exhaustive(
    n: int, k: int, seed: int, make_problem: Callable[..., SelectionProblem]
) -> None:
    problem = make_problem(n, k, seed)
    ex, hi = solve_exhaustive(problem), solve_highs(problem)
    assert hi.cost == pytest.approx(ex.cost, abs=1e-9)
    assert hi.worst_cost == pytest.approx(ex.worst_cost, abs=1e-9)
    assert hi.method == "highs"


def test_exact_method_switches_at_the_limit(make_problem: Callable[..., SelectionProblem]) -> None:
    problem = make_problem(8, 3, 7)
    assert solve_exact(problem, "auto", exhaustive_limit=8).method == "exhaustive"
    assert solve_exact(problem, "auto", exhaustive_limit=7).method == "highs"
    with pytest.raises(ValueError, match="unknown exact method"):
        solve_exact(problem, "gurobi")


@pytest.mark.parametrize(("lo", "hi", "lam"), [(0.0, 1.0, 1.0), (0.05, 0.5, 1.0), (0.1, 0.4, 5.0)])
def test_weights_respect_bounds_sum_to_one_and_are_optimal(
    lo: float, hi: float, lam: float, make_problem: Callable[..., SelectionProblem]
) -> None:
    p = make_problem(5, 5, 11)
    w = mean_variance_weights(p.mu, p.sigma, lam, lo, hi)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(w >= lo - 1e-12) and np.all(w <= hi + 1e-12)
    assert kkt_ok(w, p.mu, p.sigma, lam, lo, hi)

    def utility(v: np.ndarray) -> float:
        return float(p.mu @ v - lam / 2 * v @ p.sigma @ v)

    rng = np.random.default_rng(0)  # no feasible perturbation does better
    for _ in range(200):
        d = rng.normal(size=5)
        d -= d.mean()
        v = w + 1e-3 * d
        if np.all(v >= lo) and np.all(v <= hi):
            assert utility(v) <= utility(w) + 1e-12


def test_weights_match_the_closed_form_when_bounds_do_not_bind(
    make_problem: Callable[..., SelectionProblem],
) -> None:
    p = make_problem(4, 4, 12)
    lam = 50.0  # strong risk aversion keeps every weight interior
    inv = np.linalg.inv(p.sigma)
    ones = np.ones(4)
    nu = (ones @ inv @ p.mu - lam) / (ones @ inv @ ones)
    closed = inv @ (p.mu - nu * ones) / lam
    assert np.all((closed > 0) & (closed < 1))
    assert np.allclose(mean_variance_weights(p.mu, p.sigma, lam, 0.0, 1.0), closed, atol=1e-7)


def test_infeasible_bounds_are_an_error(make_problem: Callable[..., SelectionProblem]) -> None:
    p = make_problem(3, 3, 1)
    with pytest.raises(ValueError, match="sum to 1"):
        mean_variance_weights(p.mu, p.sigma, 1.0, 0.0, 0.3)


def test_kelly_is_fractional_capped_and_never_levered() -> None:
    mu = np.array([0.4, -0.1, 2.0, 0.05])
    sigma = np.diag([0.5, 0.3, 0.8, 1.0])
    w = kelly_weights(mu, sigma, 0.5, 0.5)
    assert w == pytest.approx([0.4, 0.0, 0.5, 0.025])
    w = kelly_weights(mu * 10, sigma, 1.0, 0.6)  # over-invested: scaled to 100 %
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w >= 0)


def test_relaxation_is_feasible_and_a_lower_bound(
    make_problem: Callable[..., SelectionProblem],
) -> None:
    problem = make_problem(8, 3, 13)
    x = relaxed_selection(problem)
    assert x.sum() == pytest.approx(3.0, abs=1e-8)
    assert np.all((x >= 0) & (x <= 1))
    assert float(problem.cost(x)) <= solve_exhaustive(problem).cost + 1e-10
