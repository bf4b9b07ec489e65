"""Throughput of the RL trading env: raw env, gymnasium vector env, RLlib sampling.

Scenarios (env steps per second, random actions for the raw envs, the PPO policy's
exploration for RLlib):

* ``env``           one ``TradingEnv``, ``step`` in a Python loop
* ``vector-sync``   ``gymnasium.vector.SyncVectorEnv`` of V envs
* ``rllib-K``       ``EnvRunnerGroup.sample`` through RLlib's new API stack with K remote env
                    runners of V envs each (the runners' sampling only, no learning)

    .venv/bin/python bench/rl.py --steps 20000 --envs 4 --runners 1 2
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
from rich.console import Console
from rich.table import Table

from sigmax.rl.config import EnvConfig, TrainConfig
from sigmax.rl.env import TradingEnv


def bench_env(config: EnvConfig, steps: int) -> float:
    env = TradingEnv(config)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, steps)
    started = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - started)


def bench_vector(config: EnvConfig, steps: int, envs: int) -> float:
    vec = gym.vector.SyncVectorEnv([lambda: TradingEnv(config) for _ in range(envs)])
    vec.reset(seed=0)
    vec.action_space.seed(0)
    rounds = max(steps // envs, 1)
    started = time.perf_counter()
    for _ in range(rounds):
        vec.step(vec.action_space.sample())  # autoreset handles episode ends
    elapsed = time.perf_counter() - started
    vec.close()
    return rounds * envs / elapsed


def bench_rllib(config: EnvConfig, steps: int, envs: int, runners: int) -> float:
    from sigmax.rl.train import build_ppo_config

    train = TrainConfig(env_runners=runners, envs_per_runner=envs, train_batch_size=steps)
    algo = build_ppo_config(config, train).build_algo()
    group = algo.env_runner_group
    chunk = max(steps // max(runners, 1) // 4, 100)

    def sample(runner: object) -> int:  # runs inside each env runner; returns a count
        return sum(len(e) for e in runner.sample(num_timesteps=chunk))  # type: ignore[attr-defined]

    try:
        group.foreach_env_runner(sample, local_env_runner=runners == 0)  # warm-up
        started = time.perf_counter()
        sampled = 0
        while sampled < steps:
            sampled += sum(group.foreach_env_runner(sample, local_env_runner=runners == 0))
        return sampled / (time.perf_counter() - started)
    finally:
        algo.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--envs", type=int, default=4, help="envs per vector env / env runner")
    parser.add_argument("--runners", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()
    config = EnvConfig()
    rows: list[tuple[str, float]] = []
    rows.append(("env (1)", bench_env(config, args.steps)))
    rows.append((f"vector-sync ({args.envs})", bench_vector(config, args.steps, args.envs)))
    if args.runners:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        import ray

        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            for k in args.runners:
                rate = bench_rllib(config, args.steps, args.envs, k)
                rows.append((f"rllib {k} runner(s) x {args.envs} envs", rate))
        finally:
            ray.shutdown()
    table = Table(title=f"TradingEnv throughput ({os.cpu_count()} CPUs, {args.steps} steps)")
    table.add_column("scenario")
    table.add_column("env steps/s", justify="right")
    for name, rate in rows:
        table.add_row(name, f"{rate:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
