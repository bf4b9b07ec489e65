"""Placement, naming and restart policy of every SIGMAX actor and Ray task, in one place.

Also the one default time an API call to an actor may take (:data:`CALL_TIMEOUT_S`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigmax.tracing import propagated_env

NAMESPACE = "sigmax"

# How long one call from the API (or another caller that must not hang) waits for an
# actor's answer, unless the caller says otherwise.
CALL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Role:
    """How one kind of actor is placed and restarted."""

    name: str
    num_cpus: float
    max_restarts: int = 0  # stateless actors are recreated by their owner instead
    max_task_retries: int = 0
    max_concurrency: int | None = None  # 1 for async actors whose calls must not interleave

    def options(self, suffix: str = "", **extra: Any) -> dict[str, Any]:
        """``ActorClass.options(...)`` keyword arguments for this role."""
        opts: dict[str, Any] = {
            "name": f"{self.name}:{suffix}" if suffix else self.name,
            "namespace": NAMESPACE,
            "num_cpus": self.num_cpus,
            "max_restarts": self.max_restarts,
            "max_task_retries": self.max_task_retries,
            "get_if_exists": True,
        }
        if self.max_concurrency is not None:
            opts["max_concurrency"] = self.max_concurrency
        opts.update(extra)
        return opts


# Stateful actors restart forever and rebuild from PostgreSQL; calls in flight during
# a restart are retried (their methods are idempotent by client order id / fill id).
AGENT = Role("agent", num_cpus=0.1, max_restarts=3, max_task_retries=2)
DECISION_GRAPH = Role("decision-graph", num_cpus=0.2, max_restarts=3, max_task_retries=2)
RISK = Role("risk", num_cpus=0.1, max_restarts=-1, max_task_retries=-1, max_concurrency=1)
EXECUTION = Role("execution", num_cpus=0.1, max_restarts=-1, max_task_retries=-1, max_concurrency=1)
PORTFOLIO = Role("portfolio", num_cpus=0.1, max_restarts=-1, max_task_retries=-1, max_concurrency=1)
MARKET_DATA = Role("market-data", num_cpus=0.1, max_restarts=3, max_task_retries=2)
TIMESERIES_STORE = Role("timeseries-store", num_cpus=0.1, max_restarts=-1, max_task_retries=-1)
PROPOSALS = Role("proposals", num_cpus=0.05, max_restarts=-1, max_task_retries=-1)
# The per-bar loop of one session: detached (outlives the driver that started it) and
# restarted forever; a restarted loop continues after the last bar the account stored.
# Its calls (status, reports, stop) are answered from memory and are not retried.
SESSION = Role("session", num_cpus=0.1, max_restarts=-1, max_task_retries=0, max_concurrency=4)
# Services of the cluster, detached and found by name: the optimiser keeps the last
# result for the API; the job board tracks the API's jobs for every replica.
OPTIMISER = Role("optimiser", num_cpus=0.1, max_restarts=3, max_task_retries=0)
JOB_BOARD = Role("api-jobs", num_cpus=0, max_restarts=-1, max_task_retries=0)


@dataclass(frozen=True)
class TaskPolicy:
    """How one kind of Ray task is placed and retried."""

    num_cpus: float
    max_retries: int

    def options(self, **extra: Any) -> dict[str, Any]:
        """``@ray.remote(...)`` / ``task.options(...)`` keyword arguments for this task."""
        return {"num_cpus": self.num_cpus, "max_retries": self.max_retries, **extra}


# A job's failure is its result (the board reports it): never rerun a job.
BACKTEST_JOB = TaskPolicy(num_cpus=1, max_retries=0)
TRAINING_JOB = TaskPolicy(num_cpus=1, max_retries=0)
OPTIMISE_JOB = TaskPolicy(num_cpus=0, max_retries=0)  # waits on the optimiser actor
# Pure computations: rerun when their worker dies (Ray's default of 3 retries).
OPTIMISE_TASK = TaskPolicy(num_cpus=1, max_retries=3)
# A session's rerun of the optimiser on its own bars: a small classical solve that must
# find room beside the session's actors on a 2-CPU machine (they take 1.3 CPUs).
REOPTIMISE_TASK = TaskPolicy(num_cpus=0.25, max_retries=1)
SWEEP_CASE = TaskPolicy(num_cpus=1, max_retries=3)


def spawn(actor_class: Any, role: Role, suffix: str, *args: Any, detached: bool = False) -> Any:
    """Create (or find by name) one actor of ``role``; returns its handle. A detached
    actor outlives its creator (a service others look up by name)."""
    extra: dict[str, Any] = {"lifetime": "detached"} if detached else {}
    env = propagated_env()  # the actor traces and logs as its creator was told to
    if env:
        extra["runtime_env"] = {"env_vars": env}
    return actor_class.options(**role.options(suffix, **extra)).remote(*args)
