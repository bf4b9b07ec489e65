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

The API's own ``/api/v1/metrics`` shows the pools of every process too, not only its
replica's: each process holding a pool (an actor that opened one through
:func:`actors.persistence.actor_pool`, or any process running :func:`start_export`)
publishes its ``sigmax_pool_*`` samples every few seconds to Ray's GCS key-value
store (:func:`start_pool_publisher`), one entry per process; the API reads them at
each scrape (:func:`read_pool_stats`) and labels each series with the process's
``actor``. An entry older than :data:`POOL_STATS_MAX_AGE_S` (a process that died) is
not shown, and is deleted.
"""

from __future__ import annotations

import contextlib
import json
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
    (a daemon thread; started once per process), and publish its pool gauges for the
    API (:func:`start_pool_publisher`)."""
    start_pool_publisher()
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


# ---- every process's pool gauges, for the API's /metrics -----------------------------

POOL_PREFIX = "sigmax_pool_"
POOL_STATS_NAMESPACE = "sigmax-pool-stats"
POOL_STATS_INTERVAL_S = 2.0
# A process's entry is shown while younger than this, and deleted once past it.
POOL_STATS_MAX_AGE_S = 5 * POOL_STATS_INTERVAL_S

_publishing = threading.Event()

# (family, sample name, labels, value) of one pool sample
PoolSample = tuple[str, str, dict[str, str], float]


def pool_samples(registry: CollectorRegistry = REGISTRY) -> list[PoolSample]:
    """This process's ``sigmax_pool_*`` samples (no ``_created`` timestamps)."""
    return [
        (family.name, sample.name, dict(sample.labels), float(sample.value))
        for family in registry.collect()
        if family.name.startswith(POOL_PREFIX)
        for sample in family.samples
        if not sample.name.endswith("_created")
    ]


def process_key() -> str:
    """This process's entry in the pool-stats store: its node and pid."""
    import ray

    return f"{ray.get_runtime_context().get_node_id()}:{os.getpid()}"


def process_name() -> str:
    """The actor name of this process (``pid:N`` when it is not an actor or Ray is off)."""
    import ray

    if not ray.is_initialized():
        return f"pid:{os.getpid()}"
    return _process_name()


def _kv_ready() -> bool:
    """Whether this process is connected to Ray's GCS key-value store."""
    from ray.experimental import internal_kv

    return bool(internal_kv._internal_kv_initialized())  # type: ignore[no-untyped-call]


def publish_pool_stats(registry: CollectorRegistry = REGISTRY) -> bool:
    """Store this process's pool samples under its key; False when there are none or
    Ray is not connected."""
    from ray.experimental import internal_kv

    samples = pool_samples(registry)
    if not samples or not _kv_ready():
        return False
    doc = {"actor": _process_name(), "at": time.time(), "samples": samples}
    internal_kv._internal_kv_put(
        process_key(), json.dumps(doc), overwrite=True, namespace=POOL_STATS_NAMESPACE
    )
    return True


def start_pool_publisher(interval_s: float = POOL_STATS_INTERVAL_S) -> None:
    """Publish this process's pool gauges every ``interval_s`` until it exits (a daemon
    thread; started once per process, the first publication at once)."""
    if _publishing.is_set():
        return
    _publishing.set()

    def publish_forever() -> None:
        while True:
            with contextlib.suppress(Exception):  # a metric must never take a worker down
                publish_pool_stats()
            time.sleep(interval_s)

    threading.Thread(target=publish_forever, name="sigmax-pool-stats", daemon=True).start()


def read_pool_stats(max_age_s: float = POOL_STATS_MAX_AGE_S) -> list[dict[str, Any]]:
    """The pool samples other processes published within ``max_age_s``, each as
    ``{"actor": name, "at": unix time, "samples": [PoolSample, ...]}``; this process's
    own entry is left out (its caller has its own registry). Stale entries are deleted.
    Empty when this process is not connected to Ray."""
    from ray.experimental import internal_kv

    if not _kv_ready():
        return []
    own = process_key().encode()
    now = time.time()
    found: list[dict[str, Any]] = []
    for key in internal_kv._internal_kv_list("", namespace=POOL_STATS_NAMESPACE):
        if key == own:
            continue
        raw = internal_kv._internal_kv_get(key, namespace=POOL_STATS_NAMESPACE)
        if raw is None:
            continue
        doc = json.loads(raw)
        if now - float(doc["at"]) > max_age_s:
            internal_kv._internal_kv_del(key, namespace=POOL_STATS_NAMESPACE)
            continue
        found.append(doc)
    return sorted(found, key=lambda d: str(d["actor"]))
