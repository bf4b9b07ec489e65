"""Shared problems for the portfolio tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from sigmax.portfolio import SelectionProblem


def random_problem(n: int, k: int, seed: int, lam: float = 1.0) -> SelectionProblem:
    """A mean-variance selection problem from a seeded random factor covariance."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(size=(n, 2))
    sigma = loadings @ loadings.T * 0.2 + np.diag(rng.uniform(0.1, 0.5, n))
    mu = rng.normal(0.3, 0.3, n)
    return SelectionProblem(mu, sigma, k, lam)


@pytest.fixture(scope="session")
def make_problem() -> Callable[..., SelectionProblem]:
    """``make_problem(n, k, seed, lam=1.0)``: a seeded random selection problem."""
    return random_problem


@pytest.fixture(scope="session")
def real_problem() -> SelectionProblem:
    from sigmax.portfolio import estimate, load_returns

    est = estimate(load_returns(("BTC", "ETH", "LTC", "XRP", "EOS"), "1d"))
    return SelectionProblem(est.mu, est.sigma, 3, 1.0)
