"""Run a SIGMAX sweep on a private autoscaling Ray cluster (fake multi-node provider).

tests/ops/test_ops_autoscaling.py runs this as a subprocess and asserts on the one
JSON document it prints. The head has no CPUs, so the sweep's tasks (``num_cpus=1``
each) can only run on worker nodes that the autoscaler starts; once the sweep is
done the workers sit idle and the autoscaler removes them.

Why not ``ray.cluster_utils.AutoscalingCluster``: it runs ``ray stop --force``
(every Ray on the machine, other test sessions included), starts the head on
Redis's port 6379 and loads ``fake_multi_node/example.yaml``, which the 2.60 wheel
does not ship. This script starts the same fake provider itself, on free ports
and its own temp dir (so ``/tmp/ray/ray_current_cluster`` is not touched), and
stops exactly the processes it started.

    .venv/bin/python tests/ops/fake_cluster_sweep.py [--cases 4] [--bars 2000]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

WORKER_TYPE = "ray.worker.cpu"
WORKER_CPUS = 2
MAX_WORKERS = 2
IDLE_TIMEOUT_MINUTES = 0.1  # 6 s: the autoscaler accepts fractions of a minute
FAKE_PROVIDER = "ray.autoscaler._private.fake_multi_node.node_provider.FakeMultiNodeProvider"


def fake_cluster_config() -> dict[str, Any]:
    """A complete autoscaler config for the fake provider (no defaults file needed)."""
    return {
        "cluster_name": "sigmax-fake",
        "max_workers": MAX_WORKERS,
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": IDLE_TIMEOUT_MINUTES,
        # "external" loads the fake provider by module path: its own type
        # ("fake_multinode") needs the defaults file the wheel lacks.
        "provider": {
            "type": "external",
            "module": FAKE_PROVIDER,
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
        },
        "auth": {},
        "docker": {},
        "head_node_type": "ray.head.default",
        "available_node_types": {
            "ray.head.default": {"resources": {}, "node_config": {}, "max_workers": 0},
            WORKER_TYPE: {
                "resources": {"CPU": WORKER_CPUS},
                "node_config": {},
                "min_workers": 0,
                "max_workers": MAX_WORKERS,
            },
        },
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_head(temp_dir: Path, gcs_port: int) -> subprocess.Popen[bytes]:
    """``ray start --head --block`` in its own process group, on free ports."""
    config = fake_cluster_config()
    config["provider"]["gcs_address"] = f"127.0.0.1:{gcs_port}"
    config_path = temp_dir / "autoscaler.json"
    config_path.write_text(json.dumps(config))
    ray_cli = Path(sys.executable).with_name("ray")
    cmd = [
        str(ray_cli), "start", "--head", "--block",
        f"--port={gcs_port}",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={temp_dir}",
        "--num-cpus=0",
        "--include-dashboard=false",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--ray-client-server-port={free_port()}",
        f"--autoscaling-config={config_path}",
    ]  # fmt: skip
    env = {
        **os.environ,
        "RAY_FAKE_CLUSTER": "1",
        "AUTOSCALER_UPDATE_INTERVAL_S": "1",
        "RAY_AUTH_MODE": "disabled",
        "RAY_USAGE_STATS_ENABLED": "0",
        # Ray 2.60 drains a head for up to 30 s on SIGTERM; nothing here needs draining.
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
    }
    log = (temp_dir / "ray-start.log").open("wb")
    return subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def head_is_up(head: subprocess.Popen[bytes], temp_dir: Path) -> bool:
    """``ray start`` writes the address file into its temp dir once the head runs."""
    if head.poll() is not None:
        log = (temp_dir / "ray-start.log").read_text(errors="replace")
        raise RuntimeError(f"ray start --head exited with {head.returncode}:\n{log[-3000:]}")
    return (temp_dir / "ray_current_cluster").exists()


def alive_workers() -> list[str]:
    import ray

    return sorted(
        n["NodeID"]
        for n in ray.nodes()
        if n["Alive"] and n["Resources"].get("CPU", 0) == WORKER_CPUS
    )


def wait_for(predicate: Any, timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.5)
    return time.monotonic() - start


class NodeWatcher:
    """Samples the alive worker nodes while the sweep runs."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> NodeWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _sample(self) -> None:
        nodes = alive_workers()
        self.seen.update(nodes)
        self.peak = max(self.peak, len(nodes))

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self._sample()


def timeless(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "elapsed_s"}


def run(cases: int, bars_count: int, address: str) -> dict[str, Any]:
    import ray

    from actors.sweep import run_sweep_on_ray
    from sigmax.backtest.risk_profile import backtest_risk_config
    from sigmax.backtest.runner import BacktestRequest
    from sigmax.backtest.sweep import LocalExecutor, case_setup, parse_sweep, run_grid
    from sigmax.data import load_bars

    bars = load_bars("bundled:BTC-USD-1h", "BTC/USD", "1h")[:bars_count]
    template = BacktestRequest(
        data="bundled:BTC-USD-1h", strategy="sma_cross", params={"size": "0.25"}, progress=False
    )
    fasts = ",".join(str(5 + 3 * i) for i in range(cases // 2))
    grid = parse_sweep([f"fast={fasts}", "slow=60,90"])
    risk = backtest_risk_config()

    ray.init(address=address, log_to_driver=False, configure_logging=False)
    head_cpus = ray.cluster_resources().get("CPU", 0)
    before = alive_workers()
    started = time.monotonic()
    with NodeWatcher() as watcher:
        report = run_sweep_on_ray(
            bars, "sma_cross", grid, template, address, risk_config=risk, progress=False
        )
    sweep_s = time.monotonic() - started
    idle_s = wait_for(lambda: not alive_workers(), 120, "idle workers removed")

    setup = case_setup(template, "sma_cross", risk)
    local = run_grid(bars, setup, grid, LocalExecutor(bars, setup), template.params)
    return {
        "head_cpus": head_cpus,
        "workers_before": len(before),
        "peak_workers": watcher.peak,
        "workers_seen": len(watcher.seen),
        "max_workers": MAX_WORKERS,
        "cases": len(grid),
        "failures": report.failures,
        "ok_runs": sum(r["status"] == "ok" for r in report.runs),
        "executor": report.meta.get("executor"),
        "same_as_in_process": [timeless(r) for r in report.runs]
        == [timeless(r) for r in local.runs],
        "workers_after_idle": len(alive_workers()),
        "sweep_s": round(sweep_s, 1),
        "scale_down_s": round(idle_s, 1),
    }


def stop_head(head: subprocess.Popen[bytes], temp_dir: Path) -> None:
    """End the head's process group, then anything left that runs out of its temp dir."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            break
        try:
            head.wait(wait_s)
            break
        except subprocess.TimeoutExpired:
            continue
    # Fake worker raylets are started by the autoscaler; any outside the group go too.
    marker = str(temp_dir).encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


def start_head_retrying(attempts: int = 3) -> tuple[subprocess.Popen[bytes], Path, int]:
    """Start the head; on a machine too busy for Ray's fixed 30 s raylet wait, try again."""
    for attempt in range(1, attempts + 1):
        temp_dir = Path(tempfile.mkdtemp(prefix="sgx-as-", dir="/tmp"))  # short: unix sockets
        gcs_port = free_port()
        head = start_head(temp_dir, gcs_port)
        try:
            wait_for(functools.partial(head_is_up, head, temp_dir), 120, "ray start --head")
            return head, temp_dir, gcs_port
        except (RuntimeError, TimeoutError) as exc:
            stop_head(head, temp_dir)
            shutil.rmtree(temp_dir, ignore_errors=True)
            if attempt == attempts:
                raise
            print(f"head start {attempt} failed, retrying: {exc}", file=sys.stderr)
    raise AssertionError("unreachable")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=4, help="sweep cases (even)")
    parser.add_argument("--bars", type=int, default=2000, help="bundled hourly bars per case")
    args = parser.parse_args()
    os.environ["RAY_AUTH_MODE"] = "disabled"
    started = time.monotonic()
    head, temp_dir, gcs_port = start_head_retrying()
    try:
        head_s = time.monotonic() - started
        result = run(args.cases, args.bars, f"127.0.0.1:{gcs_port}")
        result["head_start_s"] = round(head_s, 1)
    finally:
        import ray

        ray.shutdown()
        stop_head(head, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
