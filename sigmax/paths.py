"""Where SIGMAX keeps its files: ``$SIGMAX_HOME`` (default ``~/.sigmax``)."""

from __future__ import annotations

import os
from pathlib import Path


def sigmax_home() -> Path:
    """The data directory: downloads, embedded databases, reports."""
    return Path(os.environ.get("SIGMAX_HOME", "~/.sigmax")).expanduser()
