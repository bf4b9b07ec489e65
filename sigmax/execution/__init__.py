"""Execution: the order state machine, the paper exchange and the ccxt adapter."""

from sigmax.execution.ccxt_venue import CcxtVenue, KeyPermissions, OrderCheck
from sigmax.execution.config import CcxtVenueConfig, PaperExchangeConfig, VenueConfig
from sigmax.execution.credentials import (
    CredentialsProvider,
    EnvCredentialsProvider,
    ExchangeCredentials,
)
from sigmax.execution.dry_run import DryRunVenue
from sigmax.execution.errors import (
    CredentialsError,
    ExecutionError,
    IllegalTransitionError,
    InvalidFillError,
    OrderConflictError,
    OverfillError,
    UnacknowledgedOrderError,
    UnknownOrderError,
    VenueAuthError,
    VenueError,
    VenueNetworkError,
    VenueRateLimitError,
    VenueRefusedError,
)
from sigmax.execution.orders import (
    TRANSITIONS,
    OrderEvent,
    OrderManager,
    can_transition,
    check_transition,
)
from sigmax.execution.paper import PaperExchange
from sigmax.execution.venue import ExecutionVenue
from sigmax.execution.venue_factory import build_venue

__all__ = [
    "TRANSITIONS",
    "CcxtVenue",
    "CcxtVenueConfig",
    "CredentialsError",
    "CredentialsProvider",
    "DryRunVenue",
    "EnvCredentialsProvider",
    "ExchangeCredentials",
    "ExecutionError",
    "ExecutionVenue",
    "IllegalTransitionError",
    "KeyPermissions",
    "InvalidFillError",
    "OrderCheck",
    "OrderConflictError",
    "OrderEvent",
    "OrderManager",
    "OverfillError",
    "PaperExchange",
    "PaperExchangeConfig",
    "UnacknowledgedOrderError",
    "UnknownOrderError",
    "VenueAuthError",
    "VenueError",
    "VenueConfig",
    "VenueNetworkError",
    "VenueRateLimitError",
    "VenueRefusedError",
    "build_venue",
    "can_transition",
    "check_transition",
]
