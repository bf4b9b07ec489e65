"""structlog set-up shared by the CLI, jobs and actors."""

from __future__ import annotations

import logging
import sys

import structlog

SECRET_FIELDS = frozenset({"api_key", "apikey", "secret", "password", "passphrase"})


def redact_secret_fields(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Replace the values of fields named like credentials (api_key, secret...) by '***'."""
    for key, value in event_dict.items():
        if value is not None and isinstance(key, str) and key.lower() in SECRET_FIELDS:
            event_dict[key] = "***"
    return event_dict


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route stdlib and structlog records to stderr, as console text or JSON lines."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s", force=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redact_secret_fields,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
