"""The trading env: gymnasium's checker, no look-ahead, exact reward arithmetic, windows."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from sigmax.model import BarSeries
from sigmax.rl.config import EnvConfig
from sigmax.rl.env import Book, TradingEnv, action_to_target, first_decision
from sigmax.rl.features import Features, compute_features
from tests.rl.conftest import make_bars


@pytest.mark.parametrize(
    "overrides",
    [{}, {"allow_short": True}, {"continuous": True}, {"continuous": True, "allow_short": True}],
)
def test_env_checker_passes(btc: BarSeries, overrides: dict[str, bool]) -> None:
    env = TradingEnv(EnvConfig(episode_bars=64, **overrides), bars=btc[:3000])
    check_env(env, skip_render_check=True)
    expected = 3 if overrides.get("allow_short") else 2
    if overrides.get("continuous"):
        assert env.action_space.shape == (1,)
    else:
        assert env.action_space.n == expected  # type: ignore[attr-defined]


def test_features_do_not_look_ahead(btc: BarSeries) -> None:
    bars = btc[:2000]
    t = 1500
    full = compute_features(bars)
    rng = np.random.default_rng(7)
    scale = rng.uniform(0.5, 1.5, len(bars) - t - 1)
    changed = BarSeries(
        bars.symbol,
        bars.timeframe,
        bars.ts,
        *(
            np.concatenate([getattr(bars, k)[: t + 1], getattr(bars, k)[t + 1 :] * scale])
            for k in ("open", "high", "low", "close", "volume")
        ),
    )
    perturbed = compute_features(changed)
    np.testing.assert_array_equal(full.values[: t + 1], perturbed.values[: t + 1])
    assert not np.array_equal(full.values[t + 1 :], perturbed.values[t + 1 :])
    # And the env's observation at t, after the same actions, is the same.
    obs = []
    for series, feats in ((bars, full), (changed, perturbed)):
        env = TradingEnv(EnvConfig(episode_bars=64), bars=series, features=feats, stop=2000)
        env.reset(options={"start": t - 10})
        for a in [1, 1, 0, 1, 0, 0, 1, 1, 1, 0]:
            ob, *_ = env.step(a)
        assert env.t == t
        obs.append(ob)
    np.testing.assert_array_equal(obs[0], obs[1])


def _flat_features(n: int, warmup: int = 1) -> Features:
    return Features(("x",), np.zeros((n, 1), dtype=np.float32), warmup)


def test_reward_arithmetic_fees_slippage_and_drawdown_penalty() -> None:
    bars = make_bars(
        open_=[100, 100, 110, 99, 100, 100],
        close=[100, 110, 99, 100, 100, 100],
    )
    cfg = EnvConfig(window=1, episode_bars=4, fee_bps=10, slippage_bps=5, drawdown_penalty=2.0)
    env = TradingEnv(cfg, bars=bars, features=_flat_features(len(bars)), start=0, stop=6)
    env.reset(options={"start": 0})
    rate = 15 / 10_000
    # t=0 -> long, filled at open[1]=100: units 1/100 less cost 1*rate; close[1]=110.
    _, r1, *_, info1 = env.step(1)
    cash = 1.0 - 1.0 - rate
    e1 = cash + 0.01 * 110
    assert info1["cost"] == pytest.approx(rate)
    assert r1 == pytest.approx(math.log(e1 / 1.0))  # new peak: no penalty
    # t=1 -> stay long (no trade at open 110); close[2]=99: drawdown from peak e1.
    _, r2, *_, info2 = env.step(1)
    e2 = cash + 0.01 * 99
    dd2 = 1 - e2 / e1
    assert info2["cost"] == 0.0
    assert r2 == pytest.approx(math.log(e2 / e1) - 2.0 * dd2)
    assert info2["penalty"] == pytest.approx(2.0 * dd2)
    # t=2 -> flat at open[3]=99: sell 0.01 units, pay rate on 0.99 notional.
    _, r3, *_, info3 = env.step(0)
    e3 = cash + 0.01 * 99 - 0.99 * rate
    dd3 = 1 - e3 / e1
    assert info3["cost"] == pytest.approx(0.99 * rate)
    assert r3 == pytest.approx(math.log(e3 / e2) - 2.0 * (dd3 - dd2))
    # t=3 -> flat: nothing moves, drawdown unchanged, reward exactly 0; episode ends.
    _, r4, terminated, truncated, info4 = env.step(0)
    assert r4 == 0.0 and info4["penalty"] == 0.0
    assert not terminated and truncated
    assert info4["equity"] == pytest.approx(e3)


def test_book_short_and_entry_price() -> None:
    book = Book()
    book.rebalance(-1.0, 100.0, 0.0)
    assert book.units == pytest.approx(-0.01) and book.entry == 100.0
    assert book.unrealised(90.0) == pytest.approx(0.1 / book.equity(90.0))
    book.rebalance(1.0, 90.0, 0.0)  # flip: new entry at the fill price
    assert book.entry == 90.0 and book.units > 0


def test_actions_map_to_targets() -> None:
    long_only = EnvConfig()
    assert [action_to_target(a, long_only) for a in (0, 1)] == [0.0, 1.0]
    with pytest.raises(ValueError, match="outside Discrete"):
        action_to_target(2, long_only)
    both = EnvConfig(allow_short=True, max_position=0.5)
    assert [action_to_target(a, both) for a in (0, 1, 2)] == [0.0, 0.5, -0.5]
    cont = EnvConfig(continuous=True)
    assert action_to_target(np.array([-0.7]), cont) == 0.0
    assert action_to_target(np.array([1.7]), cont) == 1.0
    assert action_to_target(np.array([-0.25]), EnvConfig(continuous=True, allow_short=True)) == (
        -0.25
    )


def test_episode_windows_are_seeded_and_inside_the_train_range(btc: BarSeries) -> None:
    cfg = EnvConfig(episode_bars=200, train_fraction=0.5)
    feats = compute_features(btc)
    env = TradingEnv(cfg, bars=btc, features=feats)
    split = int(len(btc) * 0.5)
    assert env.stop == split
    starts = []
    for seed in range(30):
        env.reset(seed=seed)
        starts.append(env.t0)
        done = False
        while not done:
            _, _, term, trunc, info = env.step(1)
            done = term or trunc
            assert info["bar"] < split  # the bar filled/marked at stays in the train part
    assert min(starts) >= first_decision(feats, cfg.window)
    assert max(starts) <= split - 1 - cfg.episode_bars
    assert len(set(starts)) > 20
    again = TradingEnv(cfg, bars=btc, features=feats)
    assert [again.reset(seed=s) and again.t0 for s in range(30)] == starts


def test_too_short_a_range_is_a_clear_error(btc: BarSeries) -> None:
    with pytest.raises(ValueError, match="hold no episode of 5000"):
        TradingEnv(EnvConfig(episode_bars=5000), bars=btc[:3000])
