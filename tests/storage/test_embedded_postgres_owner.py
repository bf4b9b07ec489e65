"""The embedded PostgreSQL ends with the processes holding it, however they end.

Each test has its own SIGMAX_HOME; a real embedded server runs in it. "Postgres of that
home" means a process named postgres whose working directory is in the home (the
postmaster chdirs to its data directory, its children inherit it). The end-to-end
tests run ``serve run cluster/serve_config.yaml`` and ``sigmax paper`` in their own
processes with a private Ray temp dir (never ``ray stop``: other Ray clusters may run)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import structlog
import yaml

from sigmax.storage.embedded_postgres import EmbeddedPostgres

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OWNER = (
    "import sys, time\n"
    "from sigmax.storage.embedded_postgres import ensure_embedded_postgres\n"
    "print(ensure_embedded_postgres(), flush=True)\n"
    "time.sleep(float(sys.argv[1]))\n"
)


def _processes() -> Iterator[tuple[int, Path]]:
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            yield int(proc.name), proc


def _postgres_of(home: Path) -> list[int]:
    found = []
    for pid, proc in _processes():
        try:
            if (proc / "comm").read_text().strip() == "postgres" and os.readlink(
                proc / "cwd"
            ).startswith(f"{home}/"):
                found.append(pid)
        except OSError:
            continue
    return found


def _postmasters(home: Path) -> list[int]:
    pids = _postgres_of(home)
    parents = {pid: _parent(pid) for pid in pids}
    # parent 0: the process ended between the two reads (a short-lived backend), not a
    # second server
    return [pid for pid, parent in parents.items() if parent and parent not in pids]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _with_args(*needles: str) -> list[int]:
    found = []
    for pid, proc in _processes():
        try:
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(needle in args for needle in needles) and pid != os.getpid():
            found.append(pid)
    return found


def _holders(home: Path) -> list[int]:
    """Pids of the processes with the holders file of ``home``'s server open."""
    holders_file = f"{home}/.postgres.holders"
    found = set()
    for pid, proc in _processes():
        try:
            fds = list((proc / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == holders_file:
                    found.add(pid)
            except OSError:
                continue
    return sorted(found)


def _kill(pids: list[int], sig: signal.Signals = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.kill(pid, sig)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def _assert_no_postgres_left(home: Path, timeout: float = 10) -> None:
    _wait_for(lambda: not _postgres_of(home), timeout, f"postgres of {home} gone")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGMAX_", "RAY_"))}
    return {**env, "SIGMAX_HOME": str(home), "RAY_AUTH_MODE": "disabled", **extra}


@pytest.fixture(scope="module")
def initialised() -> Iterator[Path]:
    """A data directory initialised once (initdb and createdb), copied by each test."""
    path = Path(tempfile.mkdtemp(prefix="sxpgdata", dir="/tmp")).resolve()
    with EmbeddedPostgres(path / "postgres"):
        pass
    (path / "postgres" / "server.log").unlink()
    yield path / "postgres"
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def home(initialised: Path) -> Iterator[Path]:
    """A fresh SIGMAX_HOME with an initialised server; whatever of it a failed test left
    running is killed after.

    Not under pytest's tmp root: every pytest start (another engineer's too) takes the
    others' traverse bit off it, which the server's user (as root) needs."""
    path = Path(tempfile.mkdtemp(prefix="sxhome", dir="/tmp")).resolve()
    subprocess.run(["cp", "-a", str(initialised), str(path / "postgres")], check=True)
    yield path
    _kill(_with_args("embedded_postgres_watchdog.py", f"{path}/") + _postgres_of(path))
    shutil.rmtree(path, ignore_errors=True)


def _start_owner(home: Path, linger_s: float) -> subprocess.Popen[str]:
    """A process that starts the embedded server of ``home``, then lingers."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(linger_s)], env=_env(home), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    assert owner.stdout is not None
    for line in owner.stdout:  # its log lines (stdout too), then the DSN
        if line.startswith("postgresql://"):
            break
    else:
        pytest.fail("the owner did not start the server")
    assert len(_postmasters(home)) == 1
    return owner


def _end(owner: subprocess.Popen[str], sig: signal.Signals) -> None:
    os.killpg(owner.pid, sig)  # its whole process group, as a terminal's Ctrl-C would
    owner.wait(timeout=30)


def test_owner_exiting_cleanly_stops_the_server(home: Path) -> None:
    owner = _start_owner(home, linger_s=0)
    assert owner.wait(timeout=30) == 0
    _assert_no_postgres_left(home)
    assert "database system is shut down" in (home / "postgres" / "server.log").read_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_owner_ended_by_a_signal_stops_the_server(home: Path, sig: signal.Signals) -> None:
    owner = _start_owner(home, linger_s=600)
    _end(owner, sig)
    _assert_no_postgres_left(home)
    log = (home / "postgres" / "server.log").read_text()
    assert "sigmax watchdog: no process holds the server" in log
    assert "database system is shut down" in log


def test_server_outlives_its_starter_while_another_process_holds_it(home: Path) -> None:
    owner = _start_owner(home, linger_s=600)
    (postmaster,) = _postmasters(home)
    other = EmbeddedPostgres(home / "postgres")
    other.start()  # attaches: the server is running and watched
    try:
        _end(owner, signal.SIGKILL)
        time.sleep(2)  # several watchdog polls
        assert _postmasters(home) == [postmaster]
    finally:
        other.stop()  # the last holder: stops it itself
    assert not _postgres_of(home)


@pytest.mark.parametrize(("port", "adopted"), [(5432, True), (5433, False)],
                         ids=["same-socket", "other-socket"])  # fmt: skip
def test_server_left_by_a_dead_owner_is_taken_over_at_the_next_start(
    home: Path, port: int, adopted: bool
) -> None:
    owner = _start_owner(home, linger_s=600)
    (leftover,) = _postmasters(home)
    for watchdog in _with_args("embedded_postgres_watchdog.py", f"{home}/"):
        os.kill(watchdog, signal.SIGKILL)  # the owner and its watchdog die together
    _end(owner, signal.SIGKILL)
    time.sleep(1.5)
    assert _postmasters(home) == [leftover]  # nothing stops it any more

    server = EmbeddedPostgres(home / "postgres", port=port)
    with structlog.testing.capture_logs() as logs:
        server.start()
    try:
        taken = [e for e in logs if "left running by an owner that is gone" in e["event"]]
        assert [(e["log_level"], e["pid"]) for e in taken] == [("warning", leftover)]
        (postmaster,) = _postmasters(home)  # exactly one server afterwards
        assert (postmaster == leftover) is adopted
        assert len(_with_args("embedded_postgres_watchdog.py", f"{home}/")) == 1
    finally:
        server.stop()
    assert not _postgres_of(home)


def test_pid_file_naming_another_live_process_does_not_block_the_start(home: Path) -> None:
    data_dir = home / "postgres"
    (data_dir / "postmaster.pid").write_text(f"{os.getpid()}\n{data_dir}\n")  # a reused pid
    server = EmbeddedPostgres(data_dir)
    with structlog.testing.capture_logs() as logs:
        server.start()
    try:
        assert [e["pid"] for e in logs if "postmaster.pid naming" in e["event"]] == [os.getpid()]
        assert len(_postmasters(home)) == 1
    finally:
        server.stop()
    assert not _postgres_of(home)


# ---- end to end: the API under `serve run`, and `sigmax paper` ------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A private, short Ray temp dir (unix socket paths are limited); the Ray processes
    still running from it are ended afterwards (as `ray stop` would, for this one)."""
    path = Path(tempfile.mkdtemp(prefix="sxpg", dir="/tmp"))
    yield path
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = _with_args(str(path))
        _kill(left, sig)
        if left:
            time.sleep(1)
    shutil.rmtree(path, ignore_errors=True)


def _serve_config(tmp_path: Path, port: int) -> Path:
    config = yaml.safe_load((REPO / "cluster" / "serve_config.yaml").read_text())
    config["http_options"]["port"] = port  # the rest as shipped, but for:
    # the controller checks its replicas every 1 s, not 10 s, so the killed one is
    # replaced at once (the claim is that it is, and that its server went with it)
    for deployment in config["applications"][0]["deployments"]:
        deployment["health_check_period_s"] = 1
    path = tmp_path / "serve_config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _open_database(url: str) -> bool:
    """A request that makes the replica open its pool (an unknown key is looked up)."""
    try:
        r = httpx.get(f"{url}/api/v1/status", headers={"Authorization": "Bearer sgx_x"},
                      timeout=30)  # fmt: skip
    except httpx.HTTPError:
        return False
    return r.status_code == 401


@pytest.mark.slow
def test_serve_run_killed_worker_then_sigterm_leave_no_postgres(
    home: Path, ray_tmp: Path, tmp_path: Path
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [str(BIN / "serve"), "run", str(_serve_config(tmp_path, port))],
        env=_env(home, RAY_TMPDIR=str(ray_tmp)), cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(lambda: _open_database(url), 120, "the API answering under serve run")
        (first,) = _postmasters(home)
        (replica,) = _holders(home)
        os.kill(replica, signal.SIGKILL)  # the owning Ray worker
        _wait_for(lambda: first not in _postmasters(home), 10, "the server of the killed owner")

        _wait_for(lambda: _open_database(url), 120, "the API back with a new replica")
        assert len(_postmasters(home)) == 1
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
    _assert_no_postgres_left(home, timeout=20)


@pytest.mark.slow
def test_sigmax_paper_ended_by_sigterm_leaves_no_postgres(home: Path, ray_tmp: Path) -> None:
    paper = subprocess.Popen(
        [str(BIN / "sigmax"), "paper", "--start", "6050", "--bars", "3000", "--num-cpus", "2",
         "--no-dashboard"],
        env=_env(home, RAY_TMPDIR=str(ray_tmp), RAY_ADDRESS=""), cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for(lambda: bool(_postmasters(home)), 120, "sigmax paper starting the server")
        time.sleep(2)  # its actors connect and trade
        paper.send_signal(signal.SIGTERM)
        paper.wait(timeout=60)
    finally:
        if paper.poll() is None:
            paper.kill()
    _assert_no_postgres_left(home, timeout=20)
