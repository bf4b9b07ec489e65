"""The autoscaler adds workers for a sweep the head cannot run and removes them when idle.

The cluster is Ray's fake multi-node provider started by tests/ops/fake_cluster_sweep.py
in a subprocess, apart from the session's shared ``ray_cluster``: its own ports, its
own temp dir, stopped by process group when the script ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.script_module import load_script

SCRIPT = Path(__file__).with_name("fake_cluster_sweep.py")
ROOT = Path(__file__).resolve().parents[2]


def _run_script(*args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-4000:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_sweep_scales_workers_up_then_idle_workers_go_away() -> None:
    # 500 bars a case: the slow average (90) has room to cross; what the claim needs is
    # that every case runs on a worker the autoscaler started, not long cases
    result = _run_script("--cases", "4", "--bars", "500")
    print({k: v for k, v in result.items() if k.endswith("_s")})
    # The head has no CPU: every sweep task ran on a worker the autoscaler started.
    assert result["head_cpus"] == 0 and result["workers_before"] == 0
    assert 1 <= result["peak_workers"] <= result["max_workers"] == 2
    assert result["workers_seen"] >= result["peak_workers"]
    # The sweep's result is the in-process result (wall times aside).
    assert result["executor"] == "ray"
    assert result["failures"] == []
    assert result["ok_runs"] == result["cases"] == 4
    assert result["same_as_in_process"] is True
    # Idle workers were terminated (the script waits for it, bounded).
    assert result["workers_after_idle"] == 0


def test_fake_cluster_config_passes_rays_own_validation() -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    fake_cluster_sweep = load_script(SCRIPT, "fake_cluster_sweep")
    config = prepare_config(fake_cluster_sweep.fake_cluster_config())
    validate_config(config)
    worker = config["available_node_types"][fake_cluster_sweep.WORKER_TYPE]
    assert worker["resources"]["CPU"] == 2 and worker["min_workers"] == 0
    assert config["provider"]["disable_node_updaters"] is True
