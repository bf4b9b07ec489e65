"""Reinforcement learning: a gymnasium trading env over the analysts' features, PPO
training through Ray RLlib (``sigmax train``) and policy loading (the held-out
evaluation backtests it: ``sigmax.backtest.rl_evaluation``).

Submodules import gymnasium, torch and RLlib only where they need them:
``sigmax.rl.env`` (gymnasium), ``sigmax.rl.train`` (Ray RLlib, inside its functions),
``sigmax.rl.policy`` (torch and the RLModule);
``sigmax.rl.checkpoint`` (finding checkpoints and their SIGMAX record) needs none.
"""

from sigmax.rl.config import EnvConfig, ObservationLayout, TrainConfig

__all__ = ["EnvConfig", "ObservationLayout", "TrainConfig"]
