"""The trained reinforcement-learning policy as an analyst of the decision graph.

The roster (``sigmax.agents.roster``) knows nothing of RL; ``sigmax.graph_agents`` adds
this analyst when ``graph.rl.checkpoint`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sigmax.agents.base import Agent
from sigmax.agents.config import RLAgentConfig
from sigmax.model import BarSeries


class RLPolicyAgent(Agent):
    """Scores each bar with the target position a PPO policy (``sigmax train``) takes.

    The policy observes the five analysts' features, its own position and unrealised
    P&L (its book follows its own targets, filled at the next open, as in training),
    so the score at bar ``i`` depends on bars ``0..i`` only and the per-bar and
    vectorised paths agree. Score = the policy's target in [-1, 1]; confidence is
    the configured constant (a PPO policy gives no calibrated confidence).
    """

    def __init__(self, config: RLAgentConfig, name: str = "rl_policy") -> None:
        from sigmax.rl.policy import TrainedPolicy

        if config.checkpoint is None:
            raise ValueError("RL agent: no checkpoint configured (graph.rl.checkpoint)")
        if not Path(config.checkpoint).exists():
            raise ValueError(f"RL agent: checkpoint {config.checkpoint} does not exist")
        self.config = config
        self.name = name
        self.policy = TrainedPolicy.load(config.checkpoint)
        features_warmup = max(a.warmup for a in self.policy.agents)
        self.warmup = features_warmup + self.policy.env.window - 1

    def _compute(self, bars: BarSeries) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        target = self.policy.targets(bars)
        confidence = np.full(len(bars), self.config.confidence)
        return target, confidence, {"target": target}

    def describe(self, evidence: Mapping[str, float]) -> str:
        return (
            f"The trained policy ({Path(str(self.config.checkpoint)).name}) wants a "
            f"{evidence['target']:+.2f} position."
        )
