"""Parsing of command-line options: repeated ``k=v`` pairs, ``--data``/``--symbol`` legs
and the venue flags (``--venue``, ``--testnet``, ``--live``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sigmax.execution.config import VenueConfig


def parse_pairs(items: list[str], option: str) -> dict[str, str]:
    """``["fast=10", "slow=30"]`` → ``{"fast": "10", "slow": "30"}``; bad items are errors."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        if key.strip() in pairs:
            raise typer.BadParameter(f"{key.strip()!r} given twice", param_hint=option)
        pairs[key.strip()] = value.strip()
    return pairs


LIVE_PREFIX = "ccxt:"


def pair_data_symbols(data: list[str], symbols: list[str]) -> list[tuple[str, str | None]]:
    """Pair each ``--data`` with its ``--symbol``, in order; one live source
    (``ccxt:EXCHANGE``) takes every ``--symbol``. Refuses what cannot be paired."""
    if len(data) == 1 and len(symbols) <= 1:
        return [(data[0], symbols[0] if symbols else None)]
    duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
    if duplicates:
        raise typer.BadParameter(f"given twice: {', '.join(duplicates)}", param_hint="--symbol")
    if len(data) == 1 and data[0].startswith(LIVE_PREFIX):
        return [(data[0], symbol) for symbol in symbols]
    if len(symbols) != len(data):
        raise typer.BadParameter(
            f"--data given {len(data)} times but --symbol {len(symbols)} times; "
            "pair each --data with one --symbol, in order (a live ccxt:EXCHANGE source "
            "alone takes many --symbol)",
            param_hint="--symbol",
        )
    return list(zip(data, symbols, strict=True))


VENUE_HELP = (
    "where orders go: paper (the simulated exchange), dry-run (the exchange's real "
    "markets, nothing sent) or ccxt:EXCHANGE (orders sent to it) [default: "
    "SIGMAX_VENUE__KIND, else paper]"
)


def venue_override(venue: VenueConfig, kind: str | None, testnet: bool, live: bool) -> VenueConfig:
    """``venue`` (``Settings().venue``) with the flags ``--venue``, ``--testnet`` and
    ``--live`` applied (a flag not given keeps the setting), checked before anything
    starts: a bad value names its flag, ``--live`` needs a ccxt venue."""
    from pydantic import ValidationError

    from sigmax.execution.config import VenueConfig

    update: dict[str, object] = {}
    if kind is not None:
        update["kind"] = kind.strip()
    if testnet:
        update["testnet"] = True
    if live:
        update["live"] = True
    try:
        config = VenueConfig.model_validate(venue.model_dump() | update)
    except ValidationError as exc:
        problems = "; ".join(f"{e['msg']} (got {e['input']!r})" for e in exc.errors())
        raise typer.BadParameter(
            f"{problems}: expected paper, dry-run or ccxt:EXCHANGE (a ccxt exchange id in "
            "lower case, e.g. ccxt:binance)",
            param_hint="--venue",
        ) from None
    if config.live and not config.is_ccxt:
        raise typer.BadParameter(
            f"--live (real money) needs a live venue, --venue ccxt:EXCHANGE, but the venue is "
            f"{config.kind}; leave --live out for paper or dry-run",
            param_hint="--live",
        )
    if testnet and config.kind == "paper":
        raise typer.BadParameter(
            "--testnet applies to an exchange (--venue ccxt:EXCHANGE or dry-run), not to "
            "the paper venue",
            param_hint="--testnet",
        )
    return config
