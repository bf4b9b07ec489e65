"""A trained policy for inference: the RLModule of a checkpoint on CPU (torch), with the
env settings it was trained with, mapping observations to deterministic actions.

Loading refuses a checkpoint trained on other observations than this code builds
(``sigmax.rl.checkpoint.check_observation``): a policy's inputs are positions, so an
added or removed analyst must never silently shift them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sigmax.agents.base import Agent
from sigmax.model import BarSeries
from sigmax.rl.checkpoint import (
    CheckpointError,
    CheckpointMismatchError,
    check_observation,
    read_meta,
    resolve_checkpoint,
)
from sigmax.rl.config import EnvConfig, ObservationLayout
from sigmax.rl.env import Book, action_to_target, build_observation, first_decision
from sigmax.rl.features import Features, compute_features, market_agents, observation_layout

MODULE_PATH = ("learner_group", "learner", "rl_module", "default_policy")


@dataclass
class TrainedPolicy:
    """The policy of one checkpoint; ``act`` is deterministic (argmax / Gaussian mean).

    ``agents`` are the analysts whose features its observations hold (``observation``).
    """

    checkpoint: Path
    env: EnvConfig
    observation: ObservationLayout
    agents: list[Agent]
    module: Any

    @classmethod
    def load(cls, path: str | Path, agents: list[Agent] | None = None) -> TrainedPolicy:
        """From a checkpoint folder, or a ``--checkpoint-dir`` (its newest checkpoint),
        observing ``agents`` (default: ``market_agents()``, as training does).

        Raises CheckpointError when there is no checkpoint, CheckpointMismatchError when
        it was trained on other observations than these agents' features give.
        """
        checkpoint = resolve_checkpoint(path)
        meta = read_meta(checkpoint)
        env = EnvConfig(**meta["env"])
        agents = agents if agents is not None else market_agents()
        observation = observation_layout(env.window, agents)
        check_observation(checkpoint, meta, observation)
        module_dir = checkpoint.joinpath(*MODULE_PATH)
        if not module_dir.is_dir():
            raise CheckpointError(f"RL checkpoint {checkpoint} has no RLModule at {module_dir}")
        from ray.rllib.core.rl_module.rl_module import RLModule

        module: Any = RLModule.from_checkpoint(str(module_dir.resolve()))  # a torch module
        _check_input_width(checkpoint, module, observation)
        module.eval()
        return cls(checkpoint, env, observation, agents, module)

    def act(self, observations: np.ndarray) -> np.ndarray:
        """Deterministic actions for a batch of observations ``(B, obs_size)``."""
        import torch

        obs = torch.as_tensor(np.asarray(observations, dtype=np.float32))
        with torch.inference_mode():
            out = self.module.forward_inference({"obs": obs})
        logits = out["action_dist_inputs"].numpy()
        if self.env.continuous:
            return np.asarray(logits[:, : logits.shape[1] // 2], dtype=np.float32)
        return np.asarray(np.argmax(logits, axis=1))

    def targets(self, bars: BarSeries, features: Features | None = None) -> np.ndarray:
        """Target exposure at every bar of ``bars`` (0 until the observation window is
        valid). Features are computed once, vectorised; the position and unrealised P&L
        in each observation follow the env's book (filled at the next open), so the
        policy runs bar by bar over them."""
        features = features if features is not None else compute_features(bars, self.agents)
        if features.names != self.observation.features:
            raise CheckpointMismatchError(
                f"RL checkpoint {self.checkpoint}: features {list(features.names)} given, "
                f"its policy observes {list(self.observation.features)}"
            )
        cfg = self.env
        n = len(bars)
        out = np.zeros(n)
        book = Book()
        first = first_decision(features, cfg.window)
        for t in range(first, n):
            price = float(bars.close[t])
            obs = build_observation(
                features, t, cfg.window, book.exposure(price), book.unrealised(price)
            )
            out[t] = action_to_target(self.act(obs[None, :])[0], cfg)
            if t + 1 < n:
                book.rebalance(out[t], float(bars.open[t + 1]), cfg.cost_rate)
        return out


def _check_input_width(checkpoint: Path, module: Any, observation: ObservationLayout) -> None:
    """The RLModule's own input width agrees with the layout (a record that does not
    describe its policy, or an older checkpoint whose features were not the original)."""
    width = int(module.observation_space.shape[0])
    if width != observation.size:
        raise CheckpointMismatchError(
            f"RL checkpoint {checkpoint}: its policy takes {width} inputs, the observations "
            f"this code builds have {observation.size} ({observation.window} bars x "
            f"{len(observation.features)} features + {len(observation.extras)}). Retrain it "
            f"with `sigmax train --checkpoint-dir DIR`."
        )
