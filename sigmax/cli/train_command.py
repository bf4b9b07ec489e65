"""``sigmax train``: PPO on the trading env through RLlib, checkpoints, held-out evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sigmax.data import DataError
from sigmax.rl.checkpoint import CheckpointError, read_meta, resolve_checkpoint
from sigmax.rl.config import EnvConfig, TrainConfig
from sigmax.rl.train import SUMMARY_KEYS

console = Console()
err_console = Console(stderr=True)


def train(
    data: Annotated[
        str, typer.Option(help="bundled:NAME or a CSV/Parquet path")
    ] = "bundled:BTC-USD-1h",
    iterations: Annotated[
        int, typer.Option(help="PPO iterations to run (0 with --resume: evaluate only)")
    ] = 20,
    env_runners: Annotated[int, typer.Option(help="remote env runners (0: sample locally)")] = 1,
    envs_per_runner: Annotated[int, typer.Option(help="vectorised envs per env runner")] = 4,
    checkpoint_dir: Annotated[
        Path, typer.Option(help="checkpoints, metrics.jsonl and tensorboard/ go here")
    ] = Path("rl-checkpoints"),
    resume: Annotated[
        Path | None, typer.Option(help="continue from this checkpoint (or checkpoint dir)")
    ] = None,
    continuous: Annotated[
        bool, typer.Option(help="continuous target in [-1, 1] instead of flat/long(/short)")
    ] = False,
    allow_short: Annotated[bool, typer.Option(help="allow short targets")] = False,
    train_fraction: Annotated[
        float, typer.Option(help="share of the bars (earliest first) used for training")
    ] = 0.7,
    window: Annotated[int, typer.Option(help="bars of features in one observation")] = 16,
    episode_bars: Annotated[int, typer.Option(help="decisions per episode")] = 512,
    fee_bps: Annotated[float, typer.Option(help="fee in bps of traded notional")] = 10.0,
    slippage_bps: Annotated[float, typer.Option(help="slippage in bps of traded notional")] = 2.0,
    drawdown_penalty: Annotated[float, typer.Option(help="weight of drawdown increases")] = 0.5,
    train_batch_size: Annotated[int, typer.Option(help="env steps per iteration")] = 4000,
    minibatch_size: Annotated[int, typer.Option(help="SGD minibatch size")] = 256,
    num_epochs: Annotated[int, typer.Option(help="SGD passes over each batch")] = 5,
    lr: Annotated[float, typer.Option(help="learning rate")] = 3e-4,
    checkpoint_every: Annotated[int, typer.Option(help="save every this many iterations")] = 5,
    seed: Annotated[int, typer.Option(help="seed of RLlib, the env windows and exploration")] = 0,
    evaluate: Annotated[
        bool, typer.Option(help="backtest the policy on the held-out bars at the end")
    ] = True,
) -> None:
    """Train a PPO trading policy (Ray RLlib) on the earlier bars; evaluate on the rest."""
    try:
        if resume is not None:
            env = EnvConfig(**read_meta(resolve_checkpoint(resume))["env"])
        else:
            env = EnvConfig(
                data=data,
                train_fraction=train_fraction,
                window=window,
                episode_bars=episode_bars,
                fee_bps=fee_bps,
                slippage_bps=slippage_bps,
                drawdown_penalty=drawdown_penalty,
                allow_short=allow_short,
                continuous=continuous,
            )
        if iterations < 0 or (iterations == 0 and resume is None):
            raise ValueError("--iterations must be >= 1 (or 0 with --resume to evaluate only)")
        config = TrainConfig(
            iterations=max(iterations, 1),
            env_runners=env_runners,
            envs_per_runner=envs_per_runner,
            train_batch_size=train_batch_size,
            minibatch_size=minibatch_size,
            num_epochs=num_epochs,
            lr=lr,
            checkpoint_every=checkpoint_every,
            seed=seed,
        )
    except (CheckpointError, ValidationError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    last: Path | None = resume
    if iterations > 0:
        last = _run_training(env, config, checkpoint_dir, resume)
    if evaluate and last is not None:
        _evaluate(last, checkpoint_dir)


def _run_training(
    env: EnvConfig, config: TrainConfig, checkpoint_dir: Path, resume: Path | None
) -> Path | None:
    from sigmax.rl.train import train as run_train

    table = Table(title=f"PPO on {env.data} ({'continuous' if env.continuous else 'discrete'})")
    for column, _ in SUMMARY_KEYS:
        table.add_column(column, justify="right")

    def show(summary: dict[str, float]) -> None:
        row = [_fmt(summary[c]) for c, _ in SUMMARY_KEYS]
        table.add_row(*row)
        console.print("  ".join(f"{c}={v}" for (c, _), v in zip(SUMMARY_KEYS, row, strict=True)))

    try:
        outcome = run_train(env, config, checkpoint_dir, resume, on_iteration=show)
    except (CheckpointError, DataError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(table)
    console.print(f"checkpoints: {', '.join(str(p) for p in outcome.checkpoints)}")
    console.print(f"metrics: {checkpoint_dir / 'metrics.jsonl'}")
    return outcome.last_checkpoint


def _evaluate(checkpoint: Path, checkpoint_dir: Path) -> None:
    from sigmax.backtest.rl_evaluation import evaluate
    from sigmax.config import get_settings

    settings = get_settings()
    result = evaluate(checkpoint, risk_limits=settings.risk, graph=settings.graph)
    table = Table(
        title=f"held-out {result.first_bar[:10]} .. {result.last_bar[:10]} ({result.bars} bars)"
    )
    table.add_column("strategy")
    for metric in ("total_return", "sharpe", "max_drawdown", "fills"):
        table.add_column(metric, justify="right")
    for name, metrics in result.results.items():
        table.add_row(
            name,
            f"{metrics['total_return']:+.2%}",
            f"{metrics['sharpe']:.2f}",
            f"{metrics['max_drawdown']:.2%}",
            _fmt(metrics.get("fills", float("nan"))),
        )
    console.print(table)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    out = checkpoint_dir / "evaluation.json"
    out.write_text(json.dumps(result.as_dict(), indent=2))
    console.print(f"evaluation: {out}")


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if value == int(value) and abs(value) >= 1 else f"{value:.4g}"
