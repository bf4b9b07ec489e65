"""Load test of the API on loopback: ``GET /api/v1/status`` at N concurrent users.

Scenarios, in one run (each bounded by a request count and a time limit):

* ``uvicorn``         the FastAPI app under plain uvicorn (1 worker), auth + rate limit on
* ``uvicorn-before``  the app of another checkout (``--before-tree``, a worktree of an
                      earlier commit) under uvicorn: before/after in one run
* ``uvicorn-nofreeze`` the same without ``create_app(freeze_gc=True)`` (every full
                      garbage collection walks the app's own objects again)
* ``uvicorn-noauth``  the same, auth and rate limiting replaced by a fixed principal
                      (FastAPI dependency override): their cost is the difference
* ``serve``           the same app through Ray Serve (1 replica) as SIGMAX sets it up by
                      default: ``sigmax.serve_proxy.serve_env()`` (HAProxy mode through
                      ``sigmax-haproxy``, which adds X-Forwarded-For)
* ``serve-shipped``   the same setup with the deployment options cluster/serve_config.yaml
                      ships (autoscaling 1 to 2 replicas, 0.5 CPU each): load first until
                      the autoscaler has started both, then measured
* ``serve-proxy``     Serve's own default proxy (no RAY_SERVE_* flags; the default
                      before HAProxy mode)
* ``serve-ha``        Serve's HAProxy mode with Ray's own HAProxy config
                      (RAY_SERVE_ENABLE_HA_PROXY=1, RAY_SERVE_THROUGHPUT_OPTIMIZED=1)
* ``serve-tuned``     RAY_SERVE_THROUGHPUT_OPTIMIZED=1 with RAY_SERVE_ENABLE_DIRECT_INGRESS=0:
                      user code on the replica's own loop, proxy-to-replica over gRPC,
                      buffered request logs, the default proxy kept (the default in
                      cluster/serve_config.yaml's environment)
* ``serve-throughput`` RAY_SERVE_THROUGHPUT_OPTIMIZED=1 alone (direct ingress: the
                      replica serves HTTP itself, no proxy actor, no HAProxy)

Each Serve scenario runs in a fresh child process (Serve reads its RAY_SERVE_* flags
once, at import).

Load generators (``--generator``): ``aiohttp`` (the default: 100 asyncio users in this
process, bounded by ``--requests`` and ``--time-limit``) or ``wrk`` (Debian's ``wrk``,
C, one thread, ``--users`` connections for ``--time-limit`` seconds; ``--requests`` is
not used). Both keep every user waiting on its answer (closed loop), and both report
their own CPU per request: on a 2-core machine the generator shares the cores with the
server, and aiohttp's share is about as large as the server's.

Stores: PostgreSQL (SIGMAX_BENCH_POSTGRES_DSN, default the local test server; a
throwaway schema) and Redis at SIGMAX_BENCH_REDIS_URL (unique key prefix).

    .venv/bin/python bench/api_load.py --users 100 --requests 4000 --time-limit 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import Request  # at module level: the override's annotation must resolve

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sigmax.serve_proxy import SERVE_ENV, wrapper_path  # noqa: E402 - after the path

PG = os.environ.get("SIGMAX_BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SIGMAX_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PATH = "/api/v1/status"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings_json(schema: str) -> str:
    from sigmax.config import Settings
    from sigmax.storage.postgres_config import PostgresConfig
    from sigmax.storage.redis_config import RedisConfig

    return Settings(
        postgres=PostgresConfig(dsn=PG, schema_name=schema, pool_size=4, max_overflow=12),
        redis=RedisConfig(url=REDIS, max_connections=64),
    ).model_dump_json()


def _config_json() -> str:
    from serve_app.config import APIConfig

    big = 1_000_000_000
    return APIConfig(
        rate_general=big,
        rate_limit_prefix=f"sigmax:bench:{uuid.uuid4().hex}:",
        session_id="bench-none",
    ).model_dump_json()


# a dedicated server process, as a Serve replica is (create_app's freeze_gc); an older
# checkout's create_app (uvicorn-before) may not take it yet
_FREEZE_GC = {"freeze_gc": True} if os.environ.get("SIGMAX_BENCH_FREEZE_GC", "1") == "1" else {}


def uvicorn_app(noauth: bool = False) -> Any:
    """The app for uvicorn (``--factory``), configured from SIGMAX_BENCH_* env."""
    from serve_app._private import deps
    from serve_app._private.auth import Principal
    from serve_app._private.ratelimit import STATE_KEY
    from serve_app.api import create_app
    from serve_app.config import APIConfig
    from sigmax.config import Settings
    from sigmax.storage.rate_limit import RateLimitResult

    app = create_app(
        Settings.model_validate_json(os.environ["SIGMAX_BENCH_SETTINGS"]),
        APIConfig.model_validate_json(os.environ["SIGMAX_BENCH_CONFIG"]),
        **_FREEZE_GC,
    )
    if noauth:
        fixed = RateLimitResult(True, 1, 1, 0.0, 0.0, "memory")

        async def anyone(request: Request) -> Principal:  # bench only: no auth, no limit
            request.scope.setdefault("state", {})[STATE_KEY] = fixed
            return Principal(0, frozenset({"admin"}))

        app.dependency_overrides[deps.read] = anyone
    return app


def uvicorn_app_noauth() -> Any:
    return uvicorn_app(noauth=True)


async def _load(url: str, key: str, users: int, total: int, limit_s: float) -> dict[str, Any]:
    import aiohttp

    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    headers = {"Authorization": f"Bearer {key}"}
    deadline = time.perf_counter() + limit_s

    async def user(session: aiohttp.ClientSession) -> None:
        nonlocal issued
        while issued < total and time.perf_counter() < deadline:
            issued += 1
            started = time.perf_counter()
            try:
                async with session.get(url, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        errors[str(r.status)] = errors.get(str(r.status), 0) + 1
                        continue
            except aiohttp.ClientError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=users)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(min(users, 20)):  # warm-up: connections, pools, first queries
            async with session.get(url, headers=headers) as r:
                await r.read()
        started = time.perf_counter()
        await asyncio.gather(*(user(session) for _ in range(users)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "ok": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "req_per_s": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


def _wait_up(url: str, limit_s: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:  # noqa: S310 - loopback URL
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up within {limit_s}s")


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the server processes used so far."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:  # HAProxy replaced on a reload: its time is lost
            continue
        total += times.user + times.system
    return total


_WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "status": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _load_wrk(url: str, key: str, users: int, limit_s: float) -> dict[str, Any]:
    """``wrk`` with ``users`` connections for ``limit_s`` seconds, after the same warm-up."""
    import resource
    import shutil
    import tempfile
    import urllib.request

    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("--generator wrk: no wrk on PATH (Debian: apt-get install wrk)")
    for _ in range(20):  # warm-up: pools, first queries
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
        with urllib.request.urlopen(req, timeout=10) as r:  # noqa: S310 - loopback URL
            r.read()
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_WRK_REPORT)
        script.flush()
        argv = [wrk, "-t1", f"-c{users}", f"-d{max(1, int(limit_s))}s", "--timeout", "60s"]
        argv += ["-H", f"Authorization: Bearer {key}", "-s", script.name, url]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(argv, capture_output=True, text=True, check=True)  # noqa: S603
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK "))
    report = json.loads(line[len("WRK ") :])
    errors = {k: report[k] for k in ("status", "connect", "read", "write", "timeout") if report[k]}
    ok = report["requests"] - report["status"]
    seconds = report["duration_us"] / 1e6
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "ok": ok,
        "errors": {("non-2xx" if k == "status" else k): v for k, v in errors.items()},
        "seconds": round(seconds, 2),
        "req_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p95_ms": round(report["p95_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
        "generator_cpu_ms_per_req": round(1000 * cpu_s / max(1, report["requests"]), 3),
    }


def _measured(url: str, key: str, args: argparse.Namespace, pids: list[int]) -> dict[str, Any]:
    """The load, plus the server processes' CPU milliseconds per answered request: a
    figure other programs on the machine disturb far less than latency."""
    before = _cpu_s(pids)
    result: dict[str, Any]
    if args.generator == "wrk":
        result = _load_wrk(url, key, args.users, args.time_limit)
    else:
        cpu_before = time.process_time()
        result = asyncio.run(_load(url, key, args.users, args.requests, args.time_limit))
        spent = time.process_time() - cpu_before
        result["generator_cpu_ms_per_req"] = round(1000 * spent / max(1, result["ok"]), 3)
    used = _cpu_s(pids) - before
    result["server_cpu_ms_per_req"] = round(1000 * used / max(1, result["ok"] + 20), 2)
    return result


def _serve_pids() -> list[int]:
    """Serve's proxy actors, HAProxy (HAProxy mode) and the replica, among this driver's
    descendants."""
    import psutil

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            argv = proc.cmdline()
        except psutil.Error:
            continue
        title = " ".join(argv)
        proxy = title.startswith(("ray::ProxyActor", "ray::ServeReplica", "ray::HAProxyManager"))
        if proxy or (argv and argv[0].endswith("haproxy") and "-f" in argv):
            found.append(proc.pid)
    return found


def run_uvicorn(
    factory: str,
    env: dict[str, str],
    args: argparse.Namespace,
    key: str,
    tree: Path = ROOT,
) -> Any:
    """The app under uvicorn; ``tree`` is the checkout it is imported from (another
    commit's worktree gives the "before" figures in the same run)."""
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"bench.api_load:{factory}",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=tree,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(f"http://127.0.0.1:{port}/api/versions")
        return _measured(f"http://127.0.0.1:{port}{PATH}", key, args, [proc.pid])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_serve(settings_json: str, config_json: str, args: argparse.Namespace, key: str) -> Any:
    """One Serve scenario in this process (call in a fresh process per mode)."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray
    from ray import serve

    from serve_app.api import SigmaxAPI

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="bench")
    port = _free_port()
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        wants_shipped = os.environ.get("SIGMAX_BENCH_DEPLOYMENT") == "shipped"
        shipped = _shipped_deployment() if wants_shipped else None
        if shipped:  # the deployment options cluster/serve_config.yaml ships
            deployment = SigmaxAPI.options(**shipped)  # type: ignore[attr-defined]
        else:
            deployment = SigmaxAPI.options(  # type: ignore[attr-defined]
                num_replicas=1, autoscaling_config=None, max_ongoing_requests=256
            )
        serve.run(deployment.bind(settings_json, config_json), name="bench", route_prefix="/")
        url = f"http://127.0.0.1:{port}{PATH}"
        _wait_up(f"http://127.0.0.1:{port}/api/versions")
        most = int(shipped["autoscaling_config"]["max_replicas"]) if shipped else 1
        scaled = _load_until_scaled(url, key, args.users, most) if shipped else None
        result: dict[str, Any] = _measured(url, key, args, _serve_pids())
        if shipped:
            result["scaled_up_after_s"] = scaled
            result["replicas"] = _running_replicas()
        return result
    finally:
        serve.shutdown()  # explicitly: in HA mode the HAProxy process can outlive the driver
        ray.shutdown()


def _shipped_deployment() -> dict[str, Any]:
    """SigmaxAPI's options in cluster/serve_config.yaml (autoscaling, CPUs, queue)."""
    import yaml

    config = yaml.safe_load((ROOT / "cluster" / "serve_config.yaml").read_text())
    (app,) = config["applications"]
    (options,) = [d for d in app["deployments"] if d["name"] == "SigmaxAPI"]
    return {k: v for k, v in options.items() if k != "name"}


def _running_replicas() -> int:
    from ray import serve

    states = serve.status().applications["bench"].deployments["SigmaxAPI"].replica_states
    return int(states.get("RUNNING", 0))


def _load_until_scaled(
    url: str, key: str, users: int, most: int, limit_s: float = 90
) -> float | None:
    """Keep ``users`` on the API until Serve's autoscaler has started ``most`` replicas
    (it scales on ongoing requests after its upscale delay); returns the seconds that
    took, None if it did not within ``limit_s``."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        asyncio.run(_load(url, key, users, 10**9, 3.0))
        if _running_replicas() >= most:
            return round(time.monotonic() - started, 1)
    return None


SERVE_MODES: dict[str, dict[str, str]] = {
    "serve": {**SERVE_ENV, "RAY_SERVE_HAPROXY_BINARY_PATH": wrapper_path()},
    # the same, deployed with cluster/serve_config.yaml's options (autoscaling 1 to 2
    # replicas): measured once the load has scaled it up
    "serve-shipped": {
        **SERVE_ENV,
        "RAY_SERVE_HAPROXY_BINARY_PATH": wrapper_path(),
        "SIGMAX_BENCH_DEPLOYMENT": "shipped",
    },
    "serve-proxy": {},
    "serve-ha": {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"},
    "serve-throughput": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"},
    # the throughput settings with the default proxy kept (what cluster/ sets)
    "serve-tuned": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1", "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0"},
}


def _serve_child(mode: str, env: dict[str, str], args: argparse.Namespace, key: str) -> Any:
    flags = {k: v for k, v in os.environ.items() if not k.startswith("RAY_SERVE_")}
    child_env = {**flags, **env, "SIGMAX_BENCH_KEY": key, **SERVE_MODES[mode]}
    # after the measurement only: HAProxy mode's replicas drain 30 s before they stop
    child_env.setdefault("RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S", "1")
    argv = [
        sys.executable,
        __file__,
        "--child",
        "--users",
        str(args.users),
        "--requests",
        str(args.requests),
        "--time-limit",
        str(args.time_limit),
        "--generator",
        args.generator,
    ]
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv
            argv,
            cwd=ROOT,
            env=child_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out after 600 s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        return {"error": f"exit {done.returncode}: {done.stderr[-800:]}"}
    return json.loads(lines[-1][len("RESULT ") :])


def _prepare() -> tuple[str, str]:
    """A throwaway schema (migrated) and a read key in it."""
    import asyncpg

    from sigmax.storage.migrations import migrate
    from sigmax.storage.postgres import PostgresPool
    from sigmax.storage.postgres_config import PostgresConfig
    from sigmax.storage.repos.keys import ApiKeyRepository

    schema = f"sigmax_bench_{uuid.uuid4().hex[:10]}"

    async def go() -> str:
        conn = await asyncpg.connect(PG)
        await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.close()
        async with PostgresPool(PostgresConfig(dsn=PG, schema_name=schema, pool_size=1)) as pool:
            await migrate(pool)
            _, key = await ApiKeyRepository(pool).create("bench", ["read"])
        return key

    return schema, asyncio.run(go())


def _drop(schema: str) -> None:
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(PG)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()

    asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--requests", type=int, default=4000, help="per scenario")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument(
        "--scenarios",
        default="uvicorn,uvicorn-noauth,serve,serve-proxy",
        help="comma list of uvicorn, uvicorn-nofreeze, uvicorn-noauth, " + ", ".join(SERVE_MODES),
    )
    parser.add_argument(
        "--before-tree",
        type=Path,
        help="a worktree of an earlier commit: adds uvicorn-before, its app under uvicorn",
    )
    parser.add_argument(
        "--generator",
        choices=("aiohttp", "wrk"),
        default="aiohttp",
        help="load generator: asyncio users in this process, or wrk (C; --requests unused)",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_serve(
            os.environ["SIGMAX_BENCH_SETTINGS"],
            os.environ["SIGMAX_BENCH_CONFIG"],
            args,
            os.environ["SIGMAX_BENCH_KEY"],
        )
        print("RESULT " + json.dumps(result), flush=True)
        return
    schema, key = _prepare()
    env = {"SIGMAX_BENCH_SETTINGS": _settings_json(schema), "SIGMAX_BENCH_CONFIG": _config_json()}
    results: dict[str, Any] = {}
    try:
        for name in args.scenarios.split(","):
            if name == "uvicorn":
                results[name] = run_uvicorn("uvicorn_app", env, args, key)
            elif name == "uvicorn-before":
                if args.before_tree is None:
                    raise SystemExit("uvicorn-before needs --before-tree")
                results[name] = run_uvicorn("uvicorn_app", env, args, key, args.before_tree)
            elif name == "uvicorn-nofreeze":
                nofreeze = {**env, "SIGMAX_BENCH_FREEZE_GC": "0"}
                results[name] = run_uvicorn("uvicorn_app", nofreeze, args, key)
            elif name == "uvicorn-noauth":
                results[name] = run_uvicorn("uvicorn_app_noauth", env, args, key)
            elif name in SERVE_MODES:
                results[name] = _serve_child(name, env, args, key)
            else:
                raise SystemExit(f"unknown scenario {name!r}")
            print(f"{name:15s} {json.dumps(results[name])}", flush=True)
    finally:
        _drop(schema)
    print(json.dumps({"path": PATH, "users": args.users, "results": results}, indent=2))


if __name__ == "__main__":
    main()
