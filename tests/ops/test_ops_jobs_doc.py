"""docs/JOBS.md run as written, from a shell where the venv is not activated.

The page's shell blocks run against a Ray head of their own: the "Local cluster"
block starts it (with the page's own ``--temp-dir ... --block`` variant and free
ports, so it neither joins nor stops anyone else's Ray), and the ``ray job submit``
blocks run the sweep, walk-forward, tune and paper jobs on it, each block as written
in a shell of its own. The blocks are independent (each writes its own files), so
they are submitted together, as users share a cluster; the first is submitted alone
so that one `ray job submit` uploads the working dir the others then reuse. The shell
has no VIRTUAL_ENV and no venv directory on its PATH, as for a user who did not
activate the venv: a job whose ``python`` is not the venv's fails here.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops.test_ops_docs_commands import blocks
from tests.storage.pg.pg_fixtures import ADMIN_DSN, drop_schema, new_schema

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "docs" / "JOBS.md"
DOC_DASHBOARD = "http://127.0.0.1:8265"
START = re.compile(r"^(.*ray start --head .*?)\s*$", re.M)
DOC_PORT = re.compile(r"--port \d+")
DOC_OUTPUT = re.compile(r"/tmp/(\w+\.(?:json|html))")
VENV_BINS = {Path(sys.executable).parent.resolve(), (ROOT / ".venv" / "bin").resolve()}


@dataclass(frozen=True)
class JobsPage:
    cluster: str  # the "Local cluster" block: exports and the `ray start` line
    jobs: tuple[str, ...]  # every block that submits a job, in page order

    @property
    def submits(self) -> str:
        return "\n".join(self.jobs)


def jobs_page() -> JobsPage:
    bash = [body for _, lang, body in blocks(JOBS.read_text(encoding="utf-8")) if lang == "bash"]
    cluster = [b for b in bash if START.search(b)]
    submits = [b for b in bash if "ray job submit" in b]
    assert len(cluster) == 1 and len(submits) >= 2, "docs/JOBS.md lost its cluster or jobs"
    return JobsPage(cluster[0], tuple(submits))


def unactivated_env() -> dict[str, str]:
    """This process's environment as a shell that never activated the venv sees it."""
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p]
    kept = [p for p in path if Path(p).resolve() not in VENV_BINS]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "SIGMAX_"))}
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    return env | {"PATH": os.pathsep.join(kept)}


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass(frozen=True)
class Head:
    url: str
    gcs_port: int
    env: dict[str, str]


def _wait_for_dashboard(url: str, head: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if head.poll() is not None:
            pytest.fail(f"ray start exited with {head.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/version", timeout=2):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the Ray dashboard at {url} did not come up:\n{log.read_text()[-3000:]}")


def _stop(head: subprocess.Popen[bytes], temp_dir: str) -> None:
    """End the page's shell and its blocking `ray start` (which stops the cluster it
    started), then any process of this cluster that outlived it: only processes whose
    command line names this cluster's private temp dir, never `ray stop`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(timeout=90)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        head.wait()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if temp_dir.encode() in (proc / "cmdline").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue
    shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Head]:
    """The page's "Local cluster" block, run in a shell without the venv."""
    cluster = jobs_page().cluster
    gcs, dashboard, client, agent = _free_ports(4)
    # A short private temp dir (unix socket paths are limited to ~107 bytes): `ray start`
    # records its address there, not in /tmp/ray, so no other ray.init() joins it.
    temp_dir = tempfile.mkdtemp(prefix="sxjobs", dir="/tmp")
    private = (
        f"--temp-dir {temp_dir} --block --dashboard-port {dashboard} "
        f"--ray-client-server-port {client} --dashboard-agent-listen-port {agent} "
        "--disable-usage-stats"
    )
    start = START.search(cluster)
    assert start and not start.group(1).endswith("\\")
    line = DOC_PORT.sub(f"--port {gcs}", start.group(1))
    script = cluster.replace(start.group(1), f"{line} {private}")
    schema = new_schema()  # the paper job stores its orders here
    env = unactivated_env() | {
        "SIGMAX_POSTGRES_DSN": ADMIN_DSN,
        "SIGMAX_POSTGRES_SCHEMA": schema,
        # Ray 2.60 drains a `--block` head for up to 30 s on SIGTERM (for Serve
        # proxies); this throwaway cluster serves nothing, so it stops at once.
        "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0",
    }
    log = tmp_path_factory.mktemp("head") / "head.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            ["bash", "-eu", "-c", script],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{dashboard}"
    try:
        _wait_for_dashboard(url, process, log)
        yield Head(url, gcs, env)
    finally:
        _stop(process, temp_dir)
        drop_schema(schema)


def _exports(block: str) -> str:
    return "\n".join(line for line in block.splitlines() if line.startswith("export "))


def _submitted_jobs(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/jobs/", timeout=5) as response:
        return len(json.loads(response.read()))


def _start(
    block: str, page: JobsPage, head: Head, tmp_path: Path, log: Path
) -> subprocess.Popen[str]:
    """One job block, as written (its dashboard address and /tmp outputs made this
    test's), in a shell of its own with the cluster block's exports."""
    script = block.replace(DOC_DASHBOARD, head.url)
    script = DOC_OUTPUT.sub(lambda m: str(tmp_path / m.group(1)), script)
    with log.open("w") as sink:
        return subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", f"{_exports(page.cluster)}\n{script}"],
            cwd=ROOT,
            env=head.env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _run_blocks(page: JobsPage, head: Head, tmp_path: Path) -> None:
    """Every job block at once, once the first is submitted (its `ray job submit` has
    uploaded the working dir, which the others reuse); each must exit 0."""
    deadline = time.monotonic() + 900
    running: list[tuple[str, subprocess.Popen[str], Path]] = []
    try:
        for number, block in enumerate(page.jobs):
            log = tmp_path / f"job{number}.log"
            running.append((block, _start(block, page, head, tmp_path, log), log))
            while number == 0 and _submitted_jobs(head.url) == 0:
                assert running[0][1].poll() is None, log.read_text()[-4000:]
                assert time.monotonic() < deadline, "the first job was never submitted"
                time.sleep(0.2)
        failed = []
        for block, process, log in running:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
            if process.returncode != 0:
                failed.append(f"{block}\nexited {process.returncode}:\n{log.read_text()[-4000:]}")
        assert not failed, "\n\n".join(failed)
    finally:
        for _, process, _ in running:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow
def test_jobs_page_runs_as_written_without_the_venv_on_path(head: Head, tmp_path: Path) -> None:
    page = jobs_page()
    _run_blocks(page, head, tmp_path)

    sweep = json.loads((tmp_path / "sweep.json").read_text())
    assert sweep["kind"] == "grid" and sweep["meta"]["executor"] == "ray"
    assert len(sweep["runs"]) == 6 and not sweep["failures"]
    assert (tmp_path / "sweep.html").read_text().startswith("<!doctype html>")
    walk_forward = json.loads((tmp_path / "wf.json").read_text())
    assert walk_forward["kind"] == "walk_forward" and len(walk_forward["folds"]) == 4
    paper = json.loads((tmp_path / "paper.json").read_text())
    [bars] = re.findall(r"sigmax\.jobs\.paper .*--bars (\d+)", page.submits)
    assert paper["meta"]["bars"] == int(bars)  # the bars the page asks for
    assert (tmp_path / "paper.html").read_text().lstrip().lower().startswith("<!doctype")
    default_file = Path("/tmp/ray/ray_current_cluster")
    assert not default_file.exists() or not default_file.read_text().endswith(f":{head.gcs_port}")


def test_the_shell_of_the_page_has_no_venv() -> None:
    env = unactivated_env()
    assert "VIRTUAL_ENV" not in env
    for program in ("python", "ray", "sigmax"):
        found = shutil.which(program, path=env["PATH"])
        assert found is None or Path(found).parent.resolve() not in VENV_BINS, found
