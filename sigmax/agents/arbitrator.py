"""Arbitrator: turns the debated cases into a target position (fraction of equity)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sigmax.agents.config import ArbitratorConfig
from sigmax.agents.debate import DebateResult


@dataclass(frozen=True, slots=True)
class Arbitration:
    """Net conviction and the target it implies, per bar.

    ``net`` = bull strength - bear strength (directional analysts, confidence-weighted,
    after rebuttal); ``damping`` = 1 - ``contrarian_damping`` * contrarian pressure;
    ``raw`` = net * ``conviction_gain`` clipped to the allowed range ([0, 1] long-only,
    [-1, 1] with shorting), times ``damping``; ``target`` = ``raw`` rounded to
    ``position_step``; ``veto`` marks bars where the contrarian pressure reaches
    ``contrarian_veto`` (entries and adds are refused there, later in the graph).
    """

    net: np.ndarray
    raw: np.ndarray
    target: np.ndarray
    damping: np.ndarray | None = None
    veto: np.ndarray | None = None

    def rationale(self, j: int, debate: DebateResult, config: ArbitratorConfig) -> str:
        """Why column ``j`` got its target, naming the evidence used and ignored."""
        m = debate.matrix
        used = [
            m.agents[r]
            for r in range(len(m.agents))
            if debate.bull[r, j] + debate.bear[r, j] + debate.against[r, j]
        ]
        ignored = [
            m.agents[r]
            for r in range(len(m.agents))
            if np.isfinite(m.confidence[r, j]) and m.confidence[r, j] < config.min_confidence
        ]
        damping = 1.0 if self.damping is None else float(self.damping[j])
        contrarian = ""
        if m.is_contrarian.any():
            contrarian = (
                f" x contrarian damping {damping:.3f} (1 - {config.contrarian_damping:g} x "
                f"pressure {debate.pressure[j]:.3f})"
            )
            if self.veto is not None and self.veto[j]:
                contrarian += f", entries vetoed (pressure >= {config.contrarian_veto:g})"
        text = (
            f"Net conviction {self.net[j]:+.3f} (bull {debate.bull_strength[j]:.3f} vs bear "
            f"{debate.bear_strength[j]:.3f}) x gain {config.conviction_gain:g}{contrarian} "
            f"-> raw {self.raw[j]:+.3f} -> arbitrated target {self.target[j]:+.2f}; "
            f"evidence used: {', '.join(used) or 'none'}"
        )
        if ignored:
            text += f"; ignored (confidence < {config.min_confidence:g}): {', '.join(ignored)}"
        return text + "."


def arbitrate(debate: DebateResult, config: ArbitratorConfig) -> Arbitration:
    """Confidence-weighted combination (memoryless); hysteresis is applied after sizing."""
    net = debate.bull_strength - debate.bear_strength
    low = -1.0 if config.allow_short else 0.0
    damping = 1.0 - config.contrarian_damping * debate.pressure
    raw = np.clip(net * config.conviction_gain, low, 1.0) * damping
    target = quantise(raw, config.position_step)
    veto = (
        np.zeros(net.shape, dtype=bool)
        if config.contrarian_veto is None
        else debate.pressure >= config.contrarian_veto
    )
    return Arbitration(net, raw, target, damping, veto)


def quantise(raw: np.ndarray, step: float) -> np.ndarray:
    """Nearest multiple of ``step``, kept within [-1, 1] on the step grid."""
    top = np.floor(1.0 / step) * step
    return np.clip(np.round(raw / step) * step, -top, top)


def quantise_with_hysteresis(
    raw: np.ndarray, step: float, hysteresis: float, previous: float
) -> np.ndarray:
    """Quantise a sequence with a dead band between levels.

    A level is taken when ``raw`` lies within ``(0.5 - hysteresis) * step`` of it; in the
    dead band between two levels the last level taken is kept (``previous`` before the
    first one). Vectorised as a forward fill of the bars that fell inside a level, so one
    call over a series equals bar-by-bar calls that pass the previous output along.
    """
    level = quantise(raw, step)
    top = np.floor(1.0 / step) * step
    inside = (np.abs(raw - level) <= (0.5 - hysteresis) * step) | (np.abs(raw) >= top)
    idx = np.where(inside, np.arange(raw.shape[0]), -1)
    last = np.maximum.accumulate(idx) if idx.size else idx
    return np.where(last >= 0, level[np.maximum(last, 0)], previous)
