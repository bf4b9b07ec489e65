"""The watchdog that stops the embedded PostgreSQL once no process holds it any more.

Every process using the server through ``EmbeddedPostgres`` (it started the server or
attached to it) holds a shared ``flock`` on the *holders* file beside the data
directory. The kernel drops a process's locks when it ends, however it ends: exit, a
signal, SIGKILL. The watchdog is launched with the server, detached (its own session,
re-parented to init, so neither a terminal's signal to the owner's process group nor a
supervisor killing the owner's children reaches it). It polls: once it can take the
holders lock exclusively, no holder is left, and it stops the server (fast shutdown,
then immediate) while keeping that lock, so a process starting meanwhile waits for it.

Why not ``PR_SET_PDEATHSIG``: the postmaster is ``pg_ctl``'s child, not the owner's;
the signal fires on the death of the parent *thread* (the owner starts the server from
a worker thread); and it would end the server under the other processes still using it.

Standard library only: launched as a script by path (``python -I``), so the watchdog
imports neither the ``sigmax`` package nor its dependencies.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

POLL_S = 0.5
READY = b"ready\n"
_LAUNCH_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class LockFiles:
    """The lock files of one data directory (beside it: initdb wants an empty one)."""

    start: Path  # serialises starting and initialising the server
    holders: Path  # shared by every process using the server
    watchdog: Path  # held by the server's watchdog while it lives

    @classmethod
    def of(cls, data_dir: Path) -> LockFiles:
        base = data_dir.parent / f".{data_dir.name}"
        return cls(Path(f"{base}.lock"), Path(f"{base}.holders"), Path(f"{base}.watchdog"))


@contextmanager
def try_lock(path: Path, operation: int) -> Iterator[bool]:
    """Try ``operation`` (LOCK_SH or LOCK_EX) on ``path`` without waiting; yields success."""
    with path.open("a") as fh:
        try:
            fcntl.flock(fh, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recorded_pid(data_dir: Path) -> int | None:
    """The pid postmaster.pid names (alive or not), None without one."""
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the live postmaster serving ``data_dir`` (per its postmaster.pid)."""
    pid = recorded_pid(data_dir)
    return pid if pid is not None and _is_postmaster_of(pid, data_dir) else None


def is_watched(data_dir: Path) -> bool:
    """Whether a watchdog watches the server of ``data_dir``."""
    with try_lock(LockFiles.of(data_dir).watchdog, fcntl.LOCK_EX) as unwatched:
        return not unwatched


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    # A postmaster.pid left by a crash may name a pid since reused by another process.
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").exists():  # no procfs: all we can tell is that it lives
        return is_alive(pid)
    try:
        if (proc / "comm").read_text().strip() != "postgres":
            return False
    except OSError:
        return False
    try:
        return os.readlink(proc / "cwd") == str(data_dir)  # the postmaster chdirs there
    except PermissionError:  # another user's process: a postgres is the best we can tell
        return True
    except OSError:
        return False


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_tool(
    bin_dir: Path, args: Sequence[str], user: tuple[int, int] | None, out: IO[str], cwd: Path
) -> int:
    """Run a PostgreSQL program of ``bin_dir`` (as ``user``, a uid and gid, if given)."""
    as_user: dict[str, object] = {}
    if user is not None:
        as_user = {"user": user[0], "group": user[1], "extra_groups": []}
    done = subprocess.run(  # noqa: PLW1510 - callers check the return code
        [str(bin_dir / args[0]), *args[1:]], stdout=out, stderr=subprocess.STDOUT,
        cwd=cwd, text=True, timeout=120, **as_user,  # type: ignore[call-overload]
    )  # fmt: skip
    return int(done.returncode)


def stop_server(bin_dir: Path, data_dir: Path, user: tuple[int, int] | None, out: IO[str]) -> bool:
    """Stop the server of ``data_dir``: fast shutdown, else immediate; True once down."""
    for mode, wait_s in (("fast", "30"), ("immediate", "15")):
        run_tool(bin_dir, ["pg_ctl", "-D", str(data_dir), "-m", mode, "-w", "-t", wait_s,
                           "stop"], user, out, data_dir)  # fmt: skip
        if postmaster_pid(data_dir) is None:
            return True
    return False


def launch(
    data_dir: Path, bin_dir: Path, postmaster: int, user: tuple[int, int] | None, log: Path
) -> bool:
    """Start the watchdog of the server ``postmaster``; True once it watches."""
    cmd = [sys.executable, "-I", __file__, "--data-dir", str(data_dir), "--bin-dir",
           str(bin_dir), "--postmaster", str(postmaster)]  # fmt: skip
    if user is not None:
        cmd += ["--user", f"{user[0]}:{user[1]}"]
    with log.open("a") as sink:
        launcher = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=sink,
            cwd="/", start_new_session=True,
        )  # fmt: skip
    assert launcher.stdout is not None
    with launcher.stdout as ready:
        try:
            launcher.wait(timeout=_LAUNCH_TIMEOUT_S)  # it forks the watchdog and exits
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait()
            return False
        readable, _, _ = select.select([ready], [], [], _LAUNCH_TIMEOUT_S)
        return bool(readable) and ready.readline() == READY


def watch(data_dir: Path, bin_dir: Path, postmaster: int, user: tuple[int, int] | None) -> None:
    """Until the server ``postmaster`` is gone: stop it once no process holds it."""
    locks = LockFiles.of(data_dir)
    with locks.watchdog.open("a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # one per server: a predecessor ending first
        _announce_ready()
        while postmaster_pid(data_dir) == postmaster:
            with try_lock(locks.holders, fcntl.LOCK_EX) as unheld:
                if unheld:
                    _say(f"no process holds the server (pid {postmaster}) any more: stopping it")
                    stopped = stop_server(bin_dir, data_dir, user, sys.stderr)
                    _say("server stopped" if stopped else "the server did not stop")
                    return
            time.sleep(POLL_S)


def _announce_ready() -> None:
    os.write(1, READY)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # lets the launching process see the end of the pipe
    os.close(devnull)


def _say(message: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC sigmax watchdog: {message}",
          file=sys.stderr, flush=True)  # fmt: skip


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--bin-dir", type=Path, required=True)
    parser.add_argument("--postmaster", type=int, required=True)
    parser.add_argument("--user", help="uid:gid to run pg_ctl as (when started as root)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    user = None
    if args.user:
        uid, gid = args.user.split(":")
        user = (int(uid), int(gid))
    if os.fork():  # detach: the launcher exits, the watchdog is re-parented to init
        os._exit(0)
    watch(args.data_dir, args.bin_dir, args.postmaster, user)


if __name__ == "__main__":
    main()
