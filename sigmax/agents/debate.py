"""Bull and bear researchers: each builds a case from the analysts' signals, then rebuts.

Only directional analysts vote: their confidence-weighted scores form the bull and bear
cases, and the strengths are taken over the directional weights alone. Contrarian
analysts (``ArbitratorConfig.roles``) are heard separately: where they disagree with
the direction the debate settles on, their weighted disagreement is the ``pressure``
(0..1) that the arbitrator turns into a smaller size or a veto of entries.

Works on arrays of shape (agents, bars): the backtest passes every bar at once, the
live path one column. The same code runs for both, so they agree exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sigmax.agents.base import SignalSeries
from sigmax.agents.config import DEFAULT_ROLES, ArbitratorConfig, DebateConfig


@dataclass(frozen=True, slots=True)
class SignalMatrix:
    """Every agent's score and confidence, one row per agent (NaN = no signal)."""

    agents: tuple[str, ...]
    score: np.ndarray
    confidence: np.ndarray
    weight: np.ndarray
    contrarian: np.ndarray | None = None  # bool per agent; None: every agent directional

    @classmethod
    def from_series(
        cls, agents: Sequence[str], signals: Mapping[str, SignalSeries], config: ArbitratorConfig
    ) -> SignalMatrix:
        if not agents:
            raise ValueError("debate: at least one agent is needed")
        unknown = sorted(set(config.roles) - set(agents) - set(DEFAULT_ROLES))
        if unknown:
            raise ValueError(
                f"arbitrator.roles: no analyst named {', '.join(unknown)} in this graph "
                f"(analysts: {', '.join(agents)})"
            )
        score = np.stack([signals[a].score for a in agents])
        conf = np.stack([signals[a].confidence for a in agents])
        weight = np.array([config.weights.get(a, 1.0) for a in agents], dtype=np.float64)
        contrarian = np.array([config.roles.get(a) == "contrarian" for a in agents])
        return cls(tuple(agents), score, conf, weight, contrarian)

    @property
    def is_contrarian(self) -> np.ndarray:
        """Bool per agent: True for the contrarian (size-only) analysts."""
        if self.contrarian is None:
            return np.zeros(len(self.agents), dtype=bool)
        return self.contrarian

    def contributions(self, min_confidence: float) -> np.ndarray:
        """weight * confidence * score, 0 where there is no signal or confidence is too low."""
        usable = np.isfinite(self.confidence) & (self.confidence >= min_confidence)
        raw = self.weight[:, None] * self.confidence * self.score
        return np.where(usable, raw, 0.0)


@dataclass(frozen=True, slots=True)
class DebateResult:
    """The bull and bear cases after rebuttal.

    ``bull``/``bear`` are each directional agent's surviving contribution to that side
    (agents x bars, >= 0; 0 on contrarian rows); ``bull_rebutted``/``bear_rebutted``
    count how often the other side discounted it; strengths are the side's total over
    the sum of the directional agents' weights, in [0, 1]. ``against`` is each
    contrarian agent's weighted disagreement with the direction (bull strength above
    bear: long), ``pressure`` their total over the contrarian weights, in [0, 1].
    """

    matrix: SignalMatrix
    bull: np.ndarray
    bear: np.ndarray
    bull_rebutted: np.ndarray
    bear_rebutted: np.ndarray
    bull_strength: np.ndarray
    bear_strength: np.ndarray
    against: np.ndarray
    pressure: np.ndarray

    def case_text(self, j: int, side: str, signals: Mapping[str, SignalSeries]) -> str:
        """The case for (``bull``) or against (``bear``) at column ``j``, citing its evidence."""
        items = self.bull if side == "bull" else self.bear
        hits = self.bull_rebutted if side == "bull" else self.bear_rebutted
        strength = (self.bull_strength if side == "bull" else self.bear_strength)[j]
        cited = []
        for row in np.argsort(-items[:, j], kind="stable"):
            if items[row, j] <= 0.0:
                break
            name = self.matrix.agents[row]
            signal = signals[name].signal_at(j)
            why = signal.rationale if signal is not None else ""
            note = f", rebutted x{int(hits[row, j])}" if hits[row, j] else ""
            cited.append(
                f"{name} {items[row, j]:.3f} (score {self.matrix.score[row, j]:+.2f}, "
                f"confidence {self.matrix.confidence[row, j]:.2f}{note}: {why})"
            )
        text = (
            f"{side.capitalize()} case {strength:.3f}: " + "; ".join(cited)
            if cited
            else f"{side.capitalize()} case 0.000: no analyst supports it."
        )
        return text + self._contrarian_note(j, side, signals)

    def _contrarian_note(self, j: int, side: str, signals: Mapping[str, SignalSeries]) -> str:
        """The contrarian analysts leaning to ``side`` at column ``j`` (they size, not vote)."""
        m = self.matrix
        sign = 1.0 if side == "bull" else -1.0
        notes = []
        for row in np.nonzero(m.is_contrarian)[0]:
            score, conf = m.score[row, j], m.confidence[row, j]
            if not (np.isfinite(score) and np.isfinite(conf)) or score * sign <= 0.0:
                continue
            name = m.agents[row]
            signal = signals[name].signal_at(j)
            why = signal.rationale if signal is not None else ""
            notes.append(
                f"{name} (score {score:+.2f}, confidence {conf:.2f}, against the direction "
                f"{self.against[row, j]:.3f}: {why})"
            )
        if not notes:
            return ""
        return " Contrarian view, sizes only: " + "; ".join(notes)


def run_debate(
    matrix: SignalMatrix, debate: DebateConfig, arbitrator: ArbitratorConfig
) -> DebateResult:
    """Split contributions into bull and bear cases and run the rebuttal rounds.

    Each round both sides act at once on the state at the round's start: each discounts
    the other side's weakest remaining item by ``rebuttal_discount`` (ties: the first
    agent in order). Deterministic; no randomness.
    """
    contributions = matrix.contributions(arbitrator.min_confidence)
    contrarian = matrix.is_contrarian
    x = np.where(contrarian[:, None], 0.0, contributions)
    bull, bear = np.maximum(x, 0.0), np.maximum(-x, 0.0)
    bull_hits = np.zeros(bull.shape, dtype=np.int64)
    bear_hits = np.zeros(bear.shape, dtype=np.int64)
    for _ in range(debate.rounds):
        weakest_bull = _weakest(bull)
        weakest_bear = _weakest(bear)
        _discount(bull, bull_hits, weakest_bull, debate.rebuttal_discount)
        _discount(bear, bear_hits, weakest_bear, debate.rebuttal_discount)
    directional_weight = float(matrix.weight[~contrarian].sum()) or 1.0
    bull_strength = _column_sum(bull) / directional_weight
    bear_strength = _column_sum(bear) / directional_weight
    direction = np.sign(bull_strength - bear_strength)
    against = np.where(
        contrarian[:, None], np.maximum(-contributions * direction[None, :], 0.0), 0.0
    )
    contrarian_weight = float(matrix.weight[contrarian].sum()) or 1.0
    pressure = np.minimum(_column_sum(against) / contrarian_weight, 1.0)
    return DebateResult(
        matrix, bull, bear, bull_hits, bear_hits, bull_strength, bear_strength, against, pressure
    )


def _weakest(items: np.ndarray) -> np.ndarray:
    """Row of the smallest positive item in each column, -1 where the column has none."""
    masked = np.where(items > 0.0, items, np.inf)
    rows = np.argmin(masked, axis=0)
    has = np.isfinite(masked[rows, np.arange(items.shape[1])])
    return np.where(has, rows, -1)


def _discount(items: np.ndarray, hits: np.ndarray, rows: np.ndarray, factor: float) -> None:
    cols = np.nonzero(rows >= 0)[0]
    items[rows[cols], cols] *= factor
    hits[rows[cols], cols] += 1


def _column_sum(items: np.ndarray) -> np.ndarray:
    """Sum over agents row by row, in agent order (same rounding for any number of bars)."""
    total = np.zeros(items.shape[1])
    for row in items:
        total = total + row
    return total
