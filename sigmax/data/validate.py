"""Vectorised checks of parsed bars: order, duplicates, prices, timeframe and gaps.

Each failure is a :class:`DataError` naming the file, the first offending row and
the problem; repairs (reordering, gap filling) happen only when the caller asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from sigmax.data.errors import DataError
from sigmax.data.parse import ParsedBars
from sigmax.data.timeframes import infer_timeframe_ns, timeframe_name, timeframe_ns


@dataclass(frozen=True)
class CheckedBars:
    """Bars that passed every check, oldest first and gap-free, plus what was repaired."""

    bars: ParsedBars
    timeframe: str
    reversed: bool
    rows_reordered: int
    gaps_filled: int


def check_bars(
    bars: ParsedBars,
    timeframe: str | None = None,
    *,
    fill_gaps: bool = False,
    reorder: bool = False,
    allow_gaps: bool = False,
) -> CheckedBars:
    """Run every check; ``timeframe`` is the bar length the data must have, if known."""
    check_prices(bars)
    bars, was_reversed, moved = order_rows(bars, reorder=reorder)
    tf_ns = _native_timeframe(bars, timeframe)
    check_spacing(bars, tf_ns)
    filled = 0
    if fill_gaps:
        bars, filled = fill_missing_bars(bars, tf_ns)
    elif not allow_gaps:
        reject_gaps(bars, tf_ns)
    return CheckedBars(bars, timeframe_name(tf_ns), was_reversed, moved, filled)


def check_prices(bars: ParsedBars) -> None:
    """Prices > 0, volume >= 0, and low <= open, close <= high."""
    v = bars.values
    o, h, lo, c = v["open"], v["high"], v["low"], v["close"]
    _fail_first(bars, (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "non-positive price")
    _fail_first(bars, v["volume"] < 0, "negative volume")
    _fail_first(bars, h < lo, "high is below low")
    _fail_first(bars, h < np.maximum(o, c), "high is below open or close")
    _fail_first(bars, lo > np.minimum(o, c), "low is above open or close")


def _fail_first(bars: ParsedBars, bad: np.ndarray, problem: str) -> None:
    if bad.any():
        i = int(np.argmax(bad))
        v = bars.values
        shown = ", ".join(f"{k}={v[k][i]:g}" for k in ("open", "high", "low", "close", "volume"))
        raise DataError(f"{bars.where(i)}: {problem} ({shown}; {int(bad.sum())} bad row(s))")


def order_rows(bars: ParsedBars, *, reorder: bool = False) -> tuple[ParsedBars, bool, int]:
    """Oldest first: reverse a newest-first file; sort a jumbled one only when asked."""
    _reject_duplicates(bars)
    diffs = np.diff(bars.ts)
    if len(diffs) and (diffs < 0).all():
        return bars.take(np.arange(len(bars.ts))[::-1]), True, 0
    if (diffs > 0).all():
        return bars, False, 0
    was_reversed = bool((diffs < 0).sum() > (diffs > 0).sum())
    if was_reversed:
        bars = bars.take(np.arange(len(bars.ts))[::-1])
    if not reorder:
        _reject_disorder(bars, was_reversed)
    order = np.argsort(bars.ts, kind="stable")
    moved = int((order != np.arange(len(order))).sum())
    return bars.take(order), was_reversed, moved


def _reject_duplicates(bars: ParsedBars) -> None:
    order = np.argsort(bars.ts, kind="stable")
    same = np.diff(bars.ts[order]) == 0
    if same.any():
        k = int(np.argmax(same))
        first, second = sorted((int(order[k]), int(order[k + 1])))
        raise DataError(
            f"{bars.where(second)}: duplicate timestamp {_iso(bars.ts[second])}, "
            f"already at {bars.row_label} {int(bars.rows[first])} "
            f"({int(same.sum())} duplicate(s) in all)"
        )


def _reject_disorder(bars: ParsedBars, newest_first: bool) -> None:
    back = np.diff(bars.ts) < 0
    i = int(np.argmax(back)) + 1
    direction = "newest" if newest_first else "oldest"
    raise DataError(
        f"{bars.where(i)}: timestamp {_iso(bars.ts[i])} is out of order next to "
        f"{_iso(bars.ts[i - 1])} ({bars.row_label} {int(bars.rows[i - 1])}) in rows that "
        f"otherwise run {direction} first ({int(back.sum())} row(s) out of place); "
        "pass reorder=True (CLI: --reorder) to sort them"
    )


def _native_timeframe(bars: ParsedBars, timeframe: str | None) -> int:
    inferred = infer_timeframe_ns(bars.ts)
    if timeframe is None:
        if inferred is None:
            raise DataError(
                f"{bars.source}: cannot infer the timeframe from fewer than two bars; "
                "pass a timeframe"
            )
        return inferred
    wanted = timeframe_ns(timeframe)
    if inferred is not None and inferred != wanted:
        raise DataError(
            f"{bars.source}: bars are {timeframe_name(inferred)} apart, "
            f"not the expected {timeframe}"
        )
    return wanted


def check_spacing(bars: ParsedBars, tf_ns: int) -> None:
    """Every step between bars is a whole number of bars."""
    off = np.diff(bars.ts) % tf_ns != 0
    if off.any():
        i = int(np.argmax(off)) + 1
        raise DataError(
            f"{bars.where(i)}: timestamp {_iso(bars.ts[i])} is not a whole number of "
            f"{timeframe_name(tf_ns)} bars after {_iso(bars.ts[i - 1])}"
        )


def reject_gaps(bars: ParsedBars, tf_ns: int) -> None:
    """DataError at the first gap, with the number of missing bars and how to repair."""
    missing = np.diff(bars.ts) // tf_ns - 1
    gaps = missing > 0
    if gaps.any():
        i = int(np.argmax(gaps)) + 1
        tf = timeframe_name(tf_ns)
        raise DataError(
            f"{bars.where(i)}: gap of {int(missing[i - 1])} missing {tf} bar(s) between "
            f"{_iso(bars.ts[i - 1])} and {_iso(bars.ts[i])} ({int(gaps.sum())} gap(s), "
            f"{int(missing.sum())} missing bar(s) in all); pass fill_gaps=True "
            "(CLI: --fill-gaps) to insert flat bars at the previous close"
        )


def fill_missing_bars(bars: ParsedBars, tf_ns: int) -> tuple[ParsedBars, int]:
    """Insert each missing bar as open=high=low=close=previous close, volume 0."""
    if len(bars.ts) == 0:
        return bars, 0
    slots = (bars.ts - bars.ts[0]) // tf_ns
    size = int(slots[-1]) + 1
    filled = size - len(bars.ts)
    if filled == 0:
        return bars, 0
    source_of = np.full(size, -1, dtype=np.int64)
    source_of[slots] = np.arange(len(slots))
    last_real = np.maximum.accumulate(source_of)  # slot 0 is always real
    present = source_of >= 0
    prev_close = bars.values["close"][last_real]
    values = {
        name: np.where(present, bars.values[name][last_real], prev_close)
        for name in ("open", "high", "low", "close")
    }
    values["volume"] = np.where(present, bars.values["volume"][last_real], 0.0)
    ts = bars.ts[0] + np.arange(size, dtype=np.int64) * tf_ns
    rows = bars.rows[last_real]  # a filled bar points at the row before its gap
    return ParsedBars(bars.source, bars.row_label, ts, values, rows), filled


def _iso(ns: np.integer | int) -> str:
    return cast(str, pd.Timestamp(int(ns), tz="UTC").strftime("%Y-%m-%d %H:%M"))
