"""The uniform shape every file layout is read into before parsing and validation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class RawTable:
    """Unparsed bar columns of one symbol, with where each row sits in its file.

    ``frame`` has the columns ``ts, open, high, low, close, volume`` still as read
    (strings from CSV, native types from Parquet); ``rows`` holds each row's 1-based
    line (CSV) or row (Parquet) number, named by ``row_label``.
    """

    source: str
    frame: pd.DataFrame
    rows: np.ndarray
    row_label: str
    symbol: str | None
    timeframe: str | None = None
    ts_format: str | None = None

    def where(self, i: int) -> str:
        """``file: line N`` for position ``i`` of the table."""
        return f"{self.source}: {self.row_label} {int(self.rows[i])}"
