"""Fixtures of the RL tests: the bundled candles, hand-made series, and one tiny real
training run (2 PPO iterations on 4,000 bars, ~30 s) shared by every test needing a
trained checkpoint; tests that change a checkpoint work on a copy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sigmax.data import load_bars
from sigmax.model import BarSeries

#: ``sigmax train`` options that keep a real training run small (after --data and
#: --checkpoint-dir): 2 iterations of 128 env steps.
TINY = [
    "--iterations", "2",
    "--env-runners", "1",
    "--envs-per-runner", "2",
    "--episode-bars", "64",
    "--train-batch-size", "128",
    "--minibatch-size", "64",
    "--num-epochs", "1",
    "--checkpoint-every", "1",
    "--allow-short",
    "--no-evaluate",
]  # fmt: skip


@pytest.fixture(scope="session")
def btc() -> BarSeries:
    return load_bars("bundled:BTC-USD-1h")


@pytest.fixture(scope="session")
def small_csv(btc: BarSeries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rl-data") / "btc-4000.csv"
    btc[:4000].to_frame().to_csv(path)
    return path


@pytest.fixture(scope="session")
def trained_dir(
    ray_cluster: Any, small_csv: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The ``--checkpoint-dir`` of a TINY run of the train job (checkpoints 1 and 2).
    Read only: copy it to change it."""
    from sigmax.jobs.train import main

    ckpt = tmp_path_factory.mktemp("rl-trained") / "ckpt"
    assert main(["--data", str(small_csv), "--checkpoint-dir", str(ckpt), *TINY]) == 0
    return ckpt


def make_bars(open_: list[float], close: list[float]) -> BarSeries:
    """A hand-made series (hourly); high/low bracket open and close."""
    o, c = np.array(open_, dtype=np.float64), np.array(close, dtype=np.float64)
    ts = np.arange(len(o), dtype=np.int64) * 3_600_000_000_000 + 1_600_000_000_000_000_000
    return BarSeries(
        "TEST/USD",
        "1h",
        ts,
        o,
        np.maximum(o, c) * 1.01,
        np.minimum(o, c) * 0.99,
        c,
        np.ones(len(o)),
    )
