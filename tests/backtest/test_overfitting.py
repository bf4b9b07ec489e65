"""Deflated Sharpe ratio and PBO (CSCV) against published values, closed forms and a
step-by-step reference implementation of the paper's procedure."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from sigmax.backtest.overfitting import (
    OverfittingInputError,
    block_sums,
    cscv_pbo,
    deflated_sharpe_of,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    return_moments,
)


def test_dsr_reproduces_the_papers_worked_example() -> None:
    # Bailey & López de Prado (2014), section 5: 100 trials, variance of their annualised
    # Sharpe ratios 1/2, the best 2.5 annualised, 1,250 daily returns, skew -3, kurtosis 10.
    sr = 2.5 / math.sqrt(250)
    result = deflated_sharpe_ratio(sr, 1250, -3.0, 10.0, 100, 0.5 / 250)
    assert result.expected_max_sharpe == pytest.approx(0.1132, abs=5e-5)
    assert result.dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_hand_computed() -> None:
    # sqrt(V) * ((1-γ) z(1 - 1/N) + γ z(1 - 1/(N e))), with scipy's normal quantiles.
    gamma = 0.5772156649015329
    n, v = 40, 0.04
    by_hand = math.sqrt(v) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n) + gamma * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    assert expected_max_sharpe(n, v) == pytest.approx(by_hand, rel=1e-9)
    # It approximates the mean maximum of N standard normals (2.5076 for N = 100).
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.5076, rel=0.02)
    assert expected_max_sharpe(1, 0.3) == 0.0
    assert expected_max_sharpe(50, 0.0) == 0.0


def test_psr_of_normal_returns_is_the_closed_form() -> None:
    sr, t = 0.1, 101
    by_hand = stats.norm.cdf(sr * math.sqrt(t - 1) / math.sqrt(1 + sr**2 / 2))
    assert probabilistic_sharpe_ratio(sr, 0.0, t, 0.0, 3.0) == pytest.approx(by_hand, rel=1e-12)
    # Negative skew and fat tails widen the Sharpe ratio's error: less confidence.
    assert probabilistic_sharpe_ratio(sr, 0.0, t, -2.0, 9.0) < by_hand


def test_moments_match_scipy() -> None:
    r = np.random.default_rng(3).standard_t(4, size=500) * 0.01
    m = return_moments(r)
    assert m.mean == pytest.approx(float(np.mean(r)))
    assert m.std == pytest.approx(float(np.std(r, ddof=1)))
    assert m.skew == pytest.approx(float(stats.skew(r)))
    assert m.kurtosis == pytest.approx(float(stats.kurtosis(r, fisher=False)))


def test_dsr_of_one_trial_is_the_psr_against_zero() -> None:
    r = np.random.default_rng(5).normal(0.001, 0.01, 400)
    m = return_moments(r)
    d = deflated_sharpe_of(r, np.array([m.sharpe]))
    assert d.expected_max_sharpe == 0.0 and d.n_trials == 1
    assert d.dsr == pytest.approx(probabilistic_sharpe_ratio(m.sharpe, 0, m.n, m.skew, m.kurtosis))
    # More trials with spread raise the bar and lower the DSR.
    assert deflated_sharpe_of(r, np.array([m.sharpe, 0.0, -0.05, 0.05])).dsr < d.dsr


def _reference_pbo(returns: np.ndarray, n_blocks: int) -> tuple[float, list[float]]:
    """CSCV exactly as the paper lists its steps, with plain loops."""
    blocks = np.array_split(returns, n_blocks, axis=0)
    logits = []
    for combo in itertools.combinations(range(n_blocks), n_blocks // 2):
        train = np.concatenate([blocks[i] for i in combo])
        test = np.concatenate([blocks[i] for i in range(n_blocks) if i not in combo])

        def sharpe(m: np.ndarray) -> np.ndarray:
            return m.mean(axis=0) / m.std(axis=0, ddof=1)

        best = int(np.argmax(sharpe(train)))
        oos = sharpe(test)
        rank = stats.rankdata(oos)[best]  # 1 = worst; ties: average rank
        omega = rank / (returns.shape[1] + 1)
        logits.append(math.log(omega / (1 - omega)))
    return float(np.mean(np.array(logits) <= 0)), logits


def test_pbo_matches_the_reference_procedure() -> None:
    m = np.random.default_rng(11).normal(0, 0.01, (240, 7))
    m[:, 2] += 0.0015  # one mildly skilled trial among noise
    result = cscv_pbo(m, 6)
    pbo, logits = _reference_pbo(m, 6)
    assert result.splits == math.comb(6, 3) == len(logits)
    assert result.pbo == pytest.approx(pbo)
    assert np.allclose(result.logits, logits)


def test_pbo_is_one_when_the_in_sample_best_always_loses_out_of_sample() -> None:
    # Two trials, two blocks: A wins the first half and loses the second, B the reverse.
    # Whichever half is in sample, its best is the worse one out of sample: rank 1 of 2,
    # omega 1/3, logit ln(1/2) on both splits.
    up, down = np.full(50, 0.002), np.full(50, -0.001)
    noise = np.random.default_rng(1).normal(0, 1e-4, (100, 2))
    m = np.column_stack([np.r_[up, down], np.r_[down, up]]) + noise
    result = cscv_pbo(m, 2)
    assert result.pbo == 1.0
    assert np.allclose(result.logits, math.log(0.5))


def test_pbo_is_zero_for_a_trial_that_dominates_every_block() -> None:
    m = np.random.default_rng(2).normal(0, 0.01, (1600, 20))
    m[:, 7] += 0.01
    result = cscv_pbo(m, 16)
    assert result.pbo == 0.0 and result.splits == 12870
    assert set(result.chosen.tolist()) == {7}
    assert np.allclose(result.logits, math.log(20 / 1))  # rank 20 of 20: omega 20/21


def test_pbo_of_pure_noise_is_near_one_half_on_average() -> None:
    pbos = [cscv_pbo(np.random.default_rng(s).normal(0, 0.01, (400, 10)), 8).pbo for s in range(40)]
    assert 0.4 < float(np.mean(pbos)) < 0.6


def test_block_sums_give_each_blocks_count_sum_and_squares() -> None:
    m = np.arange(10, dtype=float).reshape(5, 2)  # 5 rows: blocks of 3 and 2 rows
    sums = block_sums(np.vstack([m, m]), 2)
    assert sums.shape == (2, 2, 3)
    assert sums[0, 0].tolist() == [5, 20, 120]  # column 0: 0, 2, 4, 6, 8


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cscv_pbo(np.zeros((40, 3)), 5), "even number of blocks"),
        (lambda: cscv_pbo(np.zeros((40, 1)), 4), "at least 2 trials"),
        (lambda: cscv_pbo(np.zeros((6, 3)), 4), "cannot make 4 blocks"),
        (lambda: probabilistic_sharpe_ratio(0.1, 0, 1, 0, 3), "n_obs must be >= 2"),
        (lambda: expected_max_sharpe(0, 1.0), "n_trials must be >= 1"),
        (lambda: return_moments(np.array([0.1, np.nan, 0.2])), "finite"),
    ],
)
def test_bad_input_is_refused_with_a_reason(call: object, message: str) -> None:
    with pytest.raises(OverfittingInputError, match=message):
        call()  # type: ignore[operator]
