"""API versions: the path (``/api/v1``) or the ``Accept-Version`` / ``X-API-Version``
header picks one; unversioned legacy paths redirect (308) to the current version.

Deprecated routes answer with ``Deprecation`` (RFC 9745, an ``@epoch`` date),
``Sunset`` (RFC 8594, an HTTP date) and a ``Link`` to their successor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from fastapi import Response

API_VERSION = "1.0.0"  # the OpenAPI document's version
CURRENT = "v1"
PREFIX = f"/api/{CURRENT}"
# version -> (status, sunset); a retired version is listed but refused
VERSIONS: dict[str, tuple[str, datetime | None]] = {CURRENT: ("current", None)}
SUPPORTED = tuple(v for v, (status, _) in VERSIONS.items() if status != "retired")

# First path segments that existed unversioned; /status → 308 → /api/v1/status.
LEGACY_ROOTS = frozenset(
    {
        "health",
        "status",
        "metrics",
        "decisions",
        "orders",
        "fills",
        "positions",
        "portfolio",
        "analyze",
        "risk",
        "jobs",
        "quantum",
        "keys",
        "ws",
    }
)

# When the legacy aliases stop answering.
LEGACY_DEPRECATED_AT = datetime(2026, 1, 1, tzinfo=UTC)
LEGACY_SUNSET = datetime(2026, 12, 31, tzinfo=UTC)


def normalise(version: str) -> str | None:
    """``v1``/``V1``/``1`` → ``v1``; None when not a supported version."""
    v = version.strip().lower()
    v = v if v.startswith("v") else f"v{v}"
    return v if v in SUPPORTED else None


def unsupported_message(version: str) -> str:
    return (
        f"API version {version[:20]!r} is not supported; supported: {', '.join(SUPPORTED)} "
        "(GET /api/versions lists them)"
    )


def deprecation_headers(successor: str) -> dict[str, str]:
    """RFC 9745 ``Deprecation``, RFC 8594 ``Sunset`` and the successor ``Link``."""
    return {
        "Deprecation": f"@{int(LEGACY_DEPRECATED_AT.timestamp())}",
        "Sunset": format_datetime(LEGACY_SUNSET, usegmt=True),
        "Link": f'<{successor}>; rel="successor-version"',
    }


def mark_deprecated(response: Response, successor: str) -> None:
    for name, value in deprecation_headers(successor).items():
        response.headers[name] = value
