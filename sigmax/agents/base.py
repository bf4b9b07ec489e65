"""The analyst interface: a per-bar path and a vectorised path that must agree exactly."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from sigmax.model import BarSeries, Signal

Describe = Callable[[Mapping[str, float]], str]
"""Turns one bar's evidence into the rationale sentence."""


@dataclass(frozen=True, slots=True)
class SignalSeries:
    """One analyst's signals over a whole series, as aligned arrays.

    ``score`` in [-1, 1] and ``confidence`` in [0, 1] are NaN where the analyst has no
    signal (warm-up, or it was missing); ``evidence`` holds the numbers behind each
    signal by name; ``describe`` writes the rationale from one bar's evidence.
    """

    agent: str
    score: np.ndarray
    confidence: np.ndarray
    evidence: dict[str, np.ndarray]
    describe: Describe = field(compare=False)

    def __len__(self) -> int:
        return int(self.score.shape[0])

    def has_signal(self, i: int) -> bool:
        return not np.isnan(self.confidence[i])

    def signal_at(self, i: int) -> Signal | None:
        """The Signal at bar ``i`` (None where there is none): the same as ``analyze``."""
        if not self.has_signal(i):
            return None
        evidence = {k: float(v[i]) for k, v in self.evidence.items()}
        return Signal(
            agent=self.agent,
            score=float(self.score[i]),
            confidence=float(self.confidence[i]),
            rationale=self.describe(evidence),
            evidence=evidence,
        )

    @classmethod
    def missing(cls, agent: str, n: int, describe: Describe | None = None) -> SignalSeries:
        """A series with no signal at any of ``n`` bars."""
        nan = np.full(n, np.nan)
        return cls(agent, nan, nan.copy(), {}, describe or (lambda _e: ""))

    @classmethod
    def from_signals(cls, agent: str, signals: list[Signal | None]) -> SignalSeries:
        """Pack per-bar signals (None = no signal) into arrays; evidence keys of the first
        signal (bars without that key get NaN)."""
        first = next((s for s in signals if s is not None), None)
        keys = list(first.evidence) if first is not None else []
        score = np.array([np.nan if s is None else s.score for s in signals], dtype=np.float64)
        conf = np.array([np.nan if s is None else s.confidence for s in signals], np.float64)
        evidence = {
            k: np.array([np.nan if s is None else s.evidence.get(k, np.nan) for s in signals])
            for k in keys
        }
        rationales = [None if s is None else s.rationale for s in signals]
        text = next((r for r in rationales if r is not None), "")
        return cls(agent, score, conf, evidence, lambda _e: text)


def validate_bars(bars: BarSeries, who: str) -> None:
    """Raise ValueError naming the first bad bar if prices are not finite and positive."""
    n = len(bars)
    for name in ("open", "high", "low", "close", "volume"):
        arr = getattr(bars, name)
        if arr.shape != (n,):
            raise ValueError(f"{who}: {bars.symbol} {name} has shape {arr.shape}, expected ({n},)")
        floor_ok = arr >= 0.0 if name == "volume" else arr > 0.0
        bad = ~(np.isfinite(arr) & floor_ok)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{who}: {bars.symbol} {name}[{i}] = {arr[i]!r} is not a finite "
                f"{'non-negative' if name == 'volume' else 'positive'} number"
            )


class Agent(ABC):
    """An analyst: turns the bars up to now into a Signal.

    ``warmup`` is the number of bars needed before it speaks: ``analyze`` returns None
    for shorter histories and ``analyze_series`` has NaN there. Both paths must give the
    same Signal at every bar; that is also the no-look-ahead test.
    """

    name: str
    warmup: int
    #: False for agents that only work bar by bar (the LLM analyst): not in backtests.
    vectorised: bool = True

    def analyze(self, history: BarSeries) -> Signal | None:
        """Signal for the last bar of ``history`` (all bars up to and including it)."""
        if len(history) < self.warmup:
            return None
        return self.analyze_series(history).signal_at(len(history) - 1)

    def analyze_series(self, bars: BarSeries) -> SignalSeries:
        """Signals for every bar of ``bars``; bar ``i`` sees only bars ``0..i``."""
        validate_bars(bars, self.name)
        score, confidence, evidence = self._compute(bars)
        first = self.warmup - 1
        score = _masked(score, first)
        confidence = _masked(confidence, first)
        evidence = {k: _masked(v, first) for k, v in evidence.items()}
        _check_finite(self.name, first, score, confidence, evidence)
        return SignalSeries(self.name, score, confidence, evidence, self.describe)

    @abstractmethod
    def _compute(self, bars: BarSeries) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Score, confidence and evidence arrays over ``bars`` (values in warm-up ignored)."""

    @abstractmethod
    def describe(self, evidence: Mapping[str, float]) -> str:
        """The rationale sentence for one bar's evidence."""


def _masked(values: np.ndarray, first: int) -> np.ndarray:
    out = np.array(values, dtype=np.float64, copy=True)
    out[: max(first, 0)] = np.nan
    return out


def _check_finite(
    agent: str,
    first: int,
    score: np.ndarray,
    confidence: np.ndarray,
    evidence: Mapping[str, np.ndarray],
) -> None:
    """A NaN after warm-up is a bug in the agent (warm-up too short): say where."""
    for name, arr in {"score": score, "confidence": confidence, **evidence}.items():
        tail = arr[max(first, 0) :]
        if tail.size and not np.isfinite(tail).all():
            i = int(np.argmax(~np.isfinite(tail))) + max(first, 0)
            raise ValueError(f"agent {agent}: {name}[{i}] is {arr[i]} after warm-up")
