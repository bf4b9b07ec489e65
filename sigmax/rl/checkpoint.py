"""RL checkpoints on disk: finding one, and the SIGMAX record written beside RLlib's state.

A checkpoint is RLlib's folder (``Algorithm.save_to_path``), ``checkpoint_000010`` etc.,
with ``sigmax_rl.json`` beside the algorithm state: the env settings the policy was
trained with, which inference needs to rebuild its observations, and the observation's
layout (``ObservationLayout``: window, analysts, feature names in order). Training
(``sigmax.rl.train``) writes it; loading a policy or resuming checks the layout against
what the current code builds (``check_observation``). No Ray here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import structlog

from sigmax.errors import InvalidInputError, NotFoundError
from sigmax.rl.config import EnvConfig, ObservationLayout

META_FILE = "sigmax_rl.json"
CHECKPOINT_PREFIX = "checkpoint_"
OBSERVATION_KEY = "observation"

#: The layout of every checkpoint written before checkpoints recorded theirs: the
#: features have not changed from the first RL commit (479c10a) to the record's. Frozen
#: here, never derived from the current code, so a changed feature set refuses them too.
LEGACY_ANALYSTS = ("trend", "momentum", "mean_reversion", "volatility", "sentiment")
LEGACY_FEATURES = (
    *(f"{name}.{part}" for name in LEGACY_ANALYSTS for part in ("score", "confidence")),
    "ret_1",
    "ret_4",
    "ret_24",
    "vol_ratio",
)

log = structlog.get_logger(__name__)


class CheckpointError(NotFoundError, FileNotFoundError):
    """A checkpoint path is missing or is not a SIGMAX RL checkpoint."""


class CheckpointMismatchError(InvalidInputError):
    """A checkpoint's policy was trained on observations other than this code builds."""


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


def observation_record(layout: ObservationLayout) -> dict[str, Any]:
    """The layout as it is stored under ``OBSERVATION_KEY`` in a checkpoint's record."""
    return {OBSERVATION_KEY: layout.model_dump(mode="json")}


def recorded_layout(meta: dict[str, Any]) -> ObservationLayout | None:
    """The layout a checkpoint's record holds; None for a checkpoint written before."""
    recorded = meta.get(OBSERVATION_KEY)
    return None if recorded is None else ObservationLayout.model_validate(recorded)


def check_observation(checkpoint: Path, meta: dict[str, Any], built: ObservationLayout) -> None:
    """Refuse a checkpoint whose policy was trained on another layout than ``built``
    (what the current code feeds it): CheckpointMismatchError naming the features
    missing and extra, and the checkpoint. A checkpoint without a record was written
    before the record existed, when one layout was all there was (``LEGACY_FEATURES``):
    it is checked against that and, when it matches, accepted with a warning."""
    recorded = recorded_layout(meta)
    legacy = recorded is None
    if recorded is None:
        window = EnvConfig(**meta["env"]).window
        recorded = ObservationLayout(
            window=window, analysts=LEGACY_ANALYSTS, features=LEGACY_FEATURES
        )
    if recorded != built:
        raise CheckpointMismatchError(_mismatch_message(checkpoint, recorded, built, legacy))
    if legacy:
        log.warning(
            "RL checkpoint without an observation record: assumed the original features",
            checkpoint=str(checkpoint),
            features=len(recorded.features),
            hint="retrain (sigmax train) to write the record",
        )


def _mismatch_message(
    checkpoint: Path, recorded: ObservationLayout, built: ObservationLayout, legacy: bool
) -> str:
    missing = [f for f in recorded.features if f not in built.features]
    extra = [f for f in built.features if f not in recorded.features]
    found = []
    if missing:
        found.append(f"missing now (in the checkpoint, not built): {', '.join(missing)}")
    if extra:
        found.append(f"extra now (built, unknown to the checkpoint): {', '.join(extra)}")
    if not missing and not extra and recorded.features != built.features:
        found.append("the same features in another order")
    if recorded.window != built.window:
        found.append(f"a window of {built.window} bars, not {recorded.window}")
    if recorded.extras != built.extras:
        found.append(f"inputs after the features {list(built.extras)}, not {list(recorded.extras)}")
    if not found:
        found.append(f"analysts {list(built.analysts)}, not {list(recorded.analysts)}")
    origin = (
        " (written before checkpoints recorded their features; it has the original ones)"
        if legacy
        else ""
    )
    return (
        f"RL checkpoint {checkpoint}{origin} was trained on other observations than this "
        f"code builds: {'; '.join(found)}. Its policy takes {recorded.size} inputs, this "
        f"code would feed {built.size}. Retrain it with `sigmax train --checkpoint-dir "
        f"DIR` on this code, or load it with the code it was trained with."
    )
