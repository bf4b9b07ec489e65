"""Bar timestamps (int64 epoch nanoseconds) to datetimes: the same as pandas gives."""

from __future__ import annotations

import warnings
from datetime import UTC

import numpy as np
import pandas as pd

from sigmax.model import ts_from_ns


def test_ts_from_ns_equals_pandas_to_pydatetime_everywhere() -> None:
    edges = [0, -1, -999, -1000, -1001, 1, 999, 1000, 1001, 1_506_816_000_000_000_000]
    values = [*np.random.default_rng(7).integers(-(2**62), 2**62, 5_000).tolist(), *edges]
    for ns in values:
        with warnings.catch_warnings():  # pandas warns that it drops the nanoseconds
            warnings.simplefilter("ignore")
            expected = pd.Timestamp(ns, tz="UTC").to_pydatetime()
        got = ts_from_ns(np.int64(ns))
        assert got == expected, ns
        assert got.tzinfo is UTC
