"""Bar timestamps (int64 epoch nanoseconds) to datetimes: the same as pandas gives, and
the risk clock's the same as the bars'."""

from __future__ import annotations

import warnings
from datetime import UTC

import numpy as np
import pandas as pd

from sigmax.model import ts_from_ns
from sigmax.risk.context import datetime_to_ns, ns_to_datetime


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


def test_the_risk_clock_turns_nanoseconds_into_the_same_datetimes() -> None:
    values = [*np.random.default_rng(8).integers(-(2**62), 2**62, 2_000).tolist(), -1, 0, 999]
    for ns in values:
        assert ns_to_datetime(ns) == ts_from_ns(ns)
        assert ns_to_datetime(np.int64(ns)) == ts_from_ns(ns)
        assert datetime_to_ns(ns_to_datetime(ns)) == ns - ns % 1000
