"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    """One local Ray cluster for the whole test session (Ray idles at ~1 GB; start it once).

    Token auth is off for this throwaway loopback cluster (Ray 2.60 turns it on by
    default); tests that need Ray take this fixture, the rest never start Ray.
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    # The exchange simulator double's (fake) keys, under their own credentials name, in
    # the environment the cluster's workers inherit: as an operator sets real keys on a
    # Ray node before `sigmax up`, since no secret travels in a runtime_env.
    from tests.doubles.binance_spot_simulator import API_KEY, CREDENTIALS_NAME, SECRET

    os.environ.setdefault(f"SIGMAX_EXCHANGE_{CREDENTIALS_NAME.upper()}_API_KEY", API_KEY)
    os.environ.setdefault(f"SIGMAX_EXCHANGE_{CREDENTIALS_NAME.upper()}_SECRET", SECRET)
    import ray

    if not ray.is_initialized():
        # The keys docs/LIVE.md exports (the simulator's), for its sessions that join this
        # cluster: on the node only, so this process still runs without Binance keys.
        with pytest.MonkeyPatch.context() as node_only:
            node_only.setenv("SIGMAX_EXCHANGE_BINANCE_API_KEY", API_KEY)
            node_only.setenv("SIGMAX_EXCHANGE_BINANCE_SECRET", SECRET)
            ray.init(
                num_cpus=4,
                include_dashboard=False,
                namespace="sigmax-test",
                log_to_driver=False,
                configure_logging=False,
            )
    yield ray
    ray.shutdown()
