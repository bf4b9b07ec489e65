"""Symbol spellings: ``BTC/USD``, ``BTC-USD``, ``BTC_USD`` and ``BTCUSD`` name one market."""

from __future__ import annotations

import re

# Longest first, so that ``BTCUSDT`` splits as BTC/USDT and not BTCUSD/T.
_QUOTES = (
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "FDUSD",
    "DAI",
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "AUD",
    "CAD",
    "CHF",
    "KRW",
    "TRY",
    "BTC",
    "ETH",
    "BNB",
)
_SEPARATORS = re.compile(r"[/\-_:]")


def canonical_symbol(symbol: str) -> str:
    """``BASE/QUOTE`` in upper case when the quote can be told; else the upper-cased input."""
    text = symbol.strip().upper()
    parts = [p for p in _SEPARATORS.split(text) if p]
    if len(parts) >= 2:
        return f"{parts[0]}/{parts[1]}"
    for quote in _QUOTES:
        if text.endswith(quote) and len(text) > len(quote):
            return f"{text[: -len(quote)]}/{quote}"
    return text


def symbol_key(symbol: str) -> str:
    """A comparison key: upper case without separators (``btc-usd`` -> ``BTCUSD``)."""
    return _SEPARATORS.sub("", canonical_symbol(symbol))


def base_of(symbol: str) -> str:
    """The base currency of a symbol (``BTC`` of ``BTC/USD``)."""
    return canonical_symbol(symbol).split("/")[0]


def same_symbol(a: str, b: str) -> bool:
    """Whether two spellings name the same market; a bare base (``ETH``) matches its pairs."""
    ka, kb = canonical_symbol(a), canonical_symbol(b)
    if "/" in ka and "/" in kb:
        return symbol_key(ka) == symbol_key(kb)
    return base_of(ka) == base_of(kb)


def guess_symbol_from_name(name: str, base: str | None = None) -> str | None:
    """A ``BASE/QUOTE`` found in a file name such as ``gymcrypto_ETHUSD_30m.csv``."""
    for token in re.split(r"[\s_.]+", name.upper()):
        symbol = canonical_symbol(token)
        if "/" in symbol and (base is None or symbol.split("/")[0] == base.upper()):
            return symbol
    return None
