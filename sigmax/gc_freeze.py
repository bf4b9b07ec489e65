"""Keep Python's full garbage collections short in a long-lived process.

A process that has imported SIGMAX and its libraries (Ray, LangGraph, pandas, FastAPI,
pydantic) holds hundreds of thousands of objects that live until it exits. Each full
collection walks all of them. A backtest makes enough objects to trigger a full
collection every few runs: in a Ray worker (some 354,000 objects), 40 ``sma_cross``
cases spent 437 to 488 ms in 6 full collections, and 12 to 15 ms in 9 once the
worker had frozen them (docs/PERFORMANCE.md, "Garbage collection in sweep and Tune
workers").
``gc.freeze()`` moves what is alive into a permanent generation the collector skips;
objects made later are collected as usual, and frozen ones are still freed when
nothing refers to them (only reference cycles among them are never reclaimed).
"""

from __future__ import annotations

import gc
import os

_frozen_in_pid: int | None = None


def freeze_long_lived() -> int:
    """Collect what is garbage now, then exempt everything alive from later
    collections; returns how many objects are frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def freeze_once() -> bool:
    """:func:`freeze_long_lived` the first time a process calls it (a worker, once its
    first task has imported what it needs); True when this call froze. A forked child
    freezes again."""
    global _frozen_in_pid
    pid = os.getpid()
    if _frozen_in_pid == pid:
        return False
    _frozen_in_pid = pid
    freeze_long_lived()
    return True
