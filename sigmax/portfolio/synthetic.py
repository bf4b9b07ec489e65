"""Synthetic assets calibrated to real ones, for scaling studies beyond the bundled five.

Only five assets have stored bars. To study n > 5 the real panel is extended with
synthetic return series: asset ``j`` copies the annual mean and volatility of real
asset ``j mod 5`` times seeded factors in ``[0.8, 1.2]``, and correlates with every
other asset at the real panel's average pairwise correlation. The real series stay
exactly as stored; the synthetic ones are drawn *conditionally on them* from the
multivariate normal with that target mean/covariance, so the joint sample has the
intended structure. Output and docs that use them must say so (``panel.synthetic``).
"""

from __future__ import annotations

import numpy as np

from sigmax.portfolio.estimate import ReturnsPanel


def extend_panel(panel: ReturnsPanel, n: int, seed: int = 0) -> ReturnsPanel:
    """``panel`` with ``n - len(panel.assets)`` synthetic columns appended (``SYN6``, ...)."""
    x = panel.returns
    t, m = x.shape
    if n <= m:
        keep = list(range(n))
        return ReturnsPanel(
            tuple(panel.assets[:n]), panel.timeframe, panel.ts, x[:, keep],
            {a: panel.sources[a] for a in panel.assets[:n] if a in panel.sources},
        )  # fmt: skip
    rng = np.random.default_rng(seed)
    mean, vol = x.mean(axis=0), x.std(axis=0, ddof=1)
    corr = np.corrcoef(x, rowvar=False)
    rbar = float((corr.sum() - m) / (m * (m - 1)))
    extra = n - m
    parents = np.arange(m, n) % m
    mean_new = mean[parents] * rng.uniform(0.8, 1.2, extra)
    vol_new = vol[parents] * rng.uniform(0.8, 1.2, extra)
    full_vol = np.concatenate([vol, vol_new])
    target = np.full((n, n), rbar)
    target[:m, :m] = corr
    np.fill_diagonal(target, 1.0)
    cov = target * np.outer(full_vol, full_vol)
    c11, c12, c22 = cov[:m, :m], cov[:m, m:], cov[m:, m:]
    gain = np.linalg.solve(c11, c12)  # (m, extra)
    cond_cov = c22 - c12.T @ gain
    cond_cov = (cond_cov + cond_cov.T) / 2.0
    if np.linalg.eigvalsh(cond_cov).min() <= 0:
        raise ValueError("target correlation is not positive definite for this panel")
    noise = rng.multivariate_normal(np.zeros(extra), cond_cov, size=t)
    synthetic = mean_new + (x - mean) @ gain + noise
    names = tuple(f"SYN{j + 1}" for j in range(m, n))
    return ReturnsPanel(
        panel.assets + names, panel.timeframe, panel.ts, np.hstack([x, synthetic]),
        dict(panel.sources), names,
    )  # fmt: skip
