"""Timeframe strings (``30m``, ``1h``, ``1d``) and their lengths in nanoseconds."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from sigmax.data.errors import DataError

_UNIT_NS = {"m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}
_PATTERN = re.compile(r"^(\d+)([mhd])$")
DAY_NS = _UNIT_NS["d"]
YEAR_NS = 365.25 * DAY_NS  # an average calendar year: crypto trades every day


@lru_cache(maxsize=64)  # parsed on every live bar; the answer never changes
def timeframe_ns(timeframe: str) -> int:
    """Length of one bar of ``timeframe`` in nanoseconds; DataError if malformed."""
    match = _PATTERN.match(timeframe.strip())
    if match is None or int(match.group(1)) == 0:
        raise DataError(
            f"timeframe {timeframe!r} is not understood; use a count and a unit m, h or d "
            "(e.g. 1m, 30m, 1h, 4h, 1d)"
        )
    return int(match.group(1)) * _UNIT_NS[match.group(2)]


def bars_per_year(timeframe: str | int) -> float:
    """Bars in a year of ``timeframe``, a string (``1h``) or a bar length in nanoseconds:
    what annualises volatility, Sharpe and Sortino (8,766 for 1h, 365.25 for 1d)."""
    ns = timeframe_ns(timeframe) if isinstance(timeframe, str) else timeframe
    if ns <= 0:
        raise DataError(f"bar length must be positive, got {ns} ns")
    return YEAR_NS / ns


def timeframe_name(ns: int) -> str:
    """The canonical string for a bar length in nanoseconds (largest whole unit)."""
    for unit in ("d", "h", "m"):
        size = _UNIT_NS[unit]
        if ns > 0 and ns % size == 0:
            return f"{ns // size}{unit}"
    raise DataError(f"bar spacing of {ns / 1e9:g} s is not a whole number of minutes")


STANDARD = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")


def infer_timeframe_ns(ts: np.ndarray) -> int | None:
    """The most common positive spacing of sorted timestamps; None with under two bars.

    Ties go to a standard timeframe, then to the shortest spacing.
    """
    diffs = np.diff(ts)
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    tied = values[counts == counts.max()]
    standard = {timeframe_ns(tf) for tf in STANDARD}
    preferred = [int(v) for v in tied if int(v) in standard]
    return preferred[0] if preferred else int(tied[0])
