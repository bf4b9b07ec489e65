"""Parsing of repeated command-line options: ``k=v`` pairs and ``--data``/``--symbol`` legs."""

from __future__ import annotations

import typer


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
