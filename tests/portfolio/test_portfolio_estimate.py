"""Returns alignment and the Ledoit-Wolf shrinkage estimators."""

from __future__ import annotations

import numpy as np
import pytest

from sigmax.data import DataError
from sigmax.portfolio import (
    estimate,
    ledoit_wolf_constant_correlation,
    ledoit_wolf_identity,
    load_returns,
)
from sigmax.portfolio.estimate import ReturnsPanel, default_source


def _returns(t: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return rng.multivariate_normal(np.zeros(n), a @ a.T / n + np.eye(n) * 0.1, size=t) * 0.02


def _lw_identity_loops(x: np.ndarray) -> float:
    """Ledoit-Wolf (2004) intensity written out term by term."""
    t, n = x.shape
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / t
    m = np.trace(s) / n
    d2 = np.sum((s - m * np.eye(n)) ** 2)
    b2 = sum(np.sum((np.outer(row, row) - s) ** 2) for row in xc) / t**2
    return float(min(b2, d2) / d2)


def _lw_cc_loops(x: np.ndarray) -> float:
    """Ledoit-Wolf (2003) constant-correlation intensity written out term by term."""
    t, n = x.shape
    y = x - x.mean(axis=0)
    s = y.T @ y / t
    sd = np.sqrt(np.diag(s))
    r = s / np.outer(sd, sd)
    rbar = (r.sum() - n) / (n * (n - 1))
    f = rbar * np.outer(sd, sd)
    np.fill_diagonal(f, np.diag(s))
    pi = sum(np.mean((y[:, i] * y[:, j] - s[i, j]) ** 2) for i in range(n) for j in range(n))
    rho = sum(np.mean((y[:, i] ** 2 - s[i, i]) ** 2) for i in range(n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            th_ii = np.mean((y[:, i] ** 2 - s[i, i]) * (y[:, i] * y[:, j] - s[i, j]))
            th_jj = np.mean((y[:, j] ** 2 - s[j, j]) * (y[:, i] * y[:, j] - s[i, j]))
            rho += rbar / 2 * (sd[j] / sd[i] * th_ii + sd[i] / sd[j] * th_jj)
    gamma = np.sum((f - s) ** 2)
    return float(np.clip((pi - rho) / gamma / t, 0.0, 1.0))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_identity_shrinkage_matches_the_formula(seed: int) -> None:
    x = _returns(40, 6, seed)
    cov, intensity = ledoit_wolf_identity(x)
    assert intensity == pytest.approx(_lw_identity_loops(x), rel=1e-10)
    xc = x - x.mean(axis=0)
    s = xc.T @ xc / len(x)
    target = np.trace(s) / 6 * np.eye(6)
    assert np.allclose(cov, intensity * target + (1 - intensity) * s)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_constant_correlation_shrinkage_matches_the_formula(seed: int) -> None:
    x = _returns(50, 5, seed)
    _, intensity = ledoit_wolf_constant_correlation(x)
    assert intensity == pytest.approx(_lw_cc_loops(x), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("target", ["identity", "constant-correlation"])
def test_shrunk_covariance_is_symmetric_pd_and_better_conditioned(target: str) -> None:
    x = _returns(25, 12, 4)  # few observations for the dimension: sample cov ill-conditioned
    shrink = ledoit_wolf_identity if target == "identity" else ledoit_wolf_constant_correlation
    cov, intensity = shrink(x)
    xc = x - x.mean(axis=0)
    sample = xc.T @ xc / len(x)
    assert 0.0 < intensity <= 1.0
    assert np.allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > 0
    assert np.linalg.cond(cov) < np.linalg.cond(sample)
    if target == "identity":  # the scaled identity keeps the total variance
        assert np.trace(cov) == pytest.approx(np.trace(sample))
    else:  # constant correlation keeps every variance
        assert np.allclose(np.diag(cov), np.diag(sample))


def test_intensity_shrinks_with_more_data() -> None:
    short = ledoit_wolf_constant_correlation(_returns(40, 5, 9))[1]
    long = ledoit_wolf_constant_correlation(_returns(4000, 5, 9))[1]
    assert long < short


def test_bundled_returns_are_aligned_on_common_days() -> None:
    panel = load_returns(("BTC", "ETH", "LTC", "XRP", "EOS"), "1d")
    assert panel.returns.shape == (len(panel.ts), 5)
    assert np.all(np.diff(panel.ts) > 0)
    assert np.all(np.isfinite(panel.returns))
    assert panel.sources["BTC"] == "bundled:BTC-USD-1d"
    assert panel.sources["EOS"] == "bundled:EOS-USD-30m"
    assert panel.periods_per_year == pytest.approx(365.0)
    est = estimate(panel)
    assert est.mu.shape == (5,) and est.sigma.shape == (5, 5)
    assert np.allclose(np.diag(est.corr), 1.0)


def test_lookback_and_unknown_assets() -> None:
    panel = load_returns(("BTC", "ETH"), "1d", lookback=100)
    assert panel.returns.shape == (100, 2)
    with pytest.raises(DataError, match="DOGE"):
        default_source("DOGE", "1d")
    with pytest.raises(DataError, match="coarser"):
        default_source("BTC", "1m")


def test_too_few_returns_is_an_error() -> None:
    panel = ReturnsPanel(("A", "B"), "1d", np.arange(10), np.zeros((10, 2)))
    with pytest.raises(DataError, match="too few"):
        estimate(panel)


def test_synthetic_extension_keeps_real_columns_and_calibration() -> None:
    from sigmax.portfolio.synthetic import extend_panel

    real = load_returns(("BTC", "ETH", "LTC", "XRP", "EOS"), "1d")
    panel = extend_panel(real, 12, seed=3)
    assert panel.assets[:5] == real.assets and panel.synthetic == tuple(
        f"SYN{i}" for i in range(6, 13)
    )
    assert np.array_equal(panel.returns[:, :5], real.returns)
    corr = np.corrcoef(panel.returns, rowvar=False)
    real_corr = np.corrcoef(real.returns, rowvar=False)
    rbar = (real_corr.sum() - 5) / 20
    assert abs(corr[5:, :].mean(where=~np.eye(12, dtype=bool)[5:, :]) - rbar) < 0.05
    ratio = panel.returns[:, 5:].std(axis=0) / real.returns.std(axis=0)[np.arange(5, 12) % 5]
    assert np.all((ratio > 0.7) & (ratio < 1.3))
    assert extend_panel(real, 4).assets == real.assets[:4]
