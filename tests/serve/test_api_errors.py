"""How the API answers errors: each SIGMAX error category with its status code, also
when an actor raised it (no remote traceback in the answer), and an unexpected error
as 500 with only the request id, logged once.

The app is the real one (real PostgreSQL, Redis and, for the actor cases, Ray); the
failing routes and the failing actor are test doubles added for these tests only,
because no real route fails on demand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from serve_app.api import create_app
from sigmax.config import Settings
from sigmax.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RiskRefusedError,
    SigmaxError,
    UnavailableError,
)
from tests.serve.conftest import unique_config

EXPECTED = [
    (InvalidInputError, 422, "unprocessable"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (UnavailableError, 503, "unavailable"),
    (RiskRefusedError, 403, "risk_refused"),
]
INTERNAL = "/api/v1/test-double/internal"


class UnexpectedFailure(RuntimeError):
    """Not a SIGMAX error: stands for a bug."""


def _raising_routes(app: FastAPI) -> None:
    """Test-double routes: raise a SIGMAX error of the named category, or a bug."""
    categories = {c.__name__: c for c, _, _ in EXPECTED}

    async def raise_category(name: str) -> None:
        raise categories[name](f"{name} from a route")

    async def raise_unexpected() -> None:
        raise UnexpectedFailure("secret internals at /srv/sigmax/app.py line 7")

    async def call_actor(request: Request, method: str) -> Any:
        backend = request.app.state.backend
        return await backend.call(request.app.state.failing_actor, method)

    for path, endpoint in (
        ("/api/v1/test-double/category/{name}", raise_category),
        (INTERNAL, raise_unexpected),
        ("/api/v1/test-double/actor/{method}", call_actor),
    ):
        app.add_api_route(path, endpoint)
        app.router.routes.insert(0, app.router.routes.pop())  # before the catch-all paths


@pytest.fixture(scope="module")
def client(api_settings: Settings) -> Iterator[TestClient]:
    app = create_app(api_settings, unique_config())
    _raising_routes(app)
    with TestClient(app) as http:  # re-raises what the app lets escape: nothing may
        yield http


@pytest.mark.parametrize(("category", "status", "code"), EXPECTED)
def test_each_category_has_one_status(
    client: TestClient, category: type[SigmaxError], status: int, code: str
) -> None:
    answer = client.get(f"/api/v1/test-double/category/{category.__name__}")
    assert answer.status_code == status
    body = answer.json()
    assert body == {
        "detail": f"{category.__name__} from a route",
        "code": code,
        "request_id": answer.headers["X-Request-ID"],
    }


def test_an_unexpected_error_is_500_with_only_the_request_id_and_logged_once(
    client: TestClient,
) -> None:
    with structlog.testing.capture_logs() as logs:
        answer = client.get(INTERNAL, headers={"X-Request-ID": "boom-1"})
    assert answer.status_code == 500
    assert answer.json() == {
        "detail": "internal error",
        "code": "internal_error",
        "request_id": "boom-1",
    }
    assert answer.headers["X-Request-ID"] == "boom-1"
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1, logs
    assert errors[0]["request_id"] == "boom-1"
    assert "UnexpectedFailure" in errors[0]["traceback"]


@pytest.fixture(scope="module")
def actor_client(ray_cluster: Any, client: TestClient) -> Iterator[TestClient]:
    @ray_cluster.remote
    class FailingActorDouble:
        """Stands for a session actor refusing a call."""

        def bad_input(self) -> None:
            raise InvalidInputError("qty must be > 0, got -1")

        def unknown(self) -> None:
            raise NotFoundError("order 'never-placed' is not known")

        def bug(self) -> None:
            raise ZeroDivisionError("division by zero in the actor")

    actor = FailingActorDouble.remote()  # type: ignore[attr-defined]
    app: Any = client.app
    app.state.failing_actor = actor
    yield client
    ray_cluster.kill(actor)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "status", "detail"),
    [
        ("bad_input", 422, "qty must be > 0, got -1"),
        ("unknown", 404, "order 'never-placed' is not known"),
        ("bug", 500, "internal error"),
    ],
)
def test_an_actors_error_is_answered_by_its_cause(
    actor_client: TestClient, method: str, status: int, detail: str
) -> None:
    with structlog.testing.capture_logs() as logs:
        answer = actor_client.get(f"/api/v1/test-double/actor/{method}")
    assert answer.status_code == status
    assert answer.json()["detail"] == detail
    for internal in ("Traceback", "ray::", "RayTaskError", ".py", "pid="):
        assert internal not in answer.text
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == (1 if status == 500 else 0), logs
