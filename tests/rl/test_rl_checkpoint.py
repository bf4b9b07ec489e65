"""A checkpoint records its observation's layout (window, analysts, feature names in
order); loading a policy or resuming refuses another layout than the code builds, with
an error naming the features and the checkpoint, so no analyst change silently shifts
the policy's inputs. Checkpoints written before the record load with a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from structlog.testing import capture_logs

from sigmax.agents.base import Agent
from sigmax.agents.trend import TrendAgent
from sigmax.errors import InvalidInputError
from sigmax.model import BarSeries
from sigmax.rl.checkpoint import (
    LEGACY_FEATURES,
    META_FILE,
    OBSERVATION_KEY,
    CheckpointError,
    CheckpointMismatchError,
    check_observation,
    observation_record,
    read_meta,
    recorded_layout,
    write_meta,
)
from sigmax.rl.config import EnvConfig
from sigmax.rl.env import TradingEnv
from sigmax.rl.features import feature_names, market_agents, observation_layout
from sigmax.rl.policy import TrainedPolicy
from sigmax.strategies import StrategyError, make_strategy
from tests.rl.conftest import TINY

WINDOW = 16
ORIGINAL_WIDTH = WINDOW * len(LEGACY_FEATURES) + 2  # 226


def with_added_analyst() -> list[Agent]:
    """The current analysts and one more: what adding an analyst to the roster does."""
    return [*market_agents(), TrendAgent(name="trend_slow")]


def fake_checkpoint(folder: Path, meta: dict[str, Any]) -> Path:
    """A checkpoint folder holding only what is read before the RLModule (a test double
    for RLlib's state, which only training writes)."""
    folder.mkdir(parents=True)
    (folder / "algorithm_state.pkl").write_bytes(b"")
    write_meta(folder, meta)
    return folder


def meta_for(window: int = WINDOW, agents: list[Agent] | None = None) -> dict[str, Any]:
    env = EnvConfig(window=window)
    return {"env": env.model_dump(), **observation_record(observation_layout(window, agents))}


def edit_record(checkpoint: Path, change: Any) -> None:
    meta = read_meta(checkpoint)
    change(meta)
    write_meta(checkpoint, meta)


def test_the_layout_is_what_the_env_observes(btc: BarSeries) -> None:
    env = TradingEnv(EnvConfig(window=4, episode_bars=64), bars=btc[:3000])
    layout = observation_layout(4)
    assert layout.features == env.features.names == feature_names()
    assert layout.analysts == ("trend", "momentum", "mean_reversion", "volatility", "sentiment")
    assert env.observation_space.shape == (layout.size,) == (4 * 14 + 2,)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (layout.size,)
    assert recorded_layout(observation_record(layout)) == layout


def test_a_matching_record_passes_quietly(tmp_path: Path) -> None:
    ckpt = fake_checkpoint(tmp_path / "ckpt", meta_for())
    with capture_logs() as logs:
        check_observation(ckpt, read_meta(ckpt), observation_layout(WINDOW))
    assert logs == []


def test_an_added_analyst_is_refused_naming_its_features_and_the_checkpoint(
    tmp_path: Path,
) -> None:
    ckpt = fake_checkpoint(tmp_path / "ckpt", meta_for())
    with pytest.raises(CheckpointMismatchError) as caught:
        TrainedPolicy.load(ckpt, agents=with_added_analyst())
    message = str(caught.value)
    assert isinstance(caught.value, InvalidInputError)
    assert str(ckpt) in message
    assert "extra now (built, unknown to the checkpoint): trend_slow.score, " in message
    assert "trend_slow.confidence" in message and "missing now" not in message
    assert f"takes {ORIGINAL_WIDTH} inputs, this code would feed {ORIGINAL_WIDTH + 32}" in (message)
    assert "sigmax train" in message


def test_a_removed_feature_is_named_missing(tmp_path: Path) -> None:
    ckpt = fake_checkpoint(tmp_path / "ckpt", meta_for(agents=with_added_analyst()))
    with pytest.raises(CheckpointMismatchError, match=r"missing now \(in the checkpoint, not "):
        TrainedPolicy.load(ckpt)


def test_the_same_features_in_another_order_are_refused(tmp_path: Path) -> None:
    ckpt = fake_checkpoint(tmp_path / "ckpt", meta_for())
    edit_record(ckpt, lambda m: m[OBSERVATION_KEY]["features"].reverse())
    with pytest.raises(CheckpointMismatchError, match="the same features in another order"):
        TrainedPolicy.load(ckpt)


def test_the_strategy_refuses_a_checkpoint_from_before_a_feature_was_added(
    tmp_path: Path, btc: BarSeries
) -> None:
    """The checkpoint's policy never saw ``vol_ratio``, which this code builds."""
    ckpt = fake_checkpoint(tmp_path / "ckpt", meta_for())
    edit_record(ckpt, lambda m: m[OBSERVATION_KEY]["features"].remove("vol_ratio"))
    strategy = make_strategy("rl_policy", {"checkpoint": str(ckpt)})
    with pytest.raises(StrategyError, match=r"unknown to the checkpoint\): vol_ratio\. ") as e:
        strategy.targets(btc[:500])
    assert str(ckpt) in str(e.value)


def test_a_checkpoint_without_a_record_is_checked_against_the_original_features(
    tmp_path: Path,
) -> None:
    meta = meta_for()
    del meta[OBSERVATION_KEY]
    ckpt = fake_checkpoint(tmp_path / "ckpt", meta)
    with capture_logs() as logs:
        check_observation(ckpt, meta, observation_layout(WINDOW))
    assert [entry["log_level"] for entry in logs] == ["warning"]
    assert logs[0]["checkpoint"] == str(ckpt)
    with pytest.raises(CheckpointMismatchError, match="written before checkpoints recorded"):
        TrainedPolicy.load(ckpt, agents=with_added_analyst())
    with pytest.raises(CheckpointError, match="has no RLModule"):  # past the check
        TrainedPolicy.load(ckpt)


@pytest.mark.slow
def test_training_records_the_layout_and_a_matching_checkpoint_loads(
    trained_dir: Path,
) -> None:
    for ckpt in sorted(trained_dir.glob("checkpoint_*")):
        meta = json.loads((ckpt / META_FILE).read_text())
        assert meta[OBSERVATION_KEY] == {
            "window": WINDOW,
            "analysts": ["trend", "momentum", "mean_reversion", "volatility", "sentiment"],
            "features": list(feature_names()),
            "extras": ["exposure", "unrealised_pnl"],
        }
    policy = TrainedPolicy.load(trained_dir)
    assert policy.observation == observation_layout(WINDOW)
    assert policy.module.observation_space.shape == (policy.observation.size,)
    assert policy.act(np.zeros((3, policy.observation.size), dtype=np.float32)).shape == (3,)
    with pytest.raises(CheckpointMismatchError, match="trend_slow.score"):
        TrainedPolicy.load(trained_dir, agents=with_added_analyst())


@pytest.mark.slow
def test_a_trained_checkpoint_without_its_record_loads_with_a_warning(
    trained_dir: Path, tmp_path: Path, btc: BarSeries
) -> None:
    ckpt = tmp_path / "legacy"
    shutil.copytree(trained_dir / "checkpoint_000002", ckpt)
    edit_record(ckpt, lambda m: m.pop(OBSERVATION_KEY))
    with capture_logs() as logs:
        policy = TrainedPolicy.load(ckpt)
    assert [entry["log_level"] for entry in logs] == ["warning"]
    current = TrainedPolicy.load(trained_dir / "checkpoint_000002")
    bars = btc[:800]
    np.testing.assert_array_equal(policy.targets(bars), current.targets(bars))


@pytest.mark.slow
def test_a_record_that_does_not_describe_its_policy_is_refused(
    trained_dir: Path, tmp_path: Path
) -> None:
    """Window 8 in both the env settings and the record: the layouts agree, but the
    policy's own input width (16 bars of features) does not."""
    ckpt = tmp_path / "lying"
    shutil.copytree(trained_dir / "checkpoint_000002", ckpt)

    def halve_window(meta: dict[str, Any]) -> None:
        meta["env"]["window"] = meta[OBSERVATION_KEY]["window"] = 8

    edit_record(ckpt, halve_window)
    with pytest.raises(CheckpointMismatchError, match=f"takes {ORIGINAL_WIDTH} inputs"):
        TrainedPolicy.load(ckpt)


@pytest.mark.slow
def test_resuming_refuses_a_checkpoint_trained_on_other_features(
    trained_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sigmax.jobs.train import main

    ckpt = tmp_path / "old"
    shutil.copytree(trained_dir / "checkpoint_000002", ckpt / "checkpoint_000002")
    edit_record(
        ckpt / "checkpoint_000002", lambda m: m[OBSERVATION_KEY]["features"].remove("ret_24")
    )
    resumed = ["--iterations", "1", "--resume", str(ckpt), "--checkpoint-dir", str(ckpt)]
    assert main([*resumed, *TINY[2:]]) == 2
    assert "ret_24" in capsys.readouterr().err
    assert sorted(p.name for p in ckpt.iterdir()) == ["checkpoint_000002"]
