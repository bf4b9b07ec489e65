"""Market data: load bundled sets and CSV/Parquet files, validate, resample, download."""

from sigmax.data.bundled import list_bundled
from sigmax.data.errors import DataError
from sigmax.data.loader import LoadReport, load_bars, load_bars_report
from sigmax.data.resample import resample

__all__ = ["DataError", "LoadReport", "list_bundled", "load_bars", "load_bars_report", "resample"]
