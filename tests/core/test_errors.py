"""SIGMAX's error hierarchy: every error class is in exactly one category, bad input at
the library's boundary raises its category, and the CLI reports errors by category."""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import actors
import sigmax
from sigmax.errors import (
    CATEGORIES,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    SigmaxError,
    UnavailableError,
    category_of,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (sigmax, actors)

# Internal control flow, never seen by a caller: outside the hierarchy on purpose.
INTERNAL = {
    "sigmax.secrets._UseEnv",  # "Vault is not in use now: read the environment"
    # "this agent's live state is not at the previous bar: send the history"; raised by
    # an agent actor and always answered by the decision-graph actor with the history
    "sigmax.agents.base.LiveStateGap",
}
# Family bases: SigmaxErrors whose members are in different categories, so the base
# itself is in none. They are never raised themselves (test_family_bases_are_not_raised).
FAMILIES = {
    "sigmax.credentials.model.CredentialError",
    "sigmax.credentials.permission_check.PermissionCheckError",
    "sigmax.execution.errors.ExecutionError",
    "sigmax.proposals.model.ProposalError",
    "sigmax.secrets.SecretsError",
    "sigmax.storage.postgres.StorageError",
    "sigmax.storage.repos.keys.ApiKeyError",
}
# The client's view of an API error: raised for any error status, which carries the
# category (its 429 subclass, RateLimitedError, is UnavailableError).
REMOTE = {"sigmax.client.SigmaxAPIError"}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _modules() -> Iterator[object]:
    for package in PACKAGES:
        yield package
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            yield importlib.import_module(info.name)


def _defined_errors() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__  # type: ignore[attr-defined]
                and value.__module__ != "sigmax.errors"
            ):
                found[_qualified(value)] = value
    return found


@pytest.fixture(scope="module")
def defined_errors() -> dict[str, type[BaseException]]:
    return _defined_errors()


def _categories(cls: type[BaseException]) -> list[str]:
    return [c.__name__ for c in CATEGORIES if issubclass(cls, c)]


def test_the_walk_finds_the_known_errors(defined_errors: dict[str, type]) -> None:
    for name in (
        "sigmax.data.errors.DataError",
        "sigmax.execution.errors.UnknownOrderError",
        "actors.registry.SessionNotRunning",
        *INTERNAL,
        *FAMILIES,
        *REMOTE,
    ):
        assert name in defined_errors
    assert len(defined_errors) >= 45


def test_every_error_is_a_sigmax_error_in_exactly_one_category(
    defined_errors: dict[str, type[BaseException]],
) -> None:
    wrong = {}
    for name, cls in defined_errors.items():
        if name in INTERNAL:
            continue
        categories = _categories(cls)
        expected = 0 if name in FAMILIES | REMOTE else 1
        if not issubclass(cls, SigmaxError) or len(categories) != expected:
            wrong[name] = categories if issubclass(cls, SigmaxError) else "not a SigmaxError"
    assert wrong == {}


def test_internal_errors_stay_outside_the_hierarchy(
    defined_errors: dict[str, type[BaseException]],
) -> None:
    for name in INTERNAL:
        assert not issubclass(defined_errors[name], SigmaxError)


def _raised_names(path: Path) -> Iterator[tuple[str, int]]:
    """Names of the classes raised (or returned for raising) as ``Name(...)`` in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        made = node.exc if isinstance(node, ast.Raise) else getattr(node, "value", None)
        if not isinstance(node, ast.Raise | ast.Return) or not isinstance(made, ast.Call):
            continue
        if isinstance(made.func, ast.Name):
            yield made.func.id, node.lineno


def test_family_bases_are_not_raised() -> None:
    """A family base has no category, so raising it would leave the caller guessing."""
    families = {name.rsplit(".", 1)[1] for name in FAMILIES}
    raised = [
        f"{path.relative_to(ROOT)}:{line} {name}"
        for package in ("sigmax", "actors")
        for path in sorted((ROOT / package).rglob("*.py"))
        for name, line in _raised_names(path)
        if name in families
    ]
    assert raised == []


def test_built_in_bases_callers_catch_are_kept() -> None:
    from actors.registry import SessionNotRunning
    from sigmax.credentials.model import CredentialNotFoundError, InvalidCredentialError
    from sigmax.execution.errors import UnknownOrderError
    from sigmax.risk.state import RiskStateError
    from sigmax.storage.postgres import DatabaseUnavailableError, PoolTimeoutError

    assert issubclass(UnknownOrderError, KeyError)
    assert issubclass(SessionNotRunning, LookupError)
    assert issubclass(RiskStateError, RuntimeError)
    assert issubclass(PoolTimeoutError, TimeoutError)
    assert issubclass(DatabaseUnavailableError, ConnectionError)
    assert issubclass(CredentialNotFoundError, ValueError)  # a CredentialError, as before
    assert issubclass(InvalidCredentialError, ValueError)


@pytest.mark.parametrize(
    "error",
    [
        pytest.param("UnknownOrderError", id="not-found"),
        pytest.param("VenueNetworkError", id="unavailable"),
        pytest.param("IllegalTransitionError", id="conflict"),
    ],
)
def test_errors_survive_pickling_with_type_and_message(error: str) -> None:
    """Ray hands an actor's error to its caller pickled; the category must survive."""
    import sigmax.execution.errors as errors

    cls = getattr(errors, error)
    back = pickle.loads(pickle.dumps(cls("order o-1: details")))
    assert type(back) is cls
    assert str(back) == "order o-1: details"


# ---- bad input at the library's boundary raises its category -----------------------------


def test_unknown_strategy_is_invalid_input() -> None:
    from sigmax.strategies import make_strategy

    with pytest.raises(InvalidInputError, match="unknown strategy 'nope'"):
        make_strategy("nope", {})


def test_unknown_data_source_is_invalid_input() -> None:
    from sigmax.data.loader import load_bars

    with pytest.raises(InvalidInputError):
        load_bars("bundled:NO-SUCH-SET")


def test_a_bad_order_request_is_invalid_input() -> None:
    from sigmax.model import OrderRequest, Side

    with pytest.raises(InvalidInputError, match="qty must be > 0"):
        OrderRequest("o-1", "BTC/USDT", Side.BUY, Decimal(0))


def test_risk_limit_updates_and_pause_causes_are_checked_as_input() -> None:
    from sigmax.risk import RiskConfig, RiskEngine

    engine = RiskEngine(RiskConfig())
    with pytest.raises(InvalidInputError, match="no changes given"):
        engine.update_limits()
    with pytest.raises(InvalidInputError, match="limits unchanged"):
        engine.update_limits(max_order_notional="-5")
    with pytest.raises(InvalidInputError, match="cause 'bored'"):
        engine.pause("test", cause="bored")


def test_resuming_while_killed_is_a_conflict() -> None:
    from sigmax.risk import RiskConfig, RiskEngine

    engine = RiskEngine(RiskConfig())
    engine.kill("test", operator="test")
    with pytest.raises(ConflictError, match="release_kill first"):
        engine.resume("test")


def test_unknown_order_is_not_found() -> None:
    from sigmax.execution.orders import OrderManager

    with pytest.raises(NotFoundError) as caught:
        OrderManager().order("no-such-order")
    assert isinstance(caught.value, KeyError)


def test_bad_credential_fields_are_invalid_input() -> None:
    from sigmax.credentials.model import CredentialError, check_name

    with pytest.raises(InvalidInputError, match="name 'a b' is invalid") as caught:
        check_name("a b")
    assert isinstance(caught.value, CredentialError)


def test_unknown_event_topic_is_invalid_input() -> None:
    from sigmax.events.bus import check_topics

    with pytest.raises(InvalidInputError, match="unknown topic"):
        check_topics(["no-such-topic"])


def test_unknown_backtest_risk_limit_is_invalid_input() -> None:
    from sigmax.backtest.risk_profile import backtest_risk_config

    with pytest.raises(InvalidInputError, match="--risk: unknown limit 'nope'"):
        backtest_risk_config({"nope": "1"})


def test_category_of() -> None:
    from sigmax.execution.errors import VenueAuthError

    assert category_of(VenueAuthError("x")) is UnavailableError
    assert category_of(KeyError("x")) is None


# ---- the CLI reports a SIGMAX error in one line, with its category's exit code ---------


def _cli_raising(error: Exception) -> typer.Typer:
    from sigmax.cli.errors import ReportingGroup

    app = typer.Typer(cls=ReportingGroup)

    @app.command()
    def fail() -> None:
        raise error

    @app.command()
    def other() -> None:  # two commands make a group
        pass

    return app


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInputError("bad --param fats\nsecond line"), 2),
        (NotFoundError("no such credential 'x'"), 1),
        (UnavailableError("database unreachable"), 1),
    ],
)
def test_cli_reports_sigmax_errors_by_category(error: Exception, code: int) -> None:
    result = CliRunner().invoke(_cli_raising(error), ["fail"])
    assert result.exit_code == code
    lines = [line for line in result.output.splitlines() if line]
    assert lines == [f"error: {'; '.join(str(error).splitlines())}"]


def test_cli_leaves_other_exceptions_alone() -> None:
    result = CliRunner().invoke(_cli_raising(KeyError("bug")), ["fail"])
    assert isinstance(result.exception, KeyError)


def test_sigmax_cli_reports_an_unreachable_database_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real app, through its own handler: exit 1, one line, no traceback."""
    from sigmax.cli import app

    monkeypatch.setenv("SIGMAX_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:1/test")
    result = CliRunner().invoke(app, ["db", "status"])
    assert result.exit_code == 1
    assert result.output.startswith("error: postgres at ")
    assert "unreachable" in result.output and len(result.output.splitlines()) == 1


@pytest.mark.parametrize(
    ("error", "code"), [(InvalidInputError("bad"), 2), (NotFoundError("gone"), 1)]
)
def test_a_job_entry_point_reports_sigmax_errors_like_the_cli(
    error: Exception, code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sigmax.jobs.entry import run_command

    monkeypatch.delenv("RAY_ADDRESS", raising=False)

    def command() -> None:
        raise error

    assert run_command(command, "sigmax-test", []) == code
    assert capsys.readouterr().err == f"error: {error}\n"
