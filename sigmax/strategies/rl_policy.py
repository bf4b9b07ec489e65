"""A strategy that trades a trained RL policy (``sigmax train``) over a series."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sigmax.model import BarSeries
from sigmax.strategies.base import Strategy, StrategyError, StrategyParams


class RLPolicyParams(StrategyParams):
    checkpoint: str = Field(
        "", description="RL checkpoint folder, or the --checkpoint-dir of `sigmax train`"
    )


class RLPolicyStrategy(Strategy):
    """Target exposure from the trained PPO policy's deterministic actions.

    The target is a fraction of equity. Off until a checkpoint exists: ``targets``
    raises a StrategyError naming the missing path, or the features a checkpoint
    trained on other observations lacks or adds.
    """

    name = "rl_policy"
    unit = "equity_fraction"
    Params = RLPolicyParams

    def targets(self, bars: BarSeries) -> np.ndarray:
        from sigmax.rl.checkpoint import CheckpointError, CheckpointMismatchError
        from sigmax.rl.policy import TrainedPolicy

        params = self.params
        assert isinstance(params, RLPolicyParams)
        if not params.checkpoint:
            raise StrategyError(
                "strategy rl_policy: needs --param checkpoint=PATH (train one with `sigmax train`)"
            )
        try:
            policy = TrainedPolicy.load(params.checkpoint)
        except (CheckpointError, CheckpointMismatchError) as exc:
            raise StrategyError(f"strategy rl_policy: {exc}") from None
        return policy.targets(bars)
