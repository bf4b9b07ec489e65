"""Every command in the documentation is run by a test or by CI.

Commands are the lines of the fenced ``bash``/``sh``/``shell``/``console`` blocks of
README.md, docs/*.md and cluster/README.md (continuation lines joined, comments
dropped, only ``$ `` lines of console blocks), and the lines of ``text`` blocks that
start with a program (PROGRAM: ``.venv/bin/...``, ``kubectl``, ``docker``...). Each is

* run here: every block of docs/API_GUIDE.md, top to bottom as one script, against a
  real API (uvicorn on a free port; ``127.0.0.1:8000`` in the page becomes its
  address) and a real paper session on the test Ray cluster;
* a benchmark (``python bench/NAME.py ...``): a measurement run by hand; this test
  runs the script's ``--help`` and checks every option the page uses exists;
* or listed in COVERED below, naming the test or CI file that runs it and a string
  that file must contain (so the entry goes stale loudly when that file changes).
  Commands against infrastructure this machine has not (AWS, Kubernetes, Docker) are
  listed with the test that validates the file they use; ``validated`` says so.

A new command in the docs fails :func:`test_every_documented_command_is_run` with its
file and line until it gets a COVERED entry (or is added to the guide).
"""

from __future__ import annotations

import concurrent.futures
import functools
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = "docs/API_GUIDE.md"
FENCE = re.compile(r"^```(bash|sh|shell|console|text)[^\n]*\n(.*?)^```", re.S | re.M)
PROGRAM = re.compile(
    r"^(\.venv/bin/\S+|kubectl|docker|helm|ray|serve|sigmax|make|curl|python3?|pip|export"
    r"|cp|pg_dump|pg_restore|psql|clickhouse-client|bash|sh)(\s|$)"
)
BENCH = re.compile(r"^(?:\.venv/bin/)?python3? (bench/\w+\.py)\b(.*)$")


LAUNCHER_TEST = "tests/ops/test_ops_cluster_configs.py"
JOBS_TEST = "tests/ops/test_ops_jobs_doc.py"  # runs docs/JOBS.md's blocks as written


@dataclass(frozen=True)
class Runs:
    """A documented command (``pattern``, a regex matched at the start of the command
    with comments dropped and whitespace collapsed) and where it is run: ``where``
    (a test or CI file) contains ``needle``."""

    pattern: str
    where: str
    needle: str
    validated: bool = False  # the test checks the file the command uses; it cannot run it


# Extend this table when the docs gain a command that this test cannot run itself.
COVERED: tuple[Runs, ...] = (
    # docs/PORTFOLIO.md
    Runs(
        r"sigmax backtest --data bundled:ETH-USD-30m --symbol ETH/USD --data",
        "tests/backtest/test_portfolio_backtest.py",
        "docs/PORTFOLIO.md's command",
    ),
    # docs/STRATEGIES.md (before README's paper row: the first matching row counts)
    Runs(
        r"\.venv/bin/sigmax (backtest|paper) --strategy examples/strategies/donchian_breakout",
        "tests/backtest/test_user_strategy.py",
        "docs/STRATEGIES.md's",
    ),
    # docs/TUNE.md
    Runs(r"\.venv/bin/sigmax tune ", "tests/actors/test_tune.py", "docs/TUNE.md's command"),
    # docs/PERFORMANCE.md: the load test's full command (a short run of it is a test) and
    # the checkout of an earlier commit that bench/api_load.py --before-tree compares with
    Runs(r"locust -f tests/load/locustfile\.py ", "tests/serve/test_load_locust.py", "locustfile"),
    Runs(r"git worktree add ", "bench/api_load.py", "--before-tree", validated=True),
    # docs/LIVE.md (before README's paper row): run top to bottom against the simulator
    Runs(
        r"(\.venv/bin/sigmax paper --venue |export SIGMAX_(EXCHANGE_BINANCE|RISK)__?)",
        "tests/execution/test_execution_live_doc.py",
        "test_every_command_of_the_page_runs_as_written",
    ),
    # README.md
    Runs(r"make test$", ".ci/run", "make test"),
    Runs(r"make lint$", ".ci/run", "make lint"),
    Runs(r"make run$", "tests/actors/test_actors_paper_cli.py", '"paper"'),
    Runs(r"\.venv/bin/sigmax paper ", "tests/actors/test_actors_paper_cli.py", '"paper"'),
    Runs(r"make backtest$", "tests/backtest/test_backtest_cli.py", '"--strategy"'),
    Runs(r"make bench$", "tests/ops/test_ops_docs_commands.py", "bench/backtest.py"),
    # docs/API.md
    Runs(
        r"\.venv/bin/serve run cluster/serve_config\.yaml",
        "tests/ops/test_ops_cluster_configs.py",
        "serve_config.yaml",
    ),
    Runs(r"\.venv/bin/sigmax keys create ", "tests/serve/test_api_keys_cli.py", '"create"'),
    # docs/JOBS.md and docs/QUANTUM.md
    Runs(r"export RAY_AUTH_MODE=disabled$", "tests/conftest.py", "RAY_AUTH_MODE"),
    Runs(r"(PATH=\S+ )?(\.venv/bin/)?ray start --head ", JOBS_TEST, "ray start --head"),
    Runs(
        r"(\.venv/bin/)?ray job submit .* python -m sigmax\.jobs\.(backtest|paper|tune) ",
        JOBS_TEST,
        '"ray job submit"',
    ),
    Runs(
        r"(\.venv/bin/)?ray job submit .* python -m sigmax\.jobs\.optimize ",
        "tests/portfolio/test_portfolio_cli.py",
        "sigmax.jobs.optimize",
    ),
    Runs(r"(\.venv/bin/)?sigmax optimize ", "tests/portfolio/test_portfolio_cli.py", '"optimize"'),
    # cluster/README.md: the AWS launcher, KubeRay and Docker need what this machine has not
    Runs(r"\.venv/bin/pip install boto3", LAUNCHER_TEST, "aws.yaml", validated=True),
    Runs(r"\.venv/bin/ray get-auth-token --generate", LAUNCHER_TEST, "aws.yaml", validated=True),
    Runs(
        r"\.venv/bin/ray (up|down|dashboard|attach) .*cluster/launcher/aws\.yaml",
        LAUNCHER_TEST,
        "aws.yaml",
        validated=True,
    ),
    Runs(r"export RAY_AUTH_MODE=token$", LAUNCHER_TEST, "aws.yaml", validated=True),
    Runs(
        r"\.venv/bin/serve deploy .*cluster/serve_config\.yaml",
        LAUNCHER_TEST,
        "serve_config.yaml",
        validated=True,
    ),
    Runs(r"docker build ", "tests/ops/test_ops_compose.py", "Dockerfile", validated=True),
    Runs(r"cp cluster/k8s/sigmax\.env\.example ", LAUNCHER_TEST, "sigmax-env", validated=True),
    Runs(r"kubectl create secret generic sigmax-env ", LAUNCHER_TEST, "sigmax-env", validated=True),
    Runs(
        r"kubectl (apply -f cluster/k8s/|get ray|port-forward svc/sigmax)",
        LAUNCHER_TEST,
        "rayservice.yaml",
        validated=True,
    ),
    Runs(r"\.venv/bin/pytest tests/", "Makefile", "$(BIN)/pytest"),
    Runs(
        r"\.venv/bin/python tests/ops/fake_cluster_sweep\.py ",
        "tests/ops/test_ops_autoscaling.py",
        "fake_cluster_sweep.py",
    ),
)


@dataclass(frozen=True)
class DocCommand:
    path: str
    line: int
    text: str  # comments dropped, whitespace collapsed

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def doc_files() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return found + [p for p in [ROOT / "cluster" / "README.md"] if p.exists()]


def blocks(text: str) -> Iterator[tuple[int, str, str]]:
    """(first line number, language, body) of each fenced shell block."""
    for match in FENCE.finditer(text):
        yield text.count("\n", 0, match.start()) + 2, match.group(1), match.group(2)


def commands_in(body: str, language: str, first_line: int) -> Iterator[tuple[int, str]]:
    """(line, command) of one block: continuation lines and open quotes are joined."""
    pending, start = "", first_line
    for offset, raw in enumerate(body.splitlines()):
        line = raw
        if language == "console":
            if not pending and not line.startswith("$ "):
                continue  # output
            line = line[2:] if not pending else line
        if language == "text" and not pending and not PROGRAM.match(line.strip()):
            continue  # prose, output or a diagram
        if not pending:
            start = first_line + offset
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1]
            continue
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quote spans lines
            continue
        if words:
            yield start, re.sub(r"\s+", " ", " ".join(words))
        pending = ""
    if pending.strip():
        raise ValueError(f"line {start}: unterminated command {pending!r}")


def documented() -> list[DocCommand]:
    out = []
    for path in doc_files():
        rel = str(path.relative_to(ROOT))
        for first, language, body in blocks(path.read_text(encoding="utf-8")):
            out += [DocCommand(rel, n, text) for n, text in commands_in(body, language, first)]
    return out


def covering(command: DocCommand) -> Runs | None:
    return next((r for r in COVERED if re.match(r.pattern, command.text)), None)


def test_extraction_joins_continuations_quotes_and_prompts() -> None:
    body = "# a comment\nfoo --a 1 \\\n    --b 2   # why\nbar '{\"x\":\n  1}'\n"
    assert list(commands_in(body, "bash", 10)) == [(11, "foo --a 1 --b 2"), (13, 'bar {"x": 1}')]
    console = "$ sigmax data list\nBTC-USD-1h  20111\n$ make test\n"
    assert [c for _, c in commands_in(console, "console", 1)] == ["sigmax data list", "make test"]
    text = "serve_app ──► actors\n.venv/bin/ray up -y x.yaml   # go\nsome output\n"
    assert [c for _, c in commands_in(text, "text", 1)] == [".venv/bin/ray up -y x.yaml"]
    with pytest.raises(ValueError, match="unterminated"):
        list(commands_in("echo 'open\n", "sh", 1))


def test_every_documented_command_is_run() -> None:
    commands = documented()
    assert any(c.path == GUIDE for c in commands) and len(commands) > 20
    unknown = [
        str(c)
        for c in commands
        if c.path != GUIDE and not BENCH.match(c.text) and covering(c) is None
    ]
    assert not unknown, (
        "documented commands that no test or CI step runs; run them in a test and add a "
        "row to COVERED in tests/ops/test_ops_docs_commands.py:\n  " + "\n  ".join(unknown)
    )


@pytest.mark.parametrize("entry", COVERED, ids=lambda r: r.pattern)
def test_covered_entries_point_at_what_runs_them(entry: Runs) -> None:
    where = ROOT / entry.where
    assert where.is_file(), f"{entry.pattern}: {entry.where} does not exist"
    assert entry.needle in where.read_text(encoding="utf-8"), (
        f"{entry.where} no longer contains {entry.needle!r}: does it still run {entry.pattern}?"
    )
    assert any(re.match(entry.pattern, c.text) for c in documented()), (
        f"no documented command matches {entry.pattern!r}: remove the stale COVERED row"
    )


def _bench_commands() -> list[DocCommand]:
    benches = [c for c in documented() if BENCH.match(c.text)]
    return benches + [DocCommand("Makefile", 0, "python bench/backtest.py")]  # make bench


def _run_help(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


@functools.cache
def _helps() -> dict[str, subprocess.CompletedProcess[str]]:
    """``python SCRIPT --help`` of every documented benchmark, once per script however
    many commands use it, a few at a time (each mostly imports its dependencies)."""
    scripts = sorted({m.group(1) for c in _bench_commands() if (m := BENCH.match(c.text))})
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(scripts, pool.map(_run_help, scripts), strict=True))


def _help(script: str) -> subprocess.CompletedProcess[str]:
    return _helps()[script]


@pytest.mark.parametrize("command", _bench_commands(), ids=str)
def test_benchmark_commands_name_real_options(command: DocCommand) -> None:
    match = BENCH.match(command.text)
    assert match is not None
    script, args = match.group(1), match.group(2)
    shown = _help(script)
    assert shown.returncode == 0, f"{command}: --help failed\n{shown.stderr[-2000:]}"
    for option in re.findall(r"(?<!\S)(--[\w-]+)", args):
        assert option in shown.stdout, f"{command}: {script} has no option {option}"


# ---- docs/API_GUIDE.md, run for real ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def guide_api(ray_cluster: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """A paper session's actors and the API for it on a free port: (base URL, env of
    the CLI, which shares the API's PostgreSQL schema)."""
    import uvicorn

    from actors.system import PaperRequest, run_paper, start_system
    from serve_app.api import create_app
    from sigmax.config import Settings
    from sigmax.storage.redis_config import RedisConfig
    from tests.serve.conftest import REDIS_URL, unique_config
    from tests.storage.pg.pg_fixtures import drop_schema, make_config, new_schema

    schema = new_schema()
    settings = Settings(postgres=make_config(schema, pool_size=2), redis=RedisConfig(url=REDIS_URL))
    session_id = f"guide-{uuid.uuid4().hex[:8]}"
    # the guide's commands read the session's books, orders and risk state, not its
    # decisions: sma_cross trades without the agent graph (4 actor processes, not 10)
    request = PaperRequest(
        start=10_000, bars=20, session_id=session_id, persist=True, strategy="sma_cross"
    )
    trading = start_system(settings, request)
    config = unique_config(session_id=session_id, rate_trading=100, rate_analysis=100)
    port = _free_port()
    app = create_app(settings, config)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        run_paper(trading, request)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.05)
        env = {
            "SIGMAX_POSTGRES_DSN": str(settings.postgres.dsn),
            "SIGMAX_POSTGRES_SCHEMA": str(settings.postgres.schema_name),
        }
        yield f"127.0.0.1:{port}", env
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        trading.shutdown()
        drop_schema(schema)


def test_api_guide_runs_top_to_bottom(
    guide_api: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, cli_env = guide_api
    text = (ROOT / GUIDE).read_text(encoding="utf-8")
    script = "\n".join(body for _, language, body in blocks(text) if language == "bash")
    assert "127.0.0.1:8000" in script
    script = script.replace("127.0.0.1:8000", address)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")  # the page's .venv/bin/... paths
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, f"stdout:\n{ran.stdout[-4000:]}\nstderr:\n{ran.stderr[-4000:]}"
    out = ran.stdout
    assert '"session_running": true' in out
    assert '"approved": true' in out
    assert '"status": "cancelled"' in out or '"status": "canceled"' in out, out
    assert '"paused"' in out and '"running"' in out
    assert '"welcome"' in out
    assert (tmp_path / "backtest-report.html").read_text().lstrip().lower().startswith("<!doctype")
