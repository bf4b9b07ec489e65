"""Where one ``GET /api/v1/status`` spends its time: py-spy samples of the API process
under load, grouped into key check, rate limit, the endpoint's own work, middleware
(request id, span, metrics, access log), framework (FastAPI/Starlette/pydantic),
server (uvicorn HTTP parsing) and the event loop's own work.

Two targets:

* ``uvicorn``  the app under plain uvicorn (1 process, the one profiled);
* ``serve``    the app through Ray Serve (1 replica): the replica and the proxy actor
               are profiled at once, so the proxy hop shows as its own column.

The load is ``bench/api_load.py``'s (aiohttp, N concurrent users, a read key in a
throwaway schema). py-spy samples at 200 Hz, ``--idle`` excluded: the columns are
shares of CPU time.

    .venv/bin/python bench/api_profile.py --target uvicorn --users 50 --seconds 15
    .venv/bin/python bench/api_profile.py --target serve --users 50 --seconds 15
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import api_load  # noqa: E402

PYSPY = str(Path(sys.executable).with_name("py-spy"))

# (bucket, substrings of a frame "function (file)"); the innermost frame of a sample
# that matches decides, checked outermost-in so a bucket claims its callees
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("key check", ("authenticate (", "keys.py", "verify (")),
    ("rate limit", ("ratelimit.py", "rate_limit.py", "_fallback_hit")),
    ("endpoint", ("routes_meta.py", "session_or_none", "backend.py")),
    ("access log + metrics", ("structlog", "prometheus_client", "logs.py")),
    ("tracing", ("opentelemetry", "tracing.py")),
    ("middleware (other)", ("middleware.py",)),
    ("framework", ("fastapi", "starlette", "pydantic")),
    ("http server", ("uvicorn", "h11", "httptools")),
    ("serve proxy", ("ray/serve/_private/proxy", "proxy_router", "proxy_request")),
    ("serve replica", ("ray/serve/_private/replica", "ray/serve/_private/http_util")),
    ("ray core", ("ray/_private", "ray/_raylet", "ray/util")),
    ("redis/asyncpg client", ("redis/", "asyncpg")),
    ("event loop", ("asyncio", "uvloop")),
)


def classify(stack: list[str]) -> str:
    for frame in stack:  # outermost first
        for bucket, needles in BUCKETS[:3]:
            if any(n in frame for n in needles):
                return bucket
    for frame in reversed(stack):  # innermost first for the infrastructure buckets
        for bucket, needles in BUCKETS[3:]:
            if any(n in frame for n in needles):
                return bucket
    return "other"


def summarise(raw: Path) -> dict[str, float]:
    """Shares (percent of samples) per bucket from py-spy's collapsed ``--format raw``."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack_text, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = [f for f in stack_text.split(";") if f]
        counts[classify(frames)] += int(n)
    total = sum(counts.values()) or 1
    return {k: round(100 * v / total, 1) for k, v in counts.most_common()} | {"samples": total}


def _record(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    argv = [PYSPY, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
    argv += ["--output", str(out), "--duration", str(int(seconds)), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603


def profile_uvicorn(args: argparse.Namespace, env: dict[str, str], key: str) -> dict[str, Any]:
    port = api_load._free_port()
    server = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "uvicorn", "bench.api_load:uvicorn_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        + ["--no-access-log"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        api_load._wait_up(f"http://127.0.0.1:{port}/api/versions")
        return _profiled_load({"uvicorn": server.pid}, port, args, key)
    finally:
        server.terminate()
        server.wait(timeout=30)


def profile_serve(args: argparse.Namespace, env: dict[str, str], key: str) -> dict[str, Any]:
    os.environ.update(env)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from ray import serve

    from serve_app.api import SigmaxAPI

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="bench")
    port = api_load._free_port()
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        deployment = SigmaxAPI.options(  # type: ignore[attr-defined]
            num_replicas=1, autoscaling_config=None, max_ongoing_requests=256
        )
        serve.run(
            deployment.bind(env["SIGMAX_BENCH_SETTINGS"], env["SIGMAX_BENCH_CONFIG"]),
            name="bench",
            route_prefix="/",
        )
        api_load._wait_up(f"http://127.0.0.1:{port}/api/versions")
        pids = _serve_pids()
        return _profiled_load(pids, port, args, key)
    finally:
        serve.shutdown()
        ray.shutdown()


def _serve_pids() -> dict[str, int]:
    """The proxy actor's and the replica's processes: Ray's workers descend from this
    driver (it started the local raylet), named ``ray::ProxyActor`` and
    ``ray::ServeReplica:...``."""
    import psutil

    pids: dict[str, int] = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            title = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if title.startswith("ray::ProxyActor"):
            pids["proxy"] = proc.pid
        elif title.startswith("ray::ServeReplica") and "SigmaxAPI" in title:
            pids["replica"] = proc.pid
    if set(pids) != {"proxy", "replica"}:
        raise RuntimeError(f"found {pids} among this driver's processes, not proxy and replica")
    return pids


def _profiled_load(
    pids: dict[str, int], port: int, args: argparse.Namespace, key: str
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}{api_load.PATH}"
    with tempfile.TemporaryDirectory() as tmp:
        outs = {name: Path(tmp) / f"{name}.txt" for name in pids}
        recorders = {name: _record(pid, outs[name], args.seconds) for name, pid in pids.items()}
        time.sleep(1.0)  # py-spy attached
        load = asyncio.run(api_load._load(url, key, args.users, 10**9, args.seconds - 2))
        shares: dict[str, Any] = {}
        for name, rec in recorders.items():
            _, err = rec.communicate(timeout=120)
            if not outs[name].exists():
                shares[name] = {"error": err.decode()[-400:]}
            else:
                shares[name] = summarise(outs[name])
                if args.keep:
                    keep = ROOT / f"api_profile_{name}.txt"
                    keep.write_text(outs[name].read_text())
    return {"load": load, "cpu_share_percent": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", choices=("uvicorn", "serve"), default="uvicorn")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--keep", action="store_true", help="keep the raw stacks in the cwd")
    args = parser.parse_args()
    schema, key = api_load._prepare()
    env = {
        "SIGMAX_BENCH_SETTINGS": api_load._settings_json(schema),
        "SIGMAX_BENCH_CONFIG": api_load._config_json(),
    }
    try:
        if args.target == "uvicorn":
            result = profile_uvicorn(args, env, key)
        else:
            result = profile_serve(args, env, key)
    finally:
        api_load._drop(schema)
    print(json.dumps({"target": args.target, **result}, indent=2))


if __name__ == "__main__":
    main()
