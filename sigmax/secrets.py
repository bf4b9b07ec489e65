"""Secrets from Vault / OpenBao KV v2 (through hvac), with environment variables as fallback.

Configuration is :class:`~sigmax.secrets_config.SecretsConfig` (env prefix ``SIGMAX_VAULT_``).
Vault is used when an address and a login (token, or AppRole ``role_id`` + ``secret_id``) are
configured and the server answers. Otherwise every read comes from environment variables and
the switch is logged once (event ``secrets.fallback_to_env``) with its reason. After Vault was
unreachable it is tried again every ``retry_after_s`` seconds.

Layout inside the KV v2 mount (``mount_point``, default ``secret``) under ``base_path``
(default ``sigmax``), and the environment variables read instead in fallback mode:

- ``get_secret("a/b", "k")``: ``sigmax/a/b`` key ``k``; env ``SIGMAX_A_B_K``.
- ``get_api_key("openai")``: ``sigmax/api_keys/openai`` key ``api_key``;
  env ``SIGMAX_OPENAI_API_KEY``, else ``OPENAI_API_KEY``.
- ``get_database_url("postgres")``: ``sigmax/databases/postgres`` key ``dsn``;
  env ``SIGMAX_POSTGRES_DSN``.
- ``get_exchange_credentials("binance")``: ``sigmax/exchanges/binance`` keys ``api_key``,
  ``secret`` and optional ``password``; env ``SIGMAX_EXCHANGE_BINANCE_API_KEY``, ``_SECRET``,
  ``_PASSWORD`` (as :class:`~sigmax.execution.credentials.EnvCredentialsProvider`).

Environment names are ``SIGMAX_`` + path + key, upper-cased, with every run of characters other
than letters and digits turned into ``_``. While Vault is in use the environment is not read.

Values are handed out as :class:`pydantic.SecretStr` (exchange credentials as the masked
:class:`~sigmax.execution.credentials.ExchangeCredentials`); no log line, repr, exception or
health report carries a secret value.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeGuard, TypeVar

import hvac
import hvac.exceptions
import requests
import structlog
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from sigmax.errors import NotFoundError, SigmaxError, UnavailableError
from sigmax.execution.credentials import EnvCredentialsProvider, ExchangeCredentials
from sigmax.execution.errors import CredentialsError
from sigmax.secrets_config import SecretsConfig

__all__ = [
    "ExchangeCredentialsNotFoundError",
    "SecretNotFoundError",
    "SecretsAuthError",
    "SecretsBackendError",
    "SecretsError",
    "SecretsHealth",
    "SecretsManager",
    "env_var_name",
]

T = TypeVar("T")
Backend = Literal["vault", "env"]

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"
_PATH_RE = re.compile(rf"^{_SEGMENT}(/{_SEGMENT})*$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# answers that mean "the server is not there (for us) right now", as opposed to "it said no"
_UNREACHABLE: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    hvac.exceptions.VaultDown,
    hvac.exceptions.BadGateway,
)
_REFUSED = (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized)
# /sys/health codes of a server that serves requests: active, standby, performance standby
_HEALTHY_CODES = {200, 429, 473}


def _log() -> Any:
    # looked up per call so a later structlog.configure() (CLI, tests) takes effect
    return structlog.get_logger("sigmax.secrets")


# ---- errors -----------------------------------------------------------------------------


class SecretsError(SigmaxError):
    """Base class of every error the secrets manager raises; each subclass is in one category."""


class SecretNotFoundError(SecretsError, NotFoundError):
    """A secret is absent; the message names where it was looked for, never a value."""

    def __init__(
        self, message: str, *, path: str, keys: tuple[str, ...], looked_in: tuple[str, ...]
    ) -> None:
        super().__init__(message)
        self.path = path
        self.keys = keys
        self.looked_in = looked_in

    def __str__(self) -> str:
        return str(self.args[0])


class ExchangeCredentialsNotFoundError(SecretNotFoundError, CredentialsError):
    """Exchange credentials are absent; also a CredentialsError, as the execution layer expects."""


class SecretsBackendError(SecretsError, UnavailableError):
    """Vault answered, but with an error (bad request, server error, write without Vault)."""


class SecretsAuthError(SecretsBackendError):
    """Vault refused the login, or refused the token for a path (expired, revoked, no policy)."""


class _UseEnv(Exception):
    """Internal: Vault is not in use right now; read the environment."""


# ---- health -----------------------------------------------------------------------------


class SecretsHealth(BaseModel):
    """State of the secrets backend, safe to return from an API: it holds no secret value."""

    model_config = ConfigDict(frozen=True)

    backend: Backend = Field(description="where secrets are read from now: 'vault' or 'env'")
    auth_method: Literal["token", "approle", "none"] = Field(description="configured login")
    reachable: bool = Field(description="the Vault server answered its health endpoint")
    authenticated: bool = Field(description="Vault accepted our token (after login for AppRole)")
    token_ttl_s: int | None = Field(
        default=None, description="seconds left on the token; 0 means it never expires"
    )
    token_renewable: bool | None = Field(default=None, description="the token can be renewed")
    latency_ms: float | None = Field(default=None, description="round trip of the health probe")
    fallback_reason: str | None = Field(default=None, description="why env is used, if it is")
    error: str | None = Field(default=None, description="what went wrong while Vault is in use")


# ---- manager ----------------------------------------------------------------------------


class SecretsManager:
    """Reads (and for operators writes) secrets in Vault / OpenBao KV v2, else the environment.

    Satisfies :class:`sigmax.execution.credentials.CredentialsProvider`. Thread-safe: one lock
    guards the client, the login state and the cache. ``clock`` (monotonic seconds) drives the
    cache TTL, the AppRole token expiry and the retry delay; tests inject a fake one.
    """

    def __init__(
        self,
        config: SecretsConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config if config is not None else SecretsConfig()
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._lock = threading.RLock()
        self._cache: dict[str, tuple[float, dict[str, SecretStr]]] = {}
        self._client: hvac.Client | None = None
        self._logged_in = False
        self._token_expires_at: float | None = None
        self._fallback_reason: str | None = self._config.not_configured_reason
        self._fallback_logged = False
        self._retry_at: float | None = None

    def __repr__(self) -> str:
        c = self._config
        return (
            f"SecretsManager(addr={c.addr!r}, mount_point={c.mount_point!r}, "
            f"base_path={c.base_path!r}, auth={c.auth_method!r}, backend={self.backend!r})"
        )

    __str__ = __repr__

    @property
    def config(self) -> SecretsConfig:
        """The configuration this manager was built with."""
        return self._config

    @property
    def backend(self) -> Backend:
        """Where the last decision sent reads: 'env' while falling back, else 'vault'."""
        return "env" if self._fallback_reason is not None else "vault"

    @property
    def fallback_reason(self) -> str | None:
        """Why reads come from the environment, or None while Vault is in use."""
        return self._fallback_reason

    def close(self) -> None:
        """Drop the HTTP session and the cache; the manager reconnects on next use."""
        with self._lock:
            if self._client is not None:
                self._client.adapter.close()
            self._client = None
            self._logged_in = False
            self._cache.clear()

    # ---- public reads -------------------------------------------------------------------

    def get_secret(self, path: str, key: str) -> SecretStr:
        """The value of ``key`` in the secret at ``path`` (relative to ``base_path``)."""
        _check_key(key)
        return self._lookup(path, key, (env_var_name(path, key),))

    def get_api_key(self, name: str) -> SecretStr:
        """API key of a service: ``api_keys/<name>:api_key``, or ``SIGMAX_<NAME>_API_KEY``."""
        _check_name(name, "api key name")
        part = _env_part(name)
        return self._lookup(
            f"api_keys/{name}", "api_key", (f"SIGMAX_{part}_API_KEY", f"{part}_API_KEY")
        )

    def get_database_url(self, name: str) -> SecretStr:
        """DSN of a database: ``databases/<name>:dsn``, or ``SIGMAX_<NAME>_DSN``."""
        _check_name(name, "database name")
        return self._lookup(f"databases/{name}", "dsn", (f"SIGMAX_{_env_part(name)}_DSN",))

    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        """Credentials of an exchange account: ``exchanges/<id>``, or ``SIGMAX_EXCHANGE_<ID>_*``.

        Raises :class:`ExchangeCredentialsNotFoundError` (a ``CredentialsError``) when the key
        or secret is missing.
        """
        prefix = EnvCredentialsProvider.variable_prefix(exchange_id)
        path = f"exchanges/{exchange_id}"
        with self._lock:
            try:
                data = self._read_vault(path) or {}
            except _UseEnv:
                env = {
                    k: SecretStr(self._environ[prefix + k.upper()])
                    for k in ("api_key", "secret", "password")
                    if self._environ.get(prefix + k.upper())
                }
                missing = [k for k in ("api_key", "secret") if k not in env]
                if missing:
                    names = tuple(prefix + k.upper() for k in missing)
                    raise ExchangeCredentialsNotFoundError(
                        f"exchange {exchange_id}: environment variable(s) unset: "
                        f"{', '.join(names)} (secrets backend is env: {self._fallback_reason})",
                        path=path,
                        keys=tuple(missing),
                        looked_in=names,
                    ) from None
                return _exchange_credentials(env)
            missing = [k for k in ("api_key", "secret") if not _nonempty(data.get(k))]
            if missing:
                where = self._vault_location(path)
                raise ExchangeCredentialsNotFoundError(
                    f"exchange {exchange_id}: key(s) {', '.join(missing)} not found in vault "
                    f"secret {where}",
                    path=path,
                    keys=tuple(missing),
                    looked_in=(where,),
                )
            return _exchange_credentials(data)

    # ---- writes and cache ---------------------------------------------------------------

    def put_secret(self, path: str, data: Mapping[str, str | SecretStr]) -> None:
        """Write ``data`` as a new version of the secret at ``path`` (replacing all its keys).

        Needs Vault: raises :class:`SecretsBackendError` in env-fallback mode.
        """
        if not data:
            raise ValueError(f"put_secret({path!r}): data is empty")
        for key in data:
            _check_key(key)
        plain = {
            k: v.get_secret_value() if isinstance(v, SecretStr) else str(v) for k, v in data.items()
        }
        full = self._full_path(path)
        with self._lock:
            try:
                self._request(
                    f"write {self._vault_location(path)}",
                    lambda c: c.secrets.kv.v2.create_or_update_secret(
                        path=full, secret=plain, mount_point=self._config.mount_point
                    ),
                )
            except _UseEnv:
                raise SecretsBackendError(
                    f"cannot write secret {path!r}: vault is not in use ({self._fallback_reason})"
                ) from None
            finally:
                self._cache.pop(full, None)

    def vault_call(self, what: str, call: Callable[[hvac.Client], T]) -> T:
        """Run ``call`` on the logged-in client, for engines beyond KV (e.g. transit).

        Same login, retry and error mapping as the KV reads, but no env fallback: raises
        :class:`SecretsBackendError` when Vault is not in use. ``InvalidPath`` (404) passes.
        """
        with self._lock:
            try:
                return self._request(what, call)
            except _UseEnv:
                raise SecretsBackendError(
                    f"cannot {what}: vault is not in use ({self._fallback_reason})"
                ) from None

    def invalidate(self, path: str | None = None) -> None:
        """Forget the cached secret at ``path`` (relative to ``base_path``), or every one."""
        with self._lock:
            if path is None:
                self._cache.clear()
            else:
                self._cache.pop(self._full_path(path), None)

    # ---- health and tokens --------------------------------------------------------------

    def health(self) -> SecretsHealth:
        """Probe Vault now (health endpoint, then token lookup) and report; never raises."""
        cfg = self._config
        with self._lock:
            not_configured = cfg.not_configured_reason
            if not_configured is not None:
                self._note_fallback(not_configured)
                return SecretsHealth(
                    backend="env",
                    auth_method=cfg.auth_method,
                    reachable=False,
                    authenticated=False,
                    fallback_reason=not_configured,
                )
            client = self._get_client()
            start = time.perf_counter()
            try:
                answer = client.sys.read_health_status(method="GET")
            except requests.exceptions.SSLError as exc:
                return SecretsHealth(
                    backend=self.backend,
                    auth_method=cfg.auth_method,
                    reachable=False,
                    authenticated=False,
                    fallback_reason=self._fallback_reason,
                    error=str(self._tls_error(exc)),
                )
            except _UNREACHABLE as exc:
                reason = self._unreachable_reason(exc)
                self._enter_fallback(reason)
                return SecretsHealth(
                    backend="env",
                    auth_method=cfg.auth_method,
                    reachable=False,
                    authenticated=False,
                    fallback_reason=reason,
                )
            latency_ms = (time.perf_counter() - start) * 1000.0
            status = 200 if isinstance(answer, dict) else int(answer.status_code)
            if status not in _HEALTHY_CODES:
                reason = f"vault at {cfg.addr} is not serving (health status {status})"
                self._enter_fallback(reason)
                return SecretsHealth(
                    backend="env",
                    auth_method=cfg.auth_method,
                    reachable=True,
                    authenticated=False,
                    latency_ms=latency_ms,
                    fallback_reason=reason,
                )
            self._leave_fallback()
            try:
                info = self._request("look up the token", lambda c: c.auth.token.lookup_self())
            except (SecretsError, _UseEnv) as exc:
                return SecretsHealth(
                    backend=self.backend,
                    auth_method=cfg.auth_method,
                    reachable=True,
                    authenticated=False,
                    latency_ms=latency_ms,
                    fallback_reason=self._fallback_reason,
                    error=str(exc),
                )
            data = info["data"]
            return SecretsHealth(
                backend="vault",
                auth_method=cfg.auth_method,
                reachable=True,
                authenticated=True,
                token_ttl_s=int(data.get("ttl") or 0),
                token_renewable=bool(data.get("renewable")),
                latency_ms=latency_ms,
            )

    def renew_token_if_needed(self, min_ttl_s: float) -> bool:
        """Renew the token (or log in again with AppRole) when under ``min_ttl_s`` seconds remain.

        Returns True when a renewal or a new login happened. A token that never expires, a
        backend that is not Vault, or a non-renewable token without AppRole gives False (the
        last one also logs ``secrets.token_expiring``).
        """
        with self._lock:
            try:
                data = self._request("look up the token", lambda c: c.auth.token.lookup_self())[
                    "data"
                ]
            except _UseEnv:
                return False
            ttl = int(data.get("ttl") or 0)
            if ttl == 0 or ttl >= min_ttl_s:
                return False
            if data.get("renewable"):
                answer = self._request("renew the token", lambda c: c.auth.token.renew_self())
                lease = int(answer["auth"]["lease_duration"])
                if self._config.auth_method == "approle":
                    self._token_expires_at = self._clock() + lease if lease else None
                _log().info("secrets.token_renewed", token_ttl_s=lease)
                return True
            if self._config.auth_method == "approle":
                self._request("log in again", self._approle_login)
                return True
            _log().warning("secrets.token_expiring", token_ttl_s=ttl, renewable=False)
            return False

    # ---- internals: reads ---------------------------------------------------------------

    def _lookup(self, path: str, key: str, env_names: tuple[str, ...]) -> SecretStr:
        with self._lock:
            try:
                data = self._read_vault(path)
            except _UseEnv:
                for name in env_names:
                    if self._environ.get(name):
                        return SecretStr(self._environ[name])
                raise SecretNotFoundError(
                    f"secret {path!r} key {key!r} not found: environment variable(s) "
                    f"{', '.join(env_names)} unset (secrets backend is env: "
                    f"{self._fallback_reason})",
                    path=path,
                    keys=(key,),
                    looked_in=env_names,
                ) from None
            where = self._vault_location(path)
            found = None if data is None else data.get(key)
            if not _nonempty(found):
                detail = "no secret at that path" if data is None else f"keys there: {sorted(data)}"
                raise SecretNotFoundError(
                    f"secret key {key!r} not found in vault at {where} ({detail})",
                    path=path,
                    keys=(key,),
                    looked_in=(where,),
                )
            return found

    def _read_vault(self, path: str) -> dict[str, SecretStr] | None:
        """The secret's data from cache or Vault, None when absent; raises _UseEnv."""
        full = self._full_path(path)
        now = self._clock()
        cached = self._cache.get(full)
        if cached is not None and now < cached[0]:
            return cached[1]
        try:
            answer = self._request(
                f"read {self._vault_location(path)}",
                lambda c: c.secrets.kv.v2.read_secret_version(
                    path=full, mount_point=self._config.mount_point, raise_on_deleted_version=True
                ),
            )
        except hvac.exceptions.InvalidPath:
            self._cache.pop(full, None)
            return None
        raw = answer["data"]["data"] or {}
        data = {
            str(k): SecretStr(v if isinstance(v, str) else json.dumps(v)) for k, v in raw.items()
        }
        if self._config.cache_ttl_s > 0:
            self._cache[full] = (now + self._config.cache_ttl_s, data)
        return data

    def _full_path(self, path: str) -> str:
        if not isinstance(path, str) or not _PATH_RE.match(path.strip("/")):
            raise ValueError(
                f"secret path {path!r} is invalid: use segments of letters, digits, '_', '-', '.' "
                "separated by '/', none of them '.' or '..'"
            )
        parts = [p for p in (self._config.base_path, path.strip("/")) if p]
        return "/".join(parts)

    def _vault_location(self, path: str) -> str:
        return f"{self._config.mount_point}/{self._full_path(path)}"

    # ---- internals: Vault connection ----------------------------------------------------

    def _get_client(self) -> hvac.Client:
        if self._client is None:
            cfg = self._config
            verify: bool | str = cfg.verify
            if cfg.verify and cfg.ca_cert is not None:
                verify = str(cfg.ca_cert)
            token = (
                cfg.token.get_secret_value() if cfg.auth_method == "token" and cfg.token else None
            )
            # token="" rather than None: hvac would read VAULT_TOKEN / ~/.vault-token itself
            self._client = hvac.Client(
                url=cfg.addr, token=token or "", verify=verify, timeout=cfg.timeout_s
            )
        return self._client

    def _request(self, what: str, call: Callable[[hvac.Client], T]) -> T:
        """Run ``call`` against a logged-in client; maps failures to our errors or _UseEnv.

        hvac.exceptions.InvalidPath (404) passes through for the caller to handle.
        """
        client = self._active_client()
        try:
            try:
                return call(client)
            except _REFUSED as exc:
                if self._config.auth_method != "approle":
                    raise SecretsAuthError(
                        f"vault refused the token to {what}: it is expired, revoked, or lacks a "
                        f"policy for this path ({_vault_error_text(exc)})"
                    ) from None
                # the AppRole token may have expired or been revoked: log in once more
                self._approle_login(client)
                try:
                    return call(client)
                except _REFUSED as again:
                    raise SecretsAuthError(
                        f"vault refused a fresh AppRole token to {what}: its policies do not "
                        f"allow it ({_vault_error_text(again)})"
                    ) from None
        except requests.exceptions.SSLError as exc:
            raise self._tls_error(exc) from None
        except _UNREACHABLE as exc:
            self._enter_fallback(self._unreachable_reason(exc))
            raise _UseEnv from None
        except hvac.exceptions.InvalidPath:
            raise
        except hvac.exceptions.VaultError as exc:
            raise SecretsBackendError(f"vault failed to {what}: {_vault_error_text(exc)}") from None

    def _active_client(self) -> hvac.Client:
        """The logged-in client, or _UseEnv when Vault is not configured or not reachable now."""
        cfg = self._config
        not_configured = cfg.not_configured_reason
        if not_configured is not None:
            self._note_fallback(not_configured)
            raise _UseEnv
        if self._fallback_reason is not None and (
            self._retry_at is None or self._clock() < self._retry_at
        ):
            raise _UseEnv
        client = self._get_client()
        expired = self._token_expires_at is not None and self._clock() >= self._token_expires_at
        if not self._logged_in or expired:
            try:
                if cfg.auth_method == "approle":
                    self._approle_login(client)
                else:
                    client.auth.token.lookup_self()
                    self._logged_in = True
            except requests.exceptions.SSLError as exc:
                raise self._tls_error(exc) from None
            except _UNREACHABLE as exc:
                self._enter_fallback(self._unreachable_reason(exc))
                raise _UseEnv from None
            except _REFUSED as exc:
                raise SecretsAuthError(
                    f"vault at {cfg.addr} refused the configured token "
                    f"(SIGMAX_VAULT_TOKEN / VAULT_TOKEN / BAO_TOKEN): {_vault_error_text(exc)}"
                ) from None
            except hvac.exceptions.VaultError as exc:
                raise SecretsBackendError(
                    f"vault at {cfg.addr} failed to check the login: {_vault_error_text(exc)}"
                ) from None
        self._leave_fallback()
        return client

    def _approle_login(self, client: hvac.Client) -> None:
        cfg = self._config
        assert cfg.role_id is not None and cfg.secret_id is not None
        try:
            answer = client.auth.approle.login(
                role_id=cfg.role_id.get_secret_value(),
                secret_id=cfg.secret_id.get_secret_value(),
                mount_point=cfg.approle_mount,
            )
        except (hvac.exceptions.InvalidRequest, *_REFUSED) as exc:
            self._logged_in = False
            raise SecretsAuthError(
                f"vault at {cfg.addr} refused the AppRole login at auth/{cfg.approle_mount} "
                f"(check SIGMAX_VAULT_ROLE_ID / SIGMAX_VAULT_SECRET_ID): {_vault_error_text(exc)}"
            ) from None
        lease = int(answer["auth"]["lease_duration"])
        self._token_expires_at = self._clock() + lease if lease else None
        self._logged_in = True
        _log().info("secrets.approle_login", mount=cfg.approle_mount, token_ttl_s=lease)

    # ---- internals: fallback bookkeeping ------------------------------------------------

    def _tls_error(self, exc: BaseException) -> SecretsBackendError:
        # a certificate that does not verify is a configuration (or interception) problem,
        # not an outage: say so rather than quietly switching to the environment
        return SecretsBackendError(
            f"TLS to vault at {self._config.addr} failed (set SIGMAX_VAULT_CA_CERT to the CA "
            f"bundle, or SIGMAX_VAULT_VERIFY=false for a test server): {str(exc)[:300]}"
        )

    def _unreachable_reason(self, exc: BaseException) -> str:
        text = _vault_error_text(exc) if isinstance(exc, hvac.exceptions.VaultError) else str(exc)
        return f"vault at {self._config.addr} unreachable: {type(exc).__name__}: {text[:300]}"

    def _note_fallback(self, reason: str) -> None:
        self._fallback_reason = reason
        if not self._fallback_logged:
            self._fallback_logged = True
            _log().warning("secrets.fallback_to_env", reason=reason)

    def _enter_fallback(self, reason: str) -> None:
        self._logged_in = False
        self._retry_at = self._clock() + self._config.retry_after_s
        self._note_fallback(reason)

    def _leave_fallback(self) -> None:
        if self._fallback_reason is not None:
            _log().info("secrets.vault_reachable_again", addr=self._config.addr)
        self._fallback_reason = None
        self._fallback_logged = False
        self._retry_at = None


# ---- helpers ----------------------------------------------------------------------------


def env_var_name(path: str, key: str) -> str:
    """The environment variable that stands in for ``key`` of the secret at ``path``."""
    return f"SIGMAX_{_env_part(path)}_{_env_part(key)}"


def _env_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise ValueError(f"secret key {key!r} is invalid: use letters, digits, '_', '-', '.'")


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{what} {name!r} is invalid: use letters, digits, '_', '-'")


def _nonempty(value: SecretStr | None) -> TypeGuard[SecretStr]:
    return value is not None and bool(value.get_secret_value())


def _exchange_credentials(data: Mapping[str, SecretStr]) -> ExchangeCredentials:
    password = data.get("password")
    return ExchangeCredentials(
        api_key=data["api_key"].get_secret_value(),
        secret=data["secret"].get_secret_value(),
        password=password.get_secret_value() if _nonempty(password) else None,
    )


def _vault_error_text(exc: BaseException) -> str:
    # hvac's message is "<errors>, on <method> <url>": Vault's error list, never request data
    return str(exc) or type(exc).__name__
