"""docs/LIVE.md run as written against the Binance spot simulator (a test double).

- The Python example runs in-process; its placeholders (BASE_URL, ENVIRONMENT, PRICE,
  NOW) are given here.
- Every shell command of the page runs top to bottom in its own process, as an operator
  types it: ``export`` lines set the environment of the commands after them (the key
  placeholders become the simulator's key), each ``sigmax`` command runs against a
  fresh simulator behind ``SIGMAX_VENUE__BASE_URL``, on the shared PostgreSQL in a
  schema of its own, and joins the test session's Ray cluster (``RAY_ADDRESS``, as a
  driver on a running cluster does) instead of starting a Ray of its own, which would
  cost each session tens of seconds: the keys the page exports (the simulator's) are
  set on that cluster's node too (tests/conftest.py), as an operator sets them on a
  node before ``ray start``, and the command checks them itself. A ``console`` block's
  output lines are what the command prints (each shown line starts a line of its
  output) and an ``error:`` answer exits with code 2 (1 for a session that failed once
  started); a
  ``bash`` block's sessions must finish (exit 0), the ccxt ones having sent their orders
  to the simulator, the dry run none. A command refused before Ray starts (an
  ``error:`` answer other than a failed session) runs in this process, through the same
  ``sigmax`` app with the same environment (the settings read afresh), to spare an
  interpreter start; every session runs in its own process.
- Under "## Reconciliation" the account holds an open order placed by hand (the
  simulator's ``place_by_hand``), which the session must refuse, or adopt when told.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.doubles.binance_spot_simulator import API_KEY, SECRET, BinanceSpotSimulatorDouble
from tests.execution.conftest import SIM_OPTIONS
from tests.ops.test_ops_docs_commands import blocks, commands_in
from tests.storage.pg.pg_fixtures import ADMIN_DSN, drop_schema, new_schema

ROOT = Path(__file__).resolve().parents[2]
LIVE = ROOT / "docs" / "LIVE.md"
HEADING = re.compile(r"^## (.+)$", re.M)
BY_HAND = "by-hand-1"
PLACEHOLDERS = {
    "your-testnet-key": API_KEY,
    "your-testnet-secret": SECRET,
    "your-live-key": API_KEY,
    "your-live-secret": SECRET,
}


def test_the_live_page_example_runs(sim: BinanceSpotSimulatorDouble) -> None:
    [block] = re.findall(r"^```python\n(.*?)^```", LIVE.read_text(encoding="utf-8"), re.S | re.M)
    names = {
        "BASE_URL": sim.base_url,
        "ENVIRONMENT": {
            "SIGMAX_EXCHANGE_BINANCE_API_KEY": API_KEY,
            "SIGMAX_EXCHANGE_BINANCE_SECRET": SECRET,
        },
        "PRICE": sim.price,
        "NOW": datetime(2024, 1, 1, tzinfo=UTC),
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(LIVE), "exec"), names)  # noqa: S102 - our own docs page
    printed = out.getvalue().splitlines()
    expected = [line.split("# ")[1] for line in block.splitlines() if "print(" in line]
    assert printed == expected
    assert len(sim.orders_with_client_id("doc-1")) == 1


@dataclass(frozen=True)
class Step:
    line: int
    command: str
    shown: tuple[str, ...]  # a console block's output lines; () for a bash block
    section: str  # the "## " heading it stands under


def page_steps() -> list[Step]:
    """The page's shell commands in order, with the output a console block shows."""
    steps: list[Step] = []
    text = LIVE.read_text(encoding="utf-8")
    headings = [(text.count("\n", 0, m.start()), m.group(1)) for m in HEADING.finditer(text)]
    for first, language, body in blocks(text):
        section = [title for at, title in headings if at < first][-1]
        lines = body.splitlines()
        for line, command in commands_in(body, language, first):
            shown: list[str] = []
            if language == "console":
                for out in lines[line - first + 1 :]:
                    if out.startswith("$ "):
                        break
                    shown.append(out)
            steps.append(Step(line, command, tuple(shown), section))
    return steps


def test_the_page_lists_the_way_live() -> None:
    commands = [s.command for s in page_steps()]
    flags_shown = ("--testnet", "--venue dry-run", "--live --data", "--live --testnet")
    for flags in (*flags_shown, "--adopt-venue-state"):
        assert any(flags in c for c in commands), flags
    assert all(c.startswith((".venv/bin/sigmax paper ", "export ")) for c in commands)


def _environment(schema: str) -> dict[str, str]:
    """This process's environment without venue, exchange, risk or Ray settings."""
    drop = ("SIGMAX_VENUE__", "SIGMAX_EXCHANGE_", "SIGMAX_RISK__", "RAY_", "SIGMAX_POSTGRES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {
        "RAY_AUTH_MODE": "disabled",
        "SIGMAX_POSTGRES_DSN": ADMIN_DSN,
        "SIGMAX_POSTGRES_SCHEMA": schema,
        "SIGMAX_VENUE__OPTIONS": json.dumps(SIM_OPTIONS),  # the simulator is spot only
    }


def _refused_here(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``argv`` (a command refused before Ray starts) through the ``sigmax`` app in this
    process, under ``env`` alone, from the repository root; the settings are read afresh
    for it and again after it."""
    from typer.testing import CliRunner

    from sigmax.cli import app
    from sigmax.config import get_settings

    with pytest.MonkeyPatch.context() as patch:
        for name in os.environ.keys() - env.keys():
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(ROOT)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, argv[1:])
        finally:
            get_settings.cache_clear()
    crashed = "" if isinstance(result.exception, SystemExit | None) else repr(result.exception)
    output = result.stderr + crashed
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, output)


def _run(step: Step, env: dict[str, str]) -> None:
    argv = shlex.split(step.command)
    argv[0] = str(Path(sys.executable).parent / "sigmax")
    with BinanceSpotSimulatorDouble(
        "bundled:ETH-USD-30m", quote="USD", start_bar=2_000, bars=50,
        balances={"USD": Decimal(10_000)},
    ) as sim:  # fmt: skip
        if step.section == "Reconciliation":
            price = (sim.price_of("ETH/USD") * Decimal("0.9")).quantize(Decimal("0.01"))
            sim.place_by_hand("BUY", Decimal("0.5"), price, BY_HAND, "ETHUSD")
        env = env | {"SIGMAX_VENUE__BASE_URL": sim.base_url}
        if step.shown and " failed: " not in step.shown[0]:
            done = _refused_here(argv, env)
        else:
            done = subprocess.run(
                argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
            )
        output = done.stdout + done.stderr
        where = f"docs/LIVE.md:{step.line}: {step.command}\n{output[-3000:]}"
        if step.shown:
            printed = [line.strip() for line in output.splitlines()]
            for line in step.shown:
                assert any(p.startswith(line) for p in printed), f"{line!r} not printed: {where}"
            started = " failed: " in step.shown[0]  # refused by the session's actors
            assert done.returncode == (1 if started else 2), where
            sent = [o for o in sim.orders.values() if o.client_order_id != BY_HAND]
            assert not sent, where  # refused before any order
            return
        assert done.returncode == 0, where
        assert "6/6" in done.stdout, where  # every bar traded
        if "--venue dry-run" in step.command:
            assert "venue dry-run (nothing sent)" in done.stdout, where
            assert not sim.orders, where
        else:
            sent = [o for o in sim.orders.values() if o.client_order_id != BY_HAND]
            assert sent, where  # the orders reached the exchange
            assert "--testnet" in step.command or "(REAL MONEY)" in done.stdout, where


@pytest.mark.slow
def test_every_command_of_the_page_runs_as_written(ray_cluster: Any) -> None:
    schema = new_schema()
    env = _environment(schema) | {"RAY_ADDRESS": ray_cluster.get_runtime_context().gcs_address}
    try:
        for step in page_steps():
            if step.command.startswith("export "):
                name, _, value = step.command.removeprefix("export ").partition("=")
                env[name] = PLACEHOLDERS.get(value, value)
                continue
            _run(step, env)
    finally:
        drop_schema(schema)
