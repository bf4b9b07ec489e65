"""structlog set-up shared by the CLI, jobs, the API and actors.

structlog events and stdlib ``logging`` records go through one chain of processors
to stderr, one line each: coloured console text, or JSON objects (``event``,
``level``, ``timestamp``, ``logger`` and whatever was bound, e.g. ``request_id``).
Values bound with ``structlog.contextvars`` (the API binds ``request_id`` and
``key_id`` per request; traced actor methods bind the caller's ``request_id``) appear
on every line logged in that context.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO, cast

import structlog


def _stderr() -> TextIO:
    """``sys.stderr`` now; in a Ray Serve replica, the stream Serve's redirect wraps.

    Serve replaces a replica's ``sys.stderr`` by a ``StreamToLogger`` that logs every
    line again through Serve's own logger, walking the whole stack per line to name a
    caller (about a tenth of the API replica's CPU under load, for its access lines).
    Our lines are formatted already: they go to the stream it wraps, the worker's
    stderr, which Ray keeps as it keeps every worker's.
    """
    stream = sys.stderr
    if type(stream).__name__ == "StreamToLogger":
        wrapped = getattr(stream, "_original_object", None)
        if wrapped is not None:
            return cast(TextIO, wrapped)
    return stream


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time (Ray workers and test
    capture replace it), not to the stream that was current at set-up."""

    def write(self, text: str) -> int:
        return _stderr().write(text)

    def flush(self) -> None:
        _stderr().flush()


SECRET_FIELDS = frozenset({"api_key", "apikey", "secret", "password", "passphrase"})


def redact_secret_fields(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Replace the values of fields named like credentials (api_key, secret...) by '***'."""
    for key, value in event_dict.items():
        if value is not None and isinstance(key, str) and key.lower() in SECRET_FIELDS:
            event_dict[key] = "***"
    return event_dict


def _shared_processors() -> list[structlog.types.Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        redact_secret_fields,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route structlog and stdlib records to stderr, as console text or JSON lines."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"log level {level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    tail: list[structlog.types.Processor] = (
        [
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
        ]
        if json
        else []
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_shared_processors(),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_sigmax", False)]:
        root.removeHandler(old)
    handler._sigmax = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(numeric)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            *tail,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        # loggers follow a later configure_logging (the API reconfigures at start)
        cache_logger_on_first_use=False,
    )


def configure_from_settings(json: bool | None = None) -> None:
    """:func:`configure_logging` with ``SIGMAX_LOG_LEVEL`` and ``SIGMAX_LOG_JSON``
    (``json`` overrides the latter)."""
    from sigmax.config import Settings

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json if json is None else json)
