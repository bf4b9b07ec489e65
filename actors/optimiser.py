"""Portfolio optimisations as Ray tasks, and the ``optimiser`` actor the API reads.

Each optimisation is one Ray task with explicit resources: ``num_cpus=1``, plus
``num_gpus=1`` when a GPU is requested (the task then asks qiskit-aer for its GPU
device; a CPU-only qiskit-aer build runs on CPU and says so in the result's quantum
notes). Asking for a GPU on a cluster without one fails at once with a clear error
instead of leaving the task pending forever.

:class:`OptimiserActor` (name ``optimiser``, namespace ``sigmax``) launches those
tasks and keeps the last finished result for ``GET``-style reads (``last_result()``).
"""

from __future__ import annotations

from typing import Any

import ray

from actors.options import (
    CALL_TIMEOUT_S,
    NAMESPACE,
    OPTIMISE_TASK,
    OPTIMISER,
    REOPTIMISE_TASK,
    spawn,
)
from actors.ports import call_actor
from actors.sweep import ray_session
from sigmax.portfolio import OptimisationResult, OptimiserConfig, optimise
from sigmax.portfolio.estimate import ReturnsPanel

__all__ = [
    "OPTIMISER",  # the role (from actors.options), for existing importers
    "OptimiserActor",
    "last_optimisation",
    "optimise_on_ray",
    "optimise_panel_remote",
    "optimise_remote",
    "spawn_optimiser",
]


@ray.remote(**OPTIMISE_TASK.options())
def _optimise_task(config: OptimiserConfig) -> OptimisationResult:
    return optimise(config)


@ray.remote(**REOPTIMISE_TASK.options())
def _optimise_panel_task(config: OptimiserConfig, panel: ReturnsPanel) -> OptimisationResult:
    return optimise(config, panel)


def optimise_panel_remote(
    config: OptimiserConfig, panel: ReturnsPanel
) -> ray.ObjectRef[OptimisationResult]:
    """One optimisation of given returns (a session's recent bars) as a Ray task."""
    return _optimise_panel_task.remote(config, panel)


def _prepared(config: OptimiserConfig, gpu: bool) -> tuple[OptimiserConfig, dict[str, Any]]:
    options = OPTIMISE_TASK.options()
    if gpu:
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]  # ray ships no annotations here
        if resources.get("GPU", 0.0) < 1:
            raise RuntimeError(
                "GPU requested but this Ray cluster offers no GPU resource "
                f"(resources: {sorted(resources)}); run without --gpu"
            )
        options["num_gpus"] = 1
        config = config.model_copy(update={"device": "GPU"})
    return config, options


def optimise_remote(
    config: OptimiserConfig, gpu: bool = False
) -> ray.ObjectRef[OptimisationResult]:
    """Start one optimisation task on the connected cluster; returns its ObjectRef."""
    config, options = _prepared(config, gpu)
    return _optimise_task.options(**options).remote(config)


def optimise_on_ray(
    config: OptimiserConfig, gpu: bool = False, address: str | None = None
) -> OptimisationResult:
    """One optimisation as a Ray task (uses the Ray already initialised, else starts one)."""
    with ray_session(address):
        result: OptimisationResult = ray.get(optimise_remote(config, gpu))
    return result


@ray.remote
class OptimiserActor:
    """Runs optimisations as tasks and remembers the last result for the API."""

    def __init__(self) -> None:
        self._last: OptimisationResult | None = None

    async def optimise(self, config: OptimiserConfig, gpu: bool = False) -> OptimisationResult:
        result: OptimisationResult = await optimise_remote(config, gpu)
        self._last = result
        return result

    async def last_result(self) -> OptimisationResult | None:
        return self._last


def spawn_optimiser() -> Any:
    """The ``optimiser`` actor in namespace ``sigmax`` (created, or found by name).

    Detached: it serves the API's last result, so it must outlive the job or task that
    created it (a named actor is otherwise collected once no handle is left)."""
    return spawn(OptimiserActor, OPTIMISER, "", detached=True)


def last_optimisation(timeout_s: float | None = CALL_TIMEOUT_S) -> OptimisationResult | None:
    """The ``optimiser`` actor's last result; None when no optimiser runs (none has run
    yet). A slow answer raises :class:`~actors.ports.ActorCallTimeout`."""
    try:
        optimiser = ray.get_actor(OPTIMISER.name, namespace=NAMESPACE)
    except ValueError:
        return None
    result: OptimisationResult | None = call_actor(
        optimiser, "last_result", actor=OPTIMISER.name, timeout_s=timeout_s
    )
    return result
