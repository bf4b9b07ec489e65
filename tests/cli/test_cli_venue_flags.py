"""`sigmax paper` / `sigmax up` venue flags (--venue, --testnet, --live,
--adopt-venue-state) and the Ray job entry point's: parsed over SIGMAX_VENUE__*, and
every refusal made before Ray or any actor starts (exit code 2, one clear message)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from sigmax.cli import app, paper_command
from sigmax.config import get_settings
from sigmax.jobs import paper as paper_job

FAST = ["--bars", "2", "--no-dashboard"]  # `sigmax paper`; `up` runs until stopped


def fast(command: str) -> list[str]:
    return FAST if command == "paper" else ["--no-dashboard", "--no-api"]


@pytest.fixture(autouse=True)
def clean_venue_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No SIGMAX_VENUE__* or exchange keys from the outside; settings read afresh."""
    import os

    for name in list(os.environ):
        if name.startswith(("SIGMAX_VENUE__", "SIGMAX_EXCHANGE_")):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """What `sigmax paper` would run: (settings, request) handed to the session, which is
    not started (Ray stays down); the venue checks before it run for real."""
    calls: list[tuple[Any, Any]] = []

    def record(settings: Any, request: Any, *_: Any, **__: Any) -> None:
        calls.append((settings, request))

    monkeypatch.setattr(paper_command, "_run_session", record)
    monkeypatch.setattr(paper_command, "_start_detached", record)
    return calls


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_paper_is_the_default_venue(started: list[tuple[Any, Any]]) -> None:
    done = run("paper", *FAST)
    assert done.exit_code == 0, done.output
    [(settings, request)] = started
    assert settings.venue.kind == "paper" and not settings.venue.live
    assert request.adopt_venue_state is False


@pytest.mark.parametrize("command", ["paper", "up"])
def test_the_flags_override_the_venue_settings(
    command: str, started: list[tuple[Any, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_VENUE__TIMEOUT_MS", "5000")  # a setting the flags keep
    done = run(command, "--venue", "dry-run", "--testnet", "--adopt-venue-state", *fast(command))
    assert done.exit_code == 0, done.output
    [(settings, request)] = started
    venue = settings.venue
    assert (venue.kind, venue.testnet, venue.live, venue.timeout_ms) == (
        "dry-run",
        True,
        False,
        5000,
    )
    assert request.adopt_venue_state is True
    assert "venue dry-run (testnet)" in done.output


def test_a_flag_not_given_keeps_the_setting(
    started: list[tuple[Any, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGMAX_VENUE__KIND", "dry-run")
    done = run("paper", *FAST)
    assert done.exit_code == 0, done.output
    assert started[0][0].venue.kind == "dry-run"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--venue", "binance"], ["--venue", "expected paper, dry-run or ccxt:EXCHANGE"]),
        (["--venue", "ccxt:Binance!"], ["--venue", "ccxt:EXCHANGE"]),
        (["--live"], ["--live", "--venue ccxt:EXCHANGE", "the venue is paper"]),
        (["--venue", "dry-run", "--live"], ["--live", "the venue is dry-run"]),
        (["--testnet"], ["--testnet", "not to the paper venue"]),
        (
            ["--venue", "ccxt:binance"],
            ["trades real money", "--live", "--testnet"],
        ),
        (
            ["--venue", "ccxt:binance", "--live", "--testnet"],
            ["live=true and testnet=true contradict each other"],
        ),
        (
            ["--venue", "ccxt:binance", "--testnet"],
            ["needs exchange credentials", "SIGMAX_EXCHANGE_BINANCE_API_KEY"],
        ),
        (
            ["--venue", "ccxt:binance", "--live"],
            ["needs exchange credentials", "SIGMAX_EXCHANGE_BINANCE_SECRET"],
        ),
    ],
)
@pytest.mark.parametrize("command", ["paper", "up"])
def test_a_refused_venue_stops_before_anything_starts(
    command: str, args: list[str], words: list[str], started: list[tuple[Any, Any]]
) -> None:
    done = run(command, *args, *fast(command))
    assert done.exit_code == 2, done.output
    text = " ".join(done.output.replace("│", " ").split())
    for word in words:
        assert word in text, text
    assert "Traceback" not in done.output
    assert started == []  # no session, no Ray


def test_the_paper_job_takes_the_same_flags(
    started: list[tuple[Any, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert paper_job.main(["--venue", "ccxt:binance", "--live", "--testnet", *FAST]) == 2
    assert "contradict each other" in capsys.readouterr().err
    assert paper_job.main(["--venue", "dry-run", "--adopt-venue-state", *FAST]) == 0
    [(settings, request)] = started
    assert settings.venue.kind == "dry-run" and request.adopt_venue_state


@pytest.mark.parametrize(
    ("venue", "label"),
    [
        (None, "-"),
        ({"kind": "paper", "testnet": False, "live": False}, "paper"),
        ({"kind": "dry-run", "testnet": False, "live": False, "dry_run": True}, "dry-run"),
        ({"kind": "ccxt:binance", "testnet": True, "live": False}, "ccxt:binance (testnet)"),
        ({"kind": "ccxt:binance", "testnet": False, "live": True}, "ccxt:binance (LIVE)"),
    ],
)
def test_session_list_labels_the_venue(venue: dict[str, Any] | None, label: str) -> None:
    from sigmax.cli.session_command import venue_label

    assert venue_label(venue) == label
