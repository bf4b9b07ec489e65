"""SIGMAX's own Prometheus metrics, exported through Ray's metrics agent as well.

Every process of a SIGMAX job (each actor's, each task worker's, an API replica's)
keeps its metrics in prometheus_client's default registry: connection-pool gauges,
the API's request and trading metrics. Nothing scrapes an actor's process directly,
so :func:`start_export` (the job's ``worker_process_setup_hook``) copies every
``sigmax_*`` sample into a :mod:`ray.util.metrics` gauge every few seconds. Ray's
metrics agent exports them on each node's metrics port, listed in
``/tmp/ray/prom_metrics_service_discovery.json``, named with Ray's ``ray_`` prefix
(``sigmax_pool_in_use`` becomes ``ray_sigmax_pool_in_use``); the Grafana dashboards
query either name. Counters and histogram series are copied as gauges of the same
value, which ``rate()`` and ``histogram_quantile()`` read the same way. Each copy has
an ``actor`` label, the process's actor name (``risk:up``) or ``pid:N`` for a task
worker: Ray keeps one value per label set, and the pools of the risk, execution and
portfolio actors must not overwrite one another.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry

PREFIX = "sigmax_"
EXPORT_INTERVAL_S = 5.0
# The job-level runtime_env entry that runs start_export in every worker process.
SETUP_HOOK = "actors.ray_metrics.start_export"

_started = threading.Event()


class RayMirror:
    """Copies the ``sigmax_*`` samples of a prometheus_client registry into Ray gauges."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.gauges: dict[str, Any] = {}

    def copy_once(self) -> int:
        """Copy every current sample; returns how many were copied."""
        copied = 0
        process = _process_name()
        for family in self.registry.collect():
            if not family.name.startswith(PREFIX):
                continue
            for sample in family.samples:
                if sample.name.endswith("_created"):  # a timestamp, not a measurement
                    continue
                tag_keys = (*sorted(sample.labels), "actor")
                gauge = self._gauge(sample.name, family.documentation, tag_keys)
                gauge.set(sample.value, tags={**sample.labels, "actor": process})
                copied += 1
        return copied

    def _gauge(self, name: str, documentation: str, tag_keys: tuple[str, ...]) -> Any:
        if name not in self.gauges:
            from ray.util.metrics import Gauge

            self.gauges[name] = Gauge(name, documentation or name, tag_keys=tag_keys)
        return self.gauges[name]


def _process_name() -> str:
    import ray

    return ray.get_runtime_context().get_actor_name() or f"pid:{os.getpid()}"


def start_export(interval_s: float = EXPORT_INTERVAL_S) -> None:
    """Mirror this process's SIGMAX metrics into Ray's metrics agent until it exits
    (a daemon thread; started once per process)."""
    if _started.is_set():
        return
    _started.set()
    mirror = RayMirror()

    def copy_forever() -> None:
        while True:
            with contextlib.suppress(Exception):  # a metric must never take a worker down
                mirror.copy_once()
            time.sleep(interval_s)

    threading.Thread(target=copy_forever, name="sigmax-ray-metrics", daemon=True).start()
