"""Optimisation as a Ray task and through the ``optimiser`` actor."""

from __future__ import annotations

from typing import Any

import pytest

from sigmax.portfolio import OptimiserConfig, optimise

CONFIG = OptimiserConfig(budget=3, solver="qaoa", seed=7)


def test_ray_task_gives_the_in_process_result(ray_cluster: Any) -> None:
    from actors.optimiser import optimise_on_ray

    local = optimise(CONFIG)
    remote = optimise_on_ray(CONFIG)
    assert remote.weights == local.weights
    assert remote.solver == local.solver == "qaoa"
    assert remote.selection == local.selection
    assert remote.quantum is not None and local.quantum is not None
    assert remote.quantum.p_optimum == local.quantum.p_optimum
    assert remote.quantum.qasm == local.quantum.qasm


def test_actor_keeps_the_last_result(ray_cluster: Any) -> None:
    from actors.optimiser import OPTIMISER, spawn_optimiser

    actor = spawn_optimiser()
    assert ray_cluster.get(actor.last_result.remote()) is None
    config = CONFIG.model_copy(update={"solver": "classical"})
    result = ray_cluster.get(actor.optimise.remote(config))
    last = ray_cluster.get(actor.last_result.remote())
    assert last == result and last.solver == "classical-exhaustive"
    assert OPTIMISER.options()["name"] == "optimiser"
    assert OPTIMISER.options()["namespace"] == "sigmax"
    found = ray_cluster.get_actor("optimiser", namespace="sigmax")
    assert ray_cluster.get(found.last_result.remote()) == result
    ray_cluster.kill(actor)


def test_gpu_request_without_a_gpu_is_a_clear_error(ray_cluster: Any) -> None:
    from actors.optimiser import optimise_remote

    if ray_cluster.cluster_resources().get("GPU", 0) >= 1:
        pytest.skip("this cluster has a GPU")
    with pytest.raises(RuntimeError, match="no GPU resource"):
        optimise_remote(CONFIG, gpu=True)
