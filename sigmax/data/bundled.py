"""The data sets shipped inside the package under ``sigmax/data/bundled/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sigmax.data.errors import DataError

BUNDLED_DIR = Path(__file__).resolve().parent / "bundled"
INDEX_FILE = BUNDLED_DIR / "index.json"
PREFIX = "bundled:"


def list_bundled() -> list[dict[str, Any]]:
    """One dict per bundled set: name, symbol, timeframe, source, licence, rows, first/last ts."""
    if not INDEX_FILE.is_file():
        raise DataError(
            f"{INDEX_FILE}: bundled data index is missing; run python -m scripts.build_bundled_data"
        )
    entries: list[dict[str, Any]] = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    return entries


def bundled_path(name: str) -> Path:
    """The Parquet file of bundled set ``name``; DataError naming the known sets if unknown."""
    names = [entry["name"] for entry in list_bundled()]
    if name not in names:
        raise DataError(f"{PREFIX}{name}: no such bundled data set; known: {', '.join(names)}")
    path = BUNDLED_DIR / f"{name}.parquet"
    if not path.is_file():
        raise DataError(f"{PREFIX}{name}: listed in index.json but {path} is missing")
    return path
