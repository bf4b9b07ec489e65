"""The analyst interface: a per-bar path and a vectorised path that must agree exactly."""

from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from sigmax.model import OHLCV, Bar, BarSeries, Signal, ts_from_ns

Describe = Callable[[Mapping[str, float]], str]
"""Turns one bar's evidence into the rationale sentence."""

Computed = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]
"""Score, confidence and evidence arrays, as ``Agent._compute`` returns them."""


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
    #: The Signal objects the arrays were packed from (``from_signals``), handed back
    #: as they are by ``signal_at`` instead of being rebuilt.
    kept: tuple[Signal | None, ...] | None = field(default=None, compare=False)

    def __len__(self) -> int:
        return int(self.score.shape[0])

    def has_signal(self, i: int) -> bool:
        return not np.isnan(self.confidence[i])

    def signal_at(self, i: int) -> Signal | None:
        """The Signal at bar ``i`` (None where there is none): the same as ``analyze``."""
        if self.kept is not None:
            return self.kept[i]
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
        text = first.rationale if first is not None else ""
        return cls(agent, score, conf, evidence, lambda _e: text, tuple(signals))


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


class AnalystState(ABC):
    """One symbol's live state of one analyst: TA-Lib streams opened on a history (at
    least ``warmup`` bars) and moved one bar at a time, plus what else the analyst's
    formulas need from the past (lagged closes, bars since a cross)."""

    @abstractmethod
    def step(self, bar: Bar) -> tuple[float, ...]:
        """Move to ``bar``; the inputs of the analyst's formulas at that bar."""


def column(values: Sequence[float]) -> list[np.ndarray]:
    """Each value as a one-element array: the vectorised formulas then give the live
    bar's numbers with the very same float operations."""
    return [np.array([v], dtype=np.float64) for v in values]


def bars_to_series(bars: Sequence[Bar]) -> BarSeries:
    """A BarSeries of consecutive bars of one symbol."""
    ts = pd.DatetimeIndex([b.ts for b in bars]).as_unit("ns").asi8.copy()
    arrays = [np.array([getattr(b, name) for b in bars], dtype=np.float64) for name in OHLCV]
    return BarSeries(bars[0].symbol, bars[0].timeframe, ts, *arrays)


class LiveStateGap(LookupError):
    """The live state of these symbols is not at the bar before the new one (the agent
    restarted, or bars were skipped): send their histories."""

    def __init__(self, agent: str, symbols: Sequence[str]) -> None:
        super().__init__(agent, list(symbols))
        self.agent = agent
        self.symbols = list(symbols)

    def __str__(self) -> str:
        return f"agent {self.agent}: no live state in step for {', '.join(self.symbols)}"


@dataclass
class _LiveStates:
    """An agent's live states by symbol, the bars of symbols still warming up, and the
    last bar each has seen."""

    states: dict[str, AnalystState] = field(default_factory=dict)
    pending: dict[str, list[Bar]] = field(default_factory=dict)
    last: dict[str, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Agent(ABC):
    """An analyst: turns the bars up to now into a Signal.

    ``warmup`` is the number of bars needed before it speaks: ``analyze`` returns None
    for shorter histories and ``analyze_series`` has NaN there. Both paths must give the
    same Signal at every bar; that is also the no-look-ahead test.

    Live path: analysts with ``incremental`` keep a per-symbol ``AnalystState`` and
    ``update(bar)`` moves it by one bar, giving bit for bit ``analyze`` of the whole
    history; ``rebuild(history)`` (re)starts it from a history (first bar, restart, gap).
    """

    name: str
    warmup: int
    #: False for agents that only work bar by bar (the LLM analyst): not in backtests.
    vectorised: bool = True
    #: True for agents with a live state (``_open_state``/``_compute_live``).
    incremental: bool = False
    #: True when a live bar's work is in-process arithmetic (no I/O, no model): the live
    #: graph runs it in the calling thread instead of a pool thread under a deadline.
    inline: bool = False

    def update(self, bar: Bar) -> Signal | None:
        """Signal for ``bar``, the bar after the last one this agent saw for its symbol
        (the caller checks that with ``last_ts``); None during warm-up."""
        if not self.incremental:
            raise TypeError(f"agent {self.name}: no live state; call analyze(history)")
        _check_bar(bar, self.name)
        with self._live.lock:
            return self._update(bar)

    def _update(self, bar: Bar) -> Signal | None:
        state = self._live.states.get(bar.symbol)
        if state is None:
            pending = [*self._live.pending.get(bar.symbol, []), bar]
            return self._rebuild(bars_to_series(pending))
        score, confidence, evidence = self._compute_live(state, bar)
        self._live.last[bar.symbol] = bar.ts
        _check_finite(self.name, 0, score, confidence, evidence)
        return SignalSeries(self.name, score, confidence, evidence, self.describe).signal_at(0)

    def rebuild(self, history: BarSeries) -> Signal | None:
        """Restart the live state of ``history.symbol`` from ``history``; its last bar's
        Signal (``analyze(history)``)."""
        if not self.incremental:
            raise TypeError(f"agent {self.name}: no live state; call analyze(history)")
        with self._live.lock:
            return self._rebuild(history)

    def follow(self, history: BarSeries) -> Signal | None:
        """``analyze(history)`` through the live state: one ``update`` when the state is
        at the bar before the last, else a ``rebuild``; plain ``analyze`` for agents
        without a live state."""
        if not self.incremental:
            return self.analyze(history)
        with self._live.lock:  # check and move at once: a late caller may still run
            previous = ts_from_ns(history.ts[-2]) if len(history) >= 2 else None
            if previous is not None and self._live.last.get(history.symbol) == previous:
                bar = history.bar(len(history) - 1)
                _check_bar(bar, self.name)
                return self._update(bar)
            return self._rebuild(history)

    def __getstate__(self) -> dict[str, object]:
        # The live state (TA-Lib streams, a lock) stays in its process: a pickled agent
        # (a Ray task's copy) starts without it and rebuilds from a history.
        state = self.__dict__.copy()
        state.pop("_live_states", None)
        return state

    def analyze_bars(
        self,
        bars: Mapping[str, Bar],
        previous_ts: Mapping[str, datetime | None],
        histories: Mapping[str, BarSeries] | None = None,
    ) -> dict[str, Signal | None]:
        """Signals for one new bar of each symbol (keyed by symbol).

        ``previous_ts[symbol]`` is the open time of the bar before (None: none). A symbol
        whose state is not there needs its history (ending with the new bar) in
        ``histories``; if any lacks one, LiveStateGap names them and nothing moves.
        """
        histories = histories or {}
        behind = [
            s
            for s in bars
            if s not in histories
            and (not self.incremental or self.last_ts(s) != previous_ts.get(s))
        ]
        if behind:
            raise LiveStateGap(self.name, behind)
        return {
            s: self._from_history(histories[s]) if s in histories else self.update(bar)
            for s, bar in bars.items()
        }

    def _from_history(self, history: BarSeries) -> Signal | None:
        return self.rebuild(history) if self.incremental else self.analyze(history)

    def last_ts(self, symbol: str) -> datetime | None:
        """Open time of the last bar the live state of ``symbol`` has seen."""
        return self._live.last.get(symbol)

    def _rebuild(self, history: BarSeries) -> Signal | None:
        symbol = history.symbol
        self._live.states.pop(symbol, None)
        self._live.last.pop(symbol, None)
        if len(history) == 0:
            return None
        signal = self.analyze(history)  # validates the history
        if len(history) < self.warmup:
            self._live.pending[symbol] = [history.bar(i) for i in range(len(history))]
        else:
            self._live.pending.pop(symbol, None)
            self._live.states[symbol] = self._open_state(history)
        self._live.last[symbol] = ts_from_ns(history.ts[-1])
        return signal

    @property
    def _live(self) -> _LiveStates:
        # Made on first use, so subclasses need not call a base __init__ and an agent
        # that never ran live pickles as before.
        live = self.__dict__.get("_live_states")
        if live is None:
            live = self.__dict__.setdefault("_live_states", _LiveStates())
        return live  # type: ignore[no-any-return]

    def _open_state(self, history: BarSeries) -> AnalystState:
        """The live state after ``history`` (at least ``warmup`` bars)."""
        raise NotImplementedError(f"agent {self.name}: no live state")

    def _compute_live(self, state: AnalystState, bar: Bar) -> Computed:
        """``_compute``'s arrays for ``bar`` alone (one element each), moving ``state``."""
        raise NotImplementedError(f"agent {self.name}: no live state")

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
    def _compute(self, bars: BarSeries) -> Computed:
        """Score, confidence and evidence arrays over ``bars`` (values in warm-up ignored)."""

    @abstractmethod
    def describe(self, evidence: Mapping[str, float]) -> str:
        """The rationale sentence for one bar's evidence."""


def _check_bar(bar: Bar, who: str) -> None:
    """The live path's ``validate_bars`` for one bar."""
    for name in OHLCV:
        value = getattr(bar, name)
        if not (math.isfinite(value) and (value >= 0.0 if name == "volume" else value > 0.0)):
            raise ValueError(f"{who}: {bar.symbol} {name} at {bar.ts} = {value!r} is invalid")


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
    arrays = {"score": score, "confidence": confidence, **evidence}
    start = max(first, 0)
    if np.isfinite(np.concatenate([arr[start:] for arr in arrays.values()])).all():
        return  # one check for the whole lot (the live path checks one bar per call)
    for name, arr in arrays.items():
        tail = arr[max(first, 0) :]
        if tail.size and not np.isfinite(tail).all():
            i = int(np.argmax(~np.isfinite(tail))) + max(first, 0)
            raise ValueError(f"agent {agent}: {name}[{i}] is {arr[i]} after warm-up")
