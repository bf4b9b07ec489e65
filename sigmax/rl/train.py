"""PPO training of the trading policy with RLlib's new API stack.

Ray and RLlib are imported inside the functions (``sigmax`` never imports Ray at module
level). Checkpoints are RLlib's (``Algorithm.save_to_path``), one folder per save,
with the SIGMAX record beside it (``sigmax.rl.checkpoint``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigmax.rl.checkpoint import (
    check_observation,
    checkpoint_name,
    observation_record,
    read_meta,
    resolve_checkpoint,
    write_meta,
)
from sigmax.rl.config import EnvConfig, ObservationLayout, TrainConfig

METRICS_FILE = "metrics.jsonl"

#: (column, path in RLlib's result dict) shown in the per-iteration table.
SUMMARY_KEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("iter", ("training_iteration",)),
    ("env_steps", ("num_env_steps_sampled_lifetime",)),
    ("return_mean", ("env_runners", "episode_return_mean")),
    ("ep_len_mean", ("env_runners", "episode_len_mean")),
    ("policy_loss", ("learners", "default_policy", "policy_loss")),
    ("vf_loss", ("learners", "default_policy", "vf_loss")),
    ("entropy", ("learners", "default_policy", "entropy")),
    ("iter_s", ("time_this_iter_s",)),
)


@dataclass
class TrainOutcome:
    """What a training run did: the checkpoints written and each iteration's summary."""

    checkpoint_dir: Path
    checkpoints: list[Path] = field(default_factory=list)
    summaries: list[dict[str, float]] = field(default_factory=list)
    iterations_done: int = 0

    @property
    def last_checkpoint(self) -> Path | None:
        return self.checkpoints[-1] if self.checkpoints else None


def build_ppo_config(env: EnvConfig, train: TrainConfig) -> Any:
    """The ``PPOConfig`` for ``env`` and ``train`` (new API stack, torch, CPU)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from sigmax.rl.env import TradingEnv

    return (
        PPOConfig()  # type: ignore[no-untyped-call]  # RLlib ships no annotations here
        .api_stack(enable_rl_module_and_learner=True, enable_env_runner_and_connector_v2=True)
        .framework("torch")
        .environment(env=TradingEnv, env_config=env.model_dump())
        .env_runners(
            num_env_runners=train.env_runners,
            num_envs_per_env_runner=train.envs_per_runner,
            num_cpus_per_env_runner=1,
            rollout_fragment_length=train.rollout_fragment_length,
        )
        .learners(num_learners=0, num_gpus_per_learner=0)
        .training(
            train_batch_size_per_learner=train.train_batch_size,
            minibatch_size=train.minibatch_size,
            num_epochs=train.num_epochs,
            lr=train.lr,
            gamma=train.gamma,
            entropy_coeff=train.entropy_coeff,
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=list(train.hidden)))
        .debugging(seed=train.seed)
    )


def flatten_result(result: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The finite numbers of RLlib's nested result dict as ``a/b/c`` keys."""
    flat: dict[str, float] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_result(value, f"{name}/"))
        elif isinstance(value, int | float) and math.isfinite(float(value)):  # bools too
            flat[name] = float(value)
    return flat


def summarise(result: Mapping[str, Any]) -> dict[str, float]:
    """The SUMMARY_KEYS of one result (NaN where RLlib did not report one yet)."""
    out: dict[str, float] = {}
    for column, keys in SUMMARY_KEYS:
        value: Any = result
        for key in keys:
            value = value.get(key) if isinstance(value, Mapping) else None
        out[column] = float(value) if isinstance(value, int | float) else float("nan")
    return out


class MetricsLog:
    """Per-iteration metrics: JSON lines (every finite number) and TensorBoard events
    (tensorboardX, when installed)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / METRICS_FILE
        self._writer: Any = None
        try:
            from tensorboardX import SummaryWriter

            self._writer = SummaryWriter(str(directory / "tensorboard"))
        except ImportError:
            self._writer = None

    def write(self, result: Mapping[str, Any]) -> dict[str, float]:
        flat = flatten_result(result)
        with self.path.open("a") as fh:
            fh.write(json.dumps(flat, sort_keys=True) + "\n")
        if self._writer is not None:
            step = int(flat.get("training_iteration", 0))
            for key, value in flat.items():
                self._writer.add_scalar(key, value, step)
            self._writer.flush()
        return flat

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def train(
    env: EnvConfig,
    config: TrainConfig,
    checkpoint_dir: Path,
    resume: Path | None = None,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
) -> TrainOutcome:
    """Run ``config.iterations`` PPO iterations (more, after a resumed run's) on the
    connected Ray cluster (or a local one), saving every ``checkpoint_every`` and at the
    end, each with the observation layout the env builds. ``resume`` continues from a
    checkpoint (its env settings and observation layout must match)."""
    import ray

    from sigmax.rl.features import observation_layout

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if not ray.is_initialized():
        ray.init(log_to_driver=False)
    layout = observation_layout(env.window)
    algo = _build_or_restore(env, config, resume, layout)
    log = MetricsLog(checkpoint_dir)
    outcome = TrainOutcome(checkpoint_dir)
    meta = {
        "env": env.model_dump(),
        "train": config.model_dump(mode="json"),
        **observation_record(layout),
    }
    try:
        for _ in range(config.iterations):
            started = time.perf_counter()
            result = algo.train()
            result.setdefault("time_this_iter_s", time.perf_counter() - started)
            log.write(result)
            summary = summarise(result)
            outcome.summaries.append(summary)
            outcome.iterations_done += 1
            if on_iteration is not None:
                on_iteration(summary)
            iteration = int(result.get("training_iteration", outcome.iterations_done))
            last = outcome.iterations_done == config.iterations
            if last or iteration % config.checkpoint_every == 0:
                outcome.checkpoints.append(_save(algo, checkpoint_dir, iteration, meta))
    finally:
        log.close()
        algo.stop()
    return outcome


def _build_or_restore(
    env: EnvConfig, config: TrainConfig, resume: Path | None, layout: ObservationLayout
) -> Any:
    if resume is None:
        return build_ppo_config(env, config).build_algo()
    from ray.rllib.algorithms.algorithm import Algorithm

    checkpoint = resolve_checkpoint(resume)
    meta = read_meta(checkpoint)
    trained_env = EnvConfig(**meta["env"])
    if trained_env != env:
        raise ValueError(
            f"--resume {checkpoint}: trained with env settings {trained_env.model_dump()}, "
            f"not {env.model_dump()}"
        )
    check_observation(checkpoint, meta, layout)
    return Algorithm.from_checkpoint(str(checkpoint.resolve()))


def _save(algo: Any, directory: Path, iteration: int, meta: dict[str, Any]) -> Path:
    path = directory / checkpoint_name(iteration)
    algo.save_to_path(str(path.resolve()))
    write_meta(path, {**meta, "iteration": iteration})
    return path


def iter_metrics(checkpoint_dir: Path) -> Iterator[dict[str, float]]:
    """The JSON lines a training run wrote, one dict per iteration."""
    with (checkpoint_dir / METRICS_FILE).open() as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
