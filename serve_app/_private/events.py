"""The API process's event bus (one per replica process) and its health.

``event_bus()`` is what the WebSocket route subscribes to: Redis pub/sub when
``SIGMAX_REDIS_URL`` is set (every replica sees every event), else this process's
in-process bus (then only events published in this same process arrive, and
``events_health()`` says so).
"""

from __future__ import annotations

import threading
from typing import Any

from sigmax.config import Settings
from sigmax.events import EventSubscriber, build_subscriber

_bus: EventSubscriber | None = None
_lock = threading.Lock()


def event_bus() -> EventSubscriber:
    """This process's subscriber, built from the environment on first use."""
    global _bus
    with _lock:
        if _bus is None:
            settings = Settings()  # the environment at first use (not the cached get_settings)
            _bus = build_subscriber(settings.events, settings.redis)
        return _bus


def events_health() -> dict[str, Any]:
    """For the API's health endpoint: backend, ok/degraded and why, counters."""
    return event_bus().health().to_dict()
