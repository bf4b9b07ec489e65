"""A typed Python client for the SIGMAX HTTP API (``/api/v1``).

    from sigmax.client import SigmaxClient

    with SigmaxClient("http://127.0.0.1:8000", key="sgx_...") as api:
        print(api.status()["session_running"])
        api.submit_order("op-1", "BTC/USD", "buy", "0.01")

URL and key default to ``SIGMAX_API_URL`` and ``SIGMAX_API_KEY``. Every non-2xx answer
raises :class:`SigmaxAPIError` (``RateLimitedError`` for 429) carrying the status, the
error code, the message and the request id. ``http`` takes any ``httpx.Client``
(FastAPI's ``TestClient`` included) instead of opening a connection pool.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal

import httpx

from sigmax.errors import SigmaxError, UnavailableError

DEFAULT_URL = "http://127.0.0.1:8000"
PREFIX = "/api/v1"

JSON = dict[str, Any]


class SigmaxAPIError(SigmaxError, RuntimeError):
    """The API answered with an error status; the status, not this class, tells the category."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: Any,
        request_id: str | None,
        headers: httpx.Headers,
    ) -> None:
        super().__init__(f"HTTP {status_code} {code}: {detail} (request id {request_id})")
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.request_id = request_id
        self.headers = headers


class RateLimitedError(SigmaxAPIError, UnavailableError):
    """429: come back after :attr:`retry_after_s` seconds."""

    @property
    def retry_after_s(self) -> int:
        return int(self.headers.get("Retry-After", "1"))


class SigmaxClient:
    """Synchronous client; one method per endpoint. Not thread-safe (``last_response``)."""

    def __init__(
        self,
        base_url: str | None = None,
        key: str | None = None,
        *,
        timeout_s: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.key = key if key is not None else os.environ.get("SIGMAX_API_KEY")
        self._owned = http is None
        self.http = http or httpx.Client(
            base_url=base_url or os.environ.get("SIGMAX_API_URL", DEFAULT_URL), timeout=timeout_s
        )
        self.last_response: httpx.Response | None = None

    def close(self) -> None:
        if self._owned:
            self.http.close()

    def __enter__(self) -> SigmaxClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- plumbing ----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one request to ``/api/v1{path}``; raise on errors not listed in ``ok``."""
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        query = {k: v for k, v in (params or {}).items() if v is not None}
        unversioned = path.startswith(("/api/", "/health/"))  # /health/*: the probes
        url = path if unversioned else f"{PREFIX}{path}"
        response = self.http.request(method, url, json=json, params=query, headers=headers)
        self.last_response = response
        if response.status_code >= 400 and response.status_code not in ok:
            raise _error(response)
        return response

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self.request(method, path, **kw).json()

    # ---- meta --------------------------------------------------------------------------

    def health(self) -> JSON:
        """Up, degraded or down for the API, its stores and the session actors (no key;
        also when 503)."""
        result: JSON = self._json("GET", "/health", ok=(503,))
        return result

    def health_details(self) -> JSON:
        """The whole health report: versions, latencies, pools, fallbacks (read scope;
        also when 503)."""
        result: JSON = self._json("GET", f"{PREFIX}/health/details", ok=(503,))
        return result

    def versions(self) -> JSON:
        result: JSON = self._json("GET", "/api/versions")
        return result

    def status(self) -> JSON:
        result: JSON = self._json("GET", "/status")
        return result

    def metrics(self) -> str:
        return self.request("GET", "/metrics").text

    # ---- trading -----------------------------------------------------------------------

    def decisions(self, symbol: str | None = None, limit: int = 100) -> list[JSON]:
        result: list[JSON] = self._json(
            "GET", "/decisions", params={"symbol": symbol, "limit": limit}
        )
        return result

    def decision(self, decision_id: int) -> JSON:
        result: JSON = self._json("GET", f"/decisions/{decision_id}")
        return result

    def orders(self, status: Literal["all", "open"] = "all", limit: int = 100) -> list[JSON]:
        result: list[JSON] = self._json("GET", "/orders", params={"status": status, "limit": limit})
        return result

    def order(self, client_order_id: str) -> JSON:
        result: JSON = self._json("GET", f"/orders/{client_order_id}")
        return result

    def submit_order(
        self,
        client_order_id: str,
        symbol: str,
        side: Literal["buy", "sell"],
        qty: Decimal | str | float,
        type: Literal["market", "limit", "stop", "stop_limit"] = "market",
        limit_price: Decimal | str | float | None = None,
        stop_price: Decimal | str | float | None = None,
        tif: Literal["gtc", "ioc"] = "gtc",
        reduce_only: bool = False,
    ) -> JSON:
        """Risk check then venue; ``approved`` says which (the same id twice is one order)."""
        body = {
            "client_order_id": client_order_id,
            "symbol": symbol,
            "side": side,
            "qty": str(qty),
            "type": type,
            "limit_price": None if limit_price is None else str(limit_price),
            "stop_price": None if stop_price is None else str(stop_price),
            "tif": tif,
            "reduce_only": reduce_only,
        }
        result: JSON = self._json("POST", "/orders", json=body)
        return result

    def cancel_order(self, client_order_id: str) -> JSON:
        result: JSON = self._json("DELETE", f"/orders/{client_order_id}")
        return result

    def fills(self, client_order_id: str | None = None, limit: int = 100) -> list[JSON]:
        result: list[JSON] = self._json(
            "GET", "/fills", params={"client_order_id": client_order_id, "limit": limit}
        )
        return result

    def positions(self) -> list[JSON]:
        result: list[JSON] = self._json("GET", "/positions")
        return result

    def portfolio(self) -> JSON:
        result: JSON = self._json("GET", "/portfolio")
        return result

    def analyze(self, symbol: str) -> JSON:
        """Run the decision graph now; ``BTC/USD`` and ``BTC-USD`` both work."""
        result: JSON = self._json("POST", f"/analyze/{symbol.replace('/', '-')}")
        return result

    # ---- risk --------------------------------------------------------------------------

    def risk_status(self) -> JSON:
        result: JSON = self._json("GET", "/risk/status")
        return result

    def risk_limits(self) -> JSON:
        result: JSON = self._json("GET", "/risk/limits")
        return result

    def update_limits(self, **changes: Any) -> JSON:
        body = {k: str(v) if isinstance(v, Decimal) else v for k, v in changes.items()}
        result: JSON = self._json("PUT", "/risk/limits", json=body)
        return result

    def pause(self, reason: str) -> JSON:
        result: JSON = self._json("POST", "/risk/pause", json={"reason": reason})
        return result

    def resume(self, force: bool = False) -> JSON:
        result: JSON = self._json("POST", "/risk/resume", json={"force": force})
        return result

    def kill(self, reason: str) -> JSON:
        result: JSON = self._json("POST", "/risk/kill", json={"reason": reason})
        return result

    def release_kill(self) -> JSON:
        """Release the kill switch (admin scope); the system stays paused until resumed."""
        result: JSON = self._json("POST", "/risk/kill/release")
        return result

    def risk_events(self, limit: int = 100) -> list[JSON]:
        result: list[JSON] = self._json("GET", "/risk/events", params={"limit": limit})
        return result

    # ---- control, probes ---------------------------------------------------------------

    def control(self, action: Literal["start", "pause", "stop", "panic"], **body: Any) -> JSON:
        """POST /control/{action}: start {force}, pause/stop/panic {reason} (panic: admin)."""
        result: JSON = self._json("POST", f"/control/{action}", json=body)
        return result

    def live(self) -> JSON:
        """GET /health/live (no key)."""
        result: JSON = self._json("GET", "/health/live")
        return result

    def ready(self) -> JSON:
        """GET /health/ready (no key); the checks also when not ready (503)."""
        result: JSON = self._json("GET", "/health/ready", ok=(503,))
        return result

    # ---- jobs, quantum -----------------------------------------------------------------

    def submit_backtest(self, **params: Any) -> JSON:
        """Start a backtest job (data, symbol, timeframe, strategy, params, cash, ...)."""
        result: JSON = self._json("POST", "/jobs/backtest", json=params)
        return result

    def jobs(self) -> list[JSON]:
        result: list[JSON] = self._json("GET", "/jobs")
        return result

    def job(self, job_id: str) -> JSON:
        result: JSON = self._json("GET", f"/jobs/{job_id}")
        return result

    def job_result(self, job_id: str) -> JSON:
        result: JSON = self._json("GET", f"/jobs/{job_id}/result")
        return result

    def job_report(self, job_id: str) -> str:
        return self.request("GET", f"/jobs/{job_id}/report").text

    def wait_for_job(self, job_id: str, timeout_s: float = 300.0, poll_s: float = 0.5) -> JSON:
        """Poll until the job leaves ``running``; TimeoutError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["status"] != "running":
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still running after {timeout_s}s")
            time.sleep(poll_s)

    def submit_optimisation(self, **params: Any) -> JSON:
        """Start a portfolio optimisation job (assets, budget, risk_aversion, solver)."""
        result: JSON = self._json("POST", "/jobs/optimize", json=params)
        return result

    def submit_training(self, **params: Any) -> JSON:
        """Start a PPO training job (data, iterations, env_runners, continuous)."""
        result: JSON = self._json("POST", "/jobs/train", json=params)
        return result

    def quantum_last(self) -> JSON:
        result: JSON = self._json("GET", "/quantum/last")
        return result

    def quantum_circuit(self, format: str = "drawing") -> str:
        """The last quantum circuit as a text picture (``drawing``) or OpenQASM 3 (``qasm``)."""
        return self.request("GET", "/quantum/last/circuit", params={"format": format}).text

    # ---- keys (admin) ------------------------------------------------------------------

    def create_key(self, name: str, scopes: list[str], expires_days: int | None = None) -> JSON:
        """A new key; ``["key"]`` holds the plaintext, shown this once."""
        body = {"name": name, "scopes": scopes, "expires_days": expires_days}
        result: JSON = self._json("POST", "/keys", json=body)
        return result

    def list_keys(self) -> list[JSON]:
        result: list[JSON] = self._json("GET", "/keys")
        return result

    def revoke_key(self, key_id: int) -> JSON:
        result: JSON = self._json("POST", f"/keys/{key_id}/revoke")
        return result

    def rotate_key(self, key_id: int) -> JSON:
        result: JSON = self._json("POST", f"/keys/{key_id}/rotate")
        return result

    # ---- exchange credentials (admin) --------------------------------------------------

    def create_credential(
        self,
        name: str,
        exchange: str,
        api_key: str,
        secret: str,
        password: str | None = None,
        sandbox: bool = False,
    ) -> JSON:
        """Store a credential encrypted; the answer holds a masked hint, never the secret."""
        body: JSON = {"name": name, "exchange": exchange, "api_key": api_key, "secret": secret}
        body["sandbox"] = sandbox
        if password is not None:
            body["password"] = password
        result: JSON = self._json("POST", "/credentials", json=body)
        return result

    def credentials(self) -> list[JSON]:
        result: list[JSON] = self._json("GET", "/credentials")
        return result

    def credential(self, credential_id: int) -> JSON:
        result: JSON = self._json("GET", f"/credentials/{credential_id}")
        return result

    def update_credential(self, credential_id: int, **changes: Any) -> JSON:
        """Rename (``name``), ``sandbox``, or rotate (``api_key`` with ``secret``)."""
        result: JSON = self._json("PUT", f"/credentials/{credential_id}", json=changes)
        return result

    def delete_credential(self, credential_id: int) -> None:
        self.request("DELETE", f"/credentials/{credential_id}")

    def test_credential(self, credential_id: int, allow_withdraw: bool = False) -> JSON:
        """Check with the exchange; status 'refused' for withdrawal rights without override."""
        body = {"allow_withdraw": allow_withdraw}
        result: JSON = self._json("POST", f"/credentials/{credential_id}/test", json=body)
        return result

    # ---- proposals (approval mode) -----------------------------------------------------

    def proposals(self, status: str | None = None, limit: int = 100) -> list[JSON]:
        result: list[JSON] = self._json(
            "GET", "/proposals", params={"status": status, "limit": limit}
        )
        return result

    def proposal(self, proposal_id: str) -> JSON:
        result: JSON = self._json("GET", f"/proposals/{proposal_id}")
        return result

    def approve_proposal(self, proposal_id: str, reason: str | None = None) -> JSON:
        """``{"executed_now": bool, "proposal": {...}}``; 409 if expired/rejected/failed."""
        body = {"reason": reason} if reason else None
        result: JSON = self._json("POST", f"/proposals/{proposal_id}/approve", json=body)
        return result

    def reject_proposal(self, proposal_id: str, reason: str | None = None) -> JSON:
        body = {"reason": reason} if reason else None
        result: JSON = self._json("POST", f"/proposals/{proposal_id}/reject", json=body)
        return result


def _error(response: httpx.Response) -> SigmaxAPIError:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    if not isinstance(body, dict):
        body = {"detail": body}
    cls = RateLimitedError if response.status_code == 429 else SigmaxAPIError
    return cls(
        response.status_code,
        str(body.get("code", "http_error")),
        body.get("detail"),
        body.get("request_id") or response.headers.get("X-Request-ID"),
        response.headers,
    )
