"""RL checkpoints on disk: finding one, and the SIGMAX record written beside RLlib's state.

A checkpoint is RLlib's folder (``Algorithm.save_to_path``), ``checkpoint_000010`` etc.,
with ``sigmax_rl.json`` beside the algorithm state: the env settings the policy was
trained with, which inference needs to rebuild its observations. Training
(``sigmax.rl.train``) writes it; inference (``sigmax.rl.policy``) reads it. No Ray here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sigmax.errors import NotFoundError

META_FILE = "sigmax_rl.json"
CHECKPOINT_PREFIX = "checkpoint_"


class CheckpointError(NotFoundError, FileNotFoundError):
    """A checkpoint path is missing or is not a SIGMAX RL checkpoint."""


def checkpoint_name(iteration: int) -> str:
    return f"{CHECKPOINT_PREFIX}{iteration:06d}"


def resolve_checkpoint(path: str | Path) -> Path:
    """``path`` itself when it is a checkpoint, else its newest ``checkpoint_*`` folder.

    Raises CheckpointError naming the path when there is none.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"RL checkpoint not found: {path} does not exist")
    if (path / META_FILE).is_file() and (path / "algorithm_state.pkl").exists():
        return path
    found = sorted(p for p in path.glob(f"{CHECKPOINT_PREFIX}*") if (p / META_FILE).is_file())
    if not found:
        raise CheckpointError(
            f"RL checkpoint not found: {path} holds no {CHECKPOINT_PREFIX}* folder with "
            f"{META_FILE} (train one with `sigmax train --checkpoint-dir {path}`)"
        )
    return found[-1]


def read_meta(checkpoint: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((checkpoint / META_FILE).read_text())
    return meta


def write_meta(checkpoint: Path, meta: dict[str, Any]) -> None:
    (checkpoint / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
