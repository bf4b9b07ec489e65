"""The decision graph's default risk gate: cap the target at the leverage limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sigmax.agents.config import RiskGateConfig
from sigmax.model import RiskCheck, RiskVerdict


@dataclass(frozen=True, slots=True)
class RiskOutcome:
    """What the risk gate let through per decided bar, and its verdict at each bar."""

    target: np.ndarray
    checks: Callable[[int], tuple[RiskCheck, ...]] = field(compare=False)

    def verdict_at(self, j: int) -> RiskVerdict:
        checks = self.checks(j)
        return RiskVerdict(approved=all(c.passed for c in checks), checks=checks)


def cap_leverage(proposed: np.ndarray, config: RiskGateConfig) -> RiskOutcome:
    """Clip |target| to ``max_leverage``; the check fails (and says by how much) where
    the proposal was over the cap, and the capped target goes on."""
    cap = config.max_leverage
    target = np.clip(proposed, -cap, cap)

    def checks(j: int) -> tuple[RiskCheck, ...]:
        size = abs(float(proposed[j]))
        if size <= cap:
            detail = f"|target| {size:.2f} within max leverage {cap:g}"
            return (RiskCheck("max_leverage", True, detail),)
        detail = f"|target| {size:.2f} over max leverage {cap:g}; capped to {target[j]:+.2f}"
        return (RiskCheck("max_leverage", False, detail),)

    return RiskOutcome(target, checks)
