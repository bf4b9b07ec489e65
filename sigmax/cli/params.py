"""Parsing of repeated ``k=v`` command-line options."""

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
