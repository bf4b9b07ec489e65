"""How much of a parameter search's best result is luck: deflated Sharpe ratio and PBO.

Pure maths on per-bar returns (no Ray, no backtest): ``sigmax tune`` feeds it the
validation returns of its trials.

* :func:`deflated_sharpe_ratio` (Bailey & López de Prado, 2014): the probability that
  the chosen set's true Sharpe ratio is above the best Sharpe ratio that
  ``n_trials`` unskilled trials would be expected to show by chance, given how
  much the trials' Sharpe ratios spread and how skewed and fat-tailed the chosen
  set's returns are.
* :func:`cscv_pbo` (Bailey, Borwein, López de Prado & Zhu, 2015): the probability
  of backtest overfitting by combinatorially symmetric cross-validation. The
  return series is cut into ``S`` blocks; for every way of choosing half the
  blocks as in-sample, the best in-sample trial is ranked among all trials on the
  other half. PBO is the share of those splits where it lands at or below the
  out-of-sample median.

Sharpe ratios here are per bar (not annualised): mean over sample standard
deviation (``ddof=1``), 0 when the standard deviation is 0, as
:func:`sigmax.backtest.metrics.curve_metrics` does before annualising.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from sigmax.errors import InvalidInputError

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


class OverfittingInputError(InvalidInputError):
    """The numbers given to a DSR or PBO computation cannot give an answer."""


# ---------------------------------------------------------------------- moments


@dataclass(frozen=True, slots=True)
class ReturnMoments:
    """Moments of one return series: count, mean, sample std (``ddof=1``), skewness and
    kurtosis (population estimates; kurtosis not in excess: a normal gives 3)."""

    n: int
    mean: float
    std: float
    skew: float
    kurtosis: float

    @property
    def sharpe(self) -> float:
        """Per-bar Sharpe ratio: mean / std, 0 when std is 0."""
        return self.mean / self.std if self.std > 0 else 0.0


def return_moments(returns: np.ndarray) -> ReturnMoments:
    """The :class:`ReturnMoments` of a 1-d series of at least two finite returns."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1 or r.size < 2:
        raise OverfittingInputError(f"returns: need a 1-d series of >= 2 values, got {r.shape}")
    if not np.all(np.isfinite(r)):
        raise OverfittingInputError("returns: every value must be finite")
    mean = float(r.mean())
    centred = r - mean
    m2 = float(np.mean(centred**2))
    if m2 == 0.0:
        skew, kurt = 0.0, 3.0  # a constant series: treated as the normal's shape
    else:
        skew = float(np.mean(centred**3)) / m2**1.5
        kurt = float(np.mean(centred**4)) / m2**2
    return ReturnMoments(int(r.size), mean, float(r.std(ddof=1)), skew, kurt)


# --------------------------------------------------------------------------- DSR


def probabilistic_sharpe_ratio(
    sharpe: float, benchmark: float, n_obs: int, skew: float, kurtosis: float
) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-bar ``sharpe`` over ``n_obs``
    returns with that skewness and (non-excess) kurtosis (Bailey & López de Prado)."""
    if n_obs < 2:
        raise OverfittingInputError(f"n_obs must be >= 2, got {n_obs}")
    spread = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not spread > 0.0:
        raise OverfittingInputError(
            f"the Sharpe ratio's standard error is not positive (1 - skew*SR + (kurt-1)/4*SR^2 "
            f"= {spread}); skew {skew} and kurtosis {kurtosis} are not a real series' moments"
        )
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(spread)
    return _NORMAL.cdf(z)


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The Sharpe ratio the best of ``n_trials`` unskilled trials shows by chance:
    ``sqrt(V) * ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e)))`` (γ: Euler-Mascheroni);
    0 for one trial or no spread."""
    if n_trials < 1:
        raise OverfittingInputError(f"n_trials must be >= 1, got {n_trials}")
    if not (math.isfinite(sharpe_variance) and sharpe_variance >= 0):
        raise OverfittingInputError(
            f"sharpe_variance must be finite and >= 0, got {sharpe_variance}"
        )
    if n_trials == 1 or sharpe_variance == 0.0:
        return 0.0
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


@dataclass(frozen=True, slots=True)
class DeflatedSharpe:
    """The deflated Sharpe ratio and what went into it (Sharpe ratios per bar)."""

    dsr: float
    sharpe: float
    expected_max_sharpe: float
    n_trials: int
    sharpe_variance: float
    n_obs: int
    skew: float
    kurtosis: float


def deflated_sharpe_ratio(
    sharpe: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
    n_trials: int,
    sharpe_variance: float,
) -> DeflatedSharpe:
    """PSR of the chosen set against :func:`expected_max_sharpe` of the search."""
    sr0 = expected_max_sharpe(n_trials, sharpe_variance)
    dsr = probabilistic_sharpe_ratio(sharpe, sr0, n_obs, skew, kurtosis)
    return DeflatedSharpe(dsr, sharpe, sr0, n_trials, sharpe_variance, n_obs, skew, kurtosis)


def deflated_sharpe_of(chosen_returns: np.ndarray, trial_sharpes: np.ndarray) -> DeflatedSharpe:
    """DSR of the chosen set's per-bar returns, deflated by every trial's per-bar Sharpe
    ratio (the chosen one included; their sample variance, ``ddof=1``, is V)."""
    sharpes = np.asarray(trial_sharpes, dtype=np.float64)
    if sharpes.ndim != 1 or sharpes.size < 1 or not np.all(np.isfinite(sharpes)):
        raise OverfittingInputError("trial_sharpes: need one finite Sharpe ratio per trial")
    m = return_moments(chosen_returns)
    variance = float(np.var(sharpes, ddof=1)) if sharpes.size > 1 else 0.0
    return deflated_sharpe_ratio(m.sharpe, m.n, m.skew, m.kurtosis, int(sharpes.size), variance)


# --------------------------------------------------------------------------- PBO


def block_sums(returns: np.ndarray, n_blocks: int) -> np.ndarray:
    """Per block and trial ``(count, Σr, Σr²)`` of a ``(T, N)`` return matrix cut into
    ``n_blocks`` consecutive row blocks (the last ones one row shorter when ``T`` does
    not divide evenly); shape ``(n_blocks, N, 3)``."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2:
        raise OverfittingInputError(f"returns: need a (bars, trials) matrix, got shape {m.shape}")
    if n_blocks < 2 or m.shape[0] < 2 * n_blocks:
        raise OverfittingInputError(
            f"{m.shape[0]} returns cannot make {n_blocks} blocks of >= 2 (need >= 2 blocks)"
        )
    out = np.empty((n_blocks, m.shape[1], 3))
    for s, rows in enumerate(np.array_split(m, n_blocks, axis=0)):
        out[s, :, 0] = rows.shape[0]
        out[s, :, 1] = rows.sum(axis=0)
        out[s, :, 2] = (rows**2).sum(axis=0)
    return out


def sharpe_from_sums(sums: np.ndarray) -> np.ndarray:
    """Per-bar Sharpe ratio (``ddof=1``) from ``(..., 3)`` arrays of ``(count, Σr, Σr²)``;
    0 where the standard deviation is 0."""
    n, s1, s2 = sums[..., 0], sums[..., 1], sums[..., 2]
    mean = s1 / n
    var = np.maximum(s2 - s1 * mean, 0.0) / (n - 1)
    # A variance within rounding of Σr² (a constant series computed from sums) counts as 0.
    flat = var <= 1e-14 * (s2 / n)
    std = np.sqrt(np.where(flat, 1.0, var))
    return np.where(flat, 0.0, mean / std)


@dataclass(frozen=True, slots=True)
class PBOResult:
    """CSCV's answer: ``pbo`` and, per split, the logit of the in-sample best trial's
    out-of-sample relative rank, its index and its in- and out-of-sample Sharpe ratios."""

    pbo: float
    logits: np.ndarray
    chosen: np.ndarray
    is_sharpe: np.ndarray
    oos_sharpe: np.ndarray
    n_blocks: int
    n_trials: int

    @property
    def splits(self) -> int:
        return int(self.logits.size)

    @property
    def prob_oos_loss(self) -> float:
        """Share of splits in which the in-sample best lost money out of sample."""
        return float(np.mean(self.oos_sharpe < 0))

    def summary(self) -> dict[str, float | int]:
        return {
            "pbo": self.pbo,
            "splits": self.splits,
            "blocks": self.n_blocks,
            "trials": self.n_trials,
            "logit_median": float(np.median(self.logits)),
            "prob_oos_loss": self.prob_oos_loss,
            "is_sharpe_mean": float(np.mean(self.is_sharpe)),
            "oos_sharpe_mean": float(np.mean(self.oos_sharpe)),
        }


def pbo_from_block_sums(sums: np.ndarray) -> PBOResult:
    """CSCV over precomputed :func:`block_sums` of shape ``(S, N, 3)``, ``S`` even."""
    stats = np.asarray(sums, dtype=np.float64)
    if stats.ndim != 3 or stats.shape[2] != 3:
        raise OverfittingInputError(
            f"block sums: need shape (blocks, trials, 3), got {stats.shape}"
        )
    n_blocks, n_trials, _ = stats.shape
    if n_blocks < 2 or n_blocks % 2:
        raise OverfittingInputError(f"CSCV needs an even number of blocks >= 2, got {n_blocks}")
    if n_trials < 2:
        raise OverfittingInputError(f"CSCV needs at least 2 trials, got {n_trials}")
    if np.any(stats[..., 0] < 1):
        raise OverfittingInputError("block sums: every block needs at least one return")
    combos = list(itertools.combinations(range(n_blocks), n_blocks // 2))
    mask = np.zeros((len(combos), n_blocks))
    for c, combo in enumerate(combos):
        mask[c, list(combo)] = 1.0
    flat = stats.reshape(n_blocks, n_trials * 3)
    is_sums = (mask @ flat).reshape(len(combos), n_trials, 3)
    oos_sums = ((1.0 - mask) @ flat).reshape(len(combos), n_trials, 3)
    is_sr = sharpe_from_sums(is_sums)
    oos_sr = sharpe_from_sums(oos_sums)
    rows = np.arange(len(combos))
    best = np.argmax(is_sr, axis=1)  # ties: the first trial
    best_oos = oos_sr[rows, best]
    below = np.sum(oos_sr < best_oos[:, None], axis=1)
    equal = np.sum(oos_sr == best_oos[:, None], axis=1)
    rank = below + (equal + 1) / 2.0  # 1 = worst out of sample, N = best; ties: average
    omega = rank / (n_trials + 1.0)
    logits = np.log(omega / (1.0 - omega))
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        chosen=best,
        is_sharpe=is_sr[rows, best],
        oos_sharpe=best_oos,
        n_blocks=n_blocks,
        n_trials=n_trials,
    )


def cscv_pbo(returns: np.ndarray, n_blocks: int = 16) -> PBOResult:
    """PBO of a ``(T, N)`` matrix of per-bar returns (one column per trial) by CSCV."""
    return pbo_from_block_sums(block_sums(returns, n_blocks))
