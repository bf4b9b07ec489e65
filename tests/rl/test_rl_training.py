"""PPO through RLlib on the session's Ray cluster: the job module trains and saves, a
resumed run continues, and the ``rl_policy`` strategy backtests with the checkpoint."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from sigmax.agents.config import GraphConfig, RLAgentConfig
from sigmax.backtest.risk_profile import backtest_risk_config
from sigmax.backtest.rl_evaluation import evaluate, held_out
from sigmax.backtest.runner import BacktestRequest, run_backtest
from sigmax.data import load_bars
from sigmax.graph import DecisionGraph
from sigmax.model import BarSeries
from sigmax.rl.checkpoint import META_FILE, CheckpointError, resolve_checkpoint
from sigmax.rl.config import EnvConfig
from sigmax.rl.policy import TrainedPolicy
from sigmax.rl.train import iter_metrics
from sigmax.strategies import StrategyError, make_strategy
from tests.rl.conftest import TINY


@pytest.mark.slow
def test_train_job_resume_and_rl_policy_backtest(
    trained_dir: Path, small_csv: Path, tmp_path: Path
) -> None:
    from sigmax.jobs.train import main

    ckpt = tmp_path / "ckpt"
    shutil.copytree(trained_dir, ckpt)  # resuming writes into it
    first = sorted(p.name for p in ckpt.glob("checkpoint_*"))
    assert first == ["checkpoint_000001", "checkpoint_000002"]
    meta = json.loads((ckpt / "checkpoint_000002" / META_FILE).read_text())
    assert meta["iteration"] == 2 and meta["env"]["allow_short"] is True
    rows = list(iter_metrics(ckpt))
    assert [r["training_iteration"] for r in rows] == [1.0, 2.0]
    assert rows[-1]["num_env_steps_sampled_lifetime"] >= 256
    assert any((ckpt / "tensorboard").iterdir())

    # Resume from the checkpoint dir (its newest checkpoint) for one more iteration.
    resumed = ["--iterations", "1", "--resume", str(ckpt), "--checkpoint-dir", str(ckpt)]
    assert main([*resumed, *TINY[2:]]) == 0
    assert resolve_checkpoint(ckpt).name == "checkpoint_000003"
    assert [r["training_iteration"] for r in iter_metrics(ckpt)] == [1.0, 2.0, 3.0]

    # The trained policy as a strategy, through the backtest engine on held-out bars.
    policy = TrainedPolicy.load(ckpt)
    assert policy.env.data == str(small_csv)
    test_bars = held_out(load_bars(str(small_csv)), 0.7)
    request = BacktestRequest(
        data=str(small_csv),
        strategy="rl_policy",
        params={"checkpoint": str(ckpt)},
        fee_bps=Decimal(10),
        progress=False,
    )
    outcome = run_backtest(request, backtest_risk_config({}), bars=test_bars)
    wants = policy.targets(test_bars)
    assert set(np.unique(wants)) <= {-1.0, 0.0, 1.0}
    assert outcome.metrics["fills"] > 0
    assert len(outcome.result.entries) > 0

    # The policy as an analyst of the decision graph: both paths agree on its signal.
    # deciding every bar: the policy is shown the bars it was trained on
    graph = DecisionGraph(GraphConfig(rl=RLAgentConfig(checkpoint=str(ckpt)), cadence=None))
    try:
        window = test_bars[: min(len(test_bars), graph.warmup + 40)]
        series = graph.run_series(window)
        last = len(window) - 1
        rl_signal = series.signals["rl_policy"].signal_at(last)
        assert rl_signal is not None and rl_signal.score == policy.targets(window)[last]
        live = graph.run_bar(window, previous_target=series.memory_at(last - 1))
        assert live == series.decision_at(last)
        assert "rl_policy" in {s.agent for s in live.signals}
    finally:
        graph.close()

    # Walk-forward evaluation: policy, agent graph and buy-and-hold on the same window.
    result = evaluate(ckpt)
    assert set(result.results) == {"rl_policy", "sigmax", "buy_and_hold"}
    assert result.bars == len(test_bars)
    assert result.results["rl_policy"]["fills"] == outcome.metrics["fills"]


def test_rl_policy_is_off_without_a_checkpoint(tmp_path: Path, btc: BarSeries) -> None:
    missing = tmp_path / "nowhere"
    strategy = make_strategy("rl_policy", {"checkpoint": str(missing)})
    with pytest.raises(StrategyError, match=f"{missing} does not exist"):
        strategy.targets(btc[:500])
    with pytest.raises(StrategyError, match="needs --param checkpoint=PATH"):
        make_strategy("rl_policy").targets(btc[:500])
    tmp_path.joinpath("empty").mkdir()
    with pytest.raises(CheckpointError, match="holds no checkpoint_"):
        resolve_checkpoint(tmp_path / "empty")


def test_train_command_rejects_bad_options(tmp_path: Path) -> None:
    from sigmax.jobs.train import main

    assert main(["--iterations", "0", "--checkpoint-dir", str(tmp_path)]) == 2
    assert main(["--resume", str(tmp_path / "missing"), "--no-evaluate"]) == 2
    assert main(["--minibatch-size", "512", "--train-batch-size", "256"]) == 2


def test_env_config_round_trips_through_meta() -> None:
    cfg = EnvConfig(continuous=True, window=4)
    assert EnvConfig(**json.loads(json.dumps(cfg.model_dump()))) == cfg


def test_rl_agent_needs_an_existing_checkpoint(tmp_path: Path) -> None:
    from sigmax.graph_agents import graph_agents

    assert "rl_policy" not in {a.name for a in graph_agents(GraphConfig())}
    missing = GraphConfig(rl=RLAgentConfig(checkpoint=str(tmp_path / "nothing")))
    with pytest.raises(ValueError, match="does not exist"):
        graph_agents(missing)
