"""Which files a job submitted over the API may read: bundled data sets, and files under
the configured data and checkpoint directories (``APIConfig.job_data_dir``,
``APIConfig.job_checkpoint_dir``). Anything else is refused before the job starts, with
the same answer whether or not the path exists, so the API tells nothing about the
server's files and never loads (unpickles) a checkpoint from an arbitrary directory."""

from __future__ import annotations

from pathlib import Path

from serve_app.exceptions import Unprocessable
from sigmax.data.bundled import PREFIX as BUNDLED


def allowed_data(source: str, data_dir: Path) -> str:
    """``bundled:NAME`` as given, or the absolute path of a file under ``data_dir``
    (a relative path is taken relative to it)."""
    if source.startswith(BUNDLED):
        return source
    return str(_inside(source, data_dir, "data", f"{BUNDLED}NAME or a file"))


def allowed_checkpoint(checkpoint: str, checkpoint_dir: Path) -> str:
    """The absolute path of a checkpoint folder under ``checkpoint_dir``."""
    return str(_inside(checkpoint, checkpoint_dir, "checkpoint", "a folder"))


def _inside(given: str, root: Path, what: str, expected: str) -> Path:
    base = root.expanduser().resolve()
    path = (base / Path(given).expanduser()).resolve()  # an absolute `given` replaces base
    if not path.is_relative_to(base):
        raise Unprocessable(
            f"{what}: jobs submitted over the API take {expected} under {base} "
            "(SIGMAX_API_JOB_DATA_DIR / SIGMAX_API_JOB_CHECKPOINT_DIR)"
        )
    return path
