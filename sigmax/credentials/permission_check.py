"""Asks the exchange, through ccxt, what a set of credentials may do.

Binance (live) answers its API-restrictions endpoint (``sapiGetAccountApiRestrictions``:
``enableReading``, ``enableSpotAndMarginTrading``, ``enableWithdrawals``). Other exchanges,
and Binance's testnet (which has no ``sapi`` endpoints), tell only whether a private call
works: a balance that loads means ``read``; ``trade`` and ``withdraw`` stay unknown (None).
Error messages are redacted: no credential value leaves this module in text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import ccxt

from sigmax.credentials.model import Permissions
from sigmax.errors import InvalidInputError, SigmaxError, UnavailableError
from sigmax.execution.ccxt_venue import _RedactingLogger, _Redactor
from sigmax.execution.credentials import ExchangeCredentials

TIMEOUT_MS = 10_000


class PermissionCheckError(SigmaxError):
    """The exchange could not tell what the credentials may do; each subclass is in one
    category."""


class UnsupportedExchangeError(PermissionCheckError, InvalidInputError):
    """ccxt has no such exchange, or no sandbox (testnet) for it."""


class CredentialsRejectedError(PermissionCheckError, InvalidInputError):
    """The exchange refused the credentials (wrong key, revoked, IP not allowed...)."""


class ExchangeUnavailableError(PermissionCheckError, UnavailableError):
    """The exchange could not be reached, did not answer in time, or answered with an
    error other than a refusal."""


def check_permissions(
    exchange_id: str,
    sandbox: bool,
    credentials: ExchangeCredentials,
    exchange_class: type[ccxt.Exchange] | None = None,
) -> Permissions:
    """What ``credentials`` may do on ``exchange_id``; raises :class:`PermissionCheckError`."""
    exchange = _build(exchange_id, sandbox, credentials, exchange_class)
    try:
        if exchange_id == "binance" and not sandbox:
            return _binance_restrictions(exchange.sapiGetAccountApiRestrictions())
        exchange.fetch_balance()
        return Permissions(read=True)
    except ccxt.BaseError as exc:
        raise _translate(exc, exchange_id, credentials) from None


def _build(
    exchange_id: str,
    sandbox: bool,
    credentials: ExchangeCredentials,
    exchange_class: type[ccxt.Exchange] | None,
) -> ccxt.Exchange:
    cls = exchange_class or getattr(ccxt, exchange_id, None)
    if not (isinstance(cls, type) and issubclass(cls, ccxt.Exchange)):
        raise UnsupportedExchangeError(f"ccxt has no exchange with id {exchange_id!r}")
    params: dict[str, Any] = {
        "apiKey": credentials.api_key,
        "secret": credentials.secret,
        "timeout": TIMEOUT_MS,
        "enableRateLimit": True,
    }
    if credentials.password is not None:
        params["password"] = credentials.password
    exchange = cls(params)
    # ccxt logs each request's headers (the api key among them) at DEBUG: redact them
    redact = _Redactor(credentials.values())
    exchange.logger = _RedactingLogger(logging.getLogger(f"{__name__}.http"), redact)
    if sandbox:
        try:
            exchange.set_sandbox_mode(True)
        except ccxt.NotSupported:
            raise UnsupportedExchangeError(
                f"{exchange_id} has no sandbox (testnet) in ccxt"
            ) from None
    return exchange


def _binance_restrictions(answer: Mapping[str, Any]) -> Permissions:
    def flag(key: str) -> bool | None:
        value = answer.get(key)
        return value if isinstance(value, bool) else None

    return Permissions(
        read=flag("enableReading"),
        trade=flag("enableSpotAndMarginTrading"),
        withdraw=flag("enableWithdrawals"),
    )


def _translate(
    exc: ccxt.BaseError, exchange_id: str, credentials: ExchangeCredentials
) -> PermissionCheckError:
    text = _Redactor(credentials.values())(f"{exchange_id}: {type(exc).__name__}: {exc}")[:500]
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return CredentialsRejectedError(f"the exchange refused the credentials: {text}")
    if isinstance(exc, ccxt.NetworkError):
        return ExchangeUnavailableError(f"the exchange did not answer: {text}")
    return ExchangeUnavailableError(f"the exchange could not check the credentials: {text}")
