"""Keep Python's full garbage collections short in an API process.

Under load an API process holds many requests in flight; their objects outlive the
young generations and are promoted, so CPython runs a full collection every few
hundred milliseconds. A full collection walks every tracked object, and most of them
are the process's own code and libraries (FastAPI, pydantic, Ray, SIGMAX: some
350,000 objects in the API), alive until it exits: under 10 s of load 29 full
collections took up to 138 ms each, 2.95 s in all (docs/PERFORMANCE.md).
``gc.freeze()`` moves what is alive into a permanent generation the collector skips.
It is done twice: when the app starts, and once more after its first requests, when
the stores have opened and the modules imported on first use are loaded. Objects made
later are collected as usual.
"""

from __future__ import annotations

from sigmax.gc_freeze import freeze_long_lived

FREEZE_AGAIN_AFTER = 100  # requests: by then the pools, caches and lazy imports exist


class FreezeAfterWarmUp:
    """Counts requests and freezes once, after the ``FREEZE_AGAIN_AFTER``-th."""

    def __init__(self, after: int = FREEZE_AGAIN_AFTER) -> None:
        self._left = after

    def request_done(self) -> None:
        if self._left > 0:
            self._left -= 1
            if self._left == 0:
                freeze_long_lived()
