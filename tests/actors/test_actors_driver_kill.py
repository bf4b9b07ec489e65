"""The driver of a session killed with SIGKILL (``kill -9``).

``sigmax paper --address`` runs the session in its detached actor ``session:<id>`` and
only follows it; a driver killed mid-run gets no chance to stop or end anything. The
session must keep trading, and a rerun of the same command must follow it to its end,
with the orders and fills of one uninterrupted run: none lost, none doubled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from actors import options
from actors.registry import SessionNotRunning, find
from actors.session import DONE, end_session, start_session
from actors.system import PaperRequest
from sigmax.config import Settings
from tests.actors.stored_books import stored_trades

START, BARS = 6_050, 40  # sma_cross trades about every 5th bar here
PARAMS = {"fast": "2", "slow": "5", "size": "0.05"}


def _paper(address: str, session_id: str, json_out: Path) -> list[str]:
    sigmax = Path(sys.executable).parent / "sigmax"
    params = [arg for k, v in PARAMS.items() for arg in ("--param", f"{k}={v}")]
    return [
        str(sigmax),
        "paper",
        "--address",
        address,
        "--session-id",
        session_id,
        "--start",
        str(START),
        "--bars",
        str(BARS),
        "--strategy",
        "sma_cross",
        *params,
        "--json",
        str(json_out),
    ]


def _wait(ray: Any, session_id: str, until: Any, timeout_s: float = 240) -> dict[str, Any]:
    """The session actor's status once ``until(status)`` holds (found by name)."""
    deadline = time.monotonic() + timeout_s
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            session = find(options.SESSION, session_id)
            status = ray.get(session.status.remote(), timeout=30)
        except (SessionNotRunning, ray.exceptions.RayActorError):  # not yet, or restarting
            status = {"state": "starting", "bars": 0}
        if until(status):
            return status
        time.sleep(0.1)
    raise AssertionError(f"session {session_id} did not get there in {timeout_s}s: {status}")


@pytest.mark.slow
def test_a_session_keeps_trading_after_its_driver_is_killed_and_a_rerun_follows_it(
    ray_cluster: Any, settings: Settings, tmp_path: Path
) -> None:
    address = ray_cluster.get_runtime_context().gcs_address
    session_id = f"kill9-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "RAY_ADDRESS": "",
        "SIGMAX_HOME": str(tmp_path / "home"),
        "SIGMAX_POSTGRES__DSN": str(settings.postgres.dsn),
        "SIGMAX_POSTGRES__SCHEMA_NAME": settings.postgres.schema_name,
    }
    whole = PaperRequest(
        start=START,
        bars=BARS,
        session_id=f"whole-{uuid.uuid4().hex[:8]}",
        strategy="sma_cross",
        params=PARAMS,
    )
    reference = start_session(settings, whole)  # the uninterrupted run, alongside
    command = _paper(address, session_id, tmp_path / "first.json")
    driver = subprocess.Popen(  # noqa: S603  (our own CLI, arguments built here)
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        at_kill = _wait(ray_cluster, session_id, lambda s: s["bars"] >= 5)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.kill()
        _, err = driver.communicate(timeout=60)
    assert driver.returncode == -signal.SIGKILL, err[-3000:]
    assert at_kill["state"] == "running" and at_kill["bars"] < BARS, at_kill

    # the session trades on without its driver
    later = _wait(ray_cluster, session_id, lambda s: s["bars"] >= at_kill["bars"] + 10)
    assert later["last_bar"] > at_kill["last_bar"]

    # the same command again follows the session (not a second one) to its end
    rerun = subprocess.run(  # noqa: S603
        _paper(address, session_id, tmp_path / "rerun.json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    summary = json.loads((tmp_path / "rerun.json").read_text(encoding="utf-8"))["meta"]
    assert summary["bars"] == summary["decisions"] == BARS  # every bar, once
    assert not (tmp_path / "first.json").exists()  # the killed driver wrote nothing
    with pytest.raises(SessionNotRunning):
        find(options.SESSION, session_id)  # the rerun ended it, as a finished run does

    assert _wait(ray_cluster, whole.session_id, lambda s: s["state"] in DONE)["state"] == (
        "finished"
    )
    end_session(reference)

    killed = PaperRequest(session_id=session_id)
    got = stored_trades(settings.postgres, killed.account, session_id)
    expected = stored_trades(settings.postgres, whole.account, whole.session_id)
    assert expected[1], "no fill: a weak test"
    assert got == expected  # no order or fill lost or doubled by the kill
    assert (summary["orders"], summary["fills"]) == (len(got[0]), len(got[1]))
    assert all(qty > Decimal(0) for _, qty, _ in got[1])
