"""The one error type of the data package."""

from __future__ import annotations

from sigmax.errors import InvalidInputError


class DataError(InvalidInputError):
    """Market data that cannot be read or fails validation.

    The message names the source (file or bundled name), the row (1-based line number
    in a CSV file, row number in a Parquet file) and the problem.
    """
