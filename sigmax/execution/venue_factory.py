"""Builds the execution venue a :class:`~sigmax.execution.config.VenueConfig` names.

- ``paper``: the :class:`~sigmax.execution.paper.PaperExchange`.
- ``dry-run``: a :class:`~sigmax.execution.dry_run.DryRunVenue` on the configured
  exchange; credentials are optional (without them balances cannot be read).
- ``ccxt:EXCHANGE``: a :class:`~sigmax.execution.ccxt_venue.CcxtVenue`. It is refused,
  with an error naming what is missing, when it would trade real money (off testnet)
  without the explicit ``live`` switch, when ``live`` and ``testnet`` are both set, when
  there are no credentials, when the exchange refuses them, and when the key may
  withdraw funds or may not trade.

Nothing is built half-way: every check runs before the venue is returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import ccxt

from sigmax.execution.ccxt_venue import CcxtVenue, KeyPermissions
from sigmax.execution.config import PaperExchangeConfig, VenueConfig
from sigmax.execution.credentials import CredentialsProvider, ExchangeCredentials
from sigmax.execution.dry_run import DryRunVenue
from sigmax.execution.errors import CredentialsError, ExecutionError, VenueRefusedError
from sigmax.execution.paper import PaperExchange
from sigmax.execution.venue import ExecutionVenue

log = logging.getLogger(__name__)
PermissionProbe = Callable[[CcxtVenue], KeyPermissions]


class _Fixed:
    """A credentials provider holding credentials already read."""

    def __init__(self, exchange_id: str, creds: ExchangeCredentials) -> None:
        self._exchange_id, self._creds = exchange_id, creds

    def get_exchange_credentials(self, exchange_id: str) -> ExchangeCredentials:
        if exchange_id != self._exchange_id:
            raise CredentialsError(f"no credentials for exchange {exchange_id}")
        return self._creds


def build_venue(
    config: VenueConfig,
    *,
    paper: PaperExchangeConfig | None = None,
    credentials: CredentialsProvider | None = None,
    exchange_class: type[ccxt.Exchange] | None = None,
    on_error: Callable[[str], None] | None = None,
    probe: PermissionProbe | None = None,
) -> ExecutionVenue:
    """The venue ``config`` names; raises :class:`VenueRefusedError` saying why not.

    ``probe`` asks the exchange what the key may do (default
    :meth:`CcxtVenue.permissions`, through the configured base URL).
    """
    if config.kind == "paper":
        return PaperExchange(paper)
    exchange_id, name = config.ccxt_exchange_id, config.credentials_name
    what = f"venue {config.kind}" + (f" ({exchange_id})" if config.kind == "dry-run" else "")
    if config.kind == "dry-run":
        creds = _credentials(credentials, name)
        provider = _Fixed(exchange_id, creds) if creds is not None else None
        if creds is None:
            log.warning("%s: no exchange credentials, balances cannot be read", what)
        return DryRunVenue(config.ccxt_config(), provider, paper, exchange_class=exchange_class)

    if config.live and config.testnet:
        raise VenueRefusedError(
            f"{what}: live=true and testnet=true contradict each other; choose one "
            "(SIGMAX_VENUE__LIVE / --live for real money, SIGMAX_VENUE__TESTNET / --testnet)"
        )
    if config.real_money and not config.live:
        raise VenueRefusedError(
            f"{what} trades real money: set live=true (--live, SIGMAX_VENUE__LIVE=true) to "
            "confirm, or testnet=true (--testnet, SIGMAX_VENUE__TESTNET=true) to trade on "
            "the exchange's testnet"
        )
    if credentials is None:
        raise VenueRefusedError(
            f"{what} needs exchange credentials and none are configured: store them with "
            f"`sigmax credentials add`, or set SIGMAX_EXCHANGE_{name.upper()}_API_KEY "
            f"and SIGMAX_EXCHANGE_{name.upper()}_SECRET"
        )
    try:
        creds = credentials.get_exchange_credentials(name)
    except CredentialsError as exc:
        raise VenueRefusedError(f"{what} needs exchange credentials: {exc}") from None
    venue = CcxtVenue(
        config.ccxt_config(),
        _Fixed(exchange_id, creds),
        exchange_class=exchange_class,
        on_error=on_error,
    )
    try:
        perms = (probe or CcxtVenue.permissions)(venue)
    except ExecutionError as exc:
        raise VenueRefusedError(f"{what}: could not check the key's permissions: {exc}") from None
    if perms.withdraw:
        raise VenueRefusedError(
            f"{what}: the API key may withdraw funds; SIGMAX refuses such keys. Create a key "
            "with reading and trading only, without withdrawal permission"
        )
    if perms.trade is False:
        raise VenueRefusedError(f"{what}: the API key may not trade; enable spot trading on it")
    if perms.withdraw is None and config.live:
        log.warning(
            "%s: the exchange does not say whether the key may withdraw; make sure it "
            "cannot before trading real money",
            what,
        )
    return venue


def _credentials(
    provider: CredentialsProvider | None, exchange_id: str
) -> ExchangeCredentials | None:
    if provider is None:
        return None
    try:
        return provider.get_exchange_credentials(exchange_id)
    except CredentialsError:
        return None
