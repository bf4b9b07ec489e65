"""Execution: the order state machine, the paper exchange and the ccxt adapter."""

from sigmax.execution.ccxt_venue import CcxtVenue
from sigmax.execution.config import CcxtVenueConfig, PaperExchangeConfig
from sigmax.execution.credentials import (
    CredentialsProvider,
    EnvCredentialsProvider,
    ExchangeCredentials,
)
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

__all__ = [
    "TRANSITIONS",
    "CcxtVenue",
    "CcxtVenueConfig",
    "CredentialsError",
    "CredentialsProvider",
    "EnvCredentialsProvider",
    "ExchangeCredentials",
    "ExecutionError",
    "ExecutionVenue",
    "IllegalTransitionError",
    "InvalidFillError",
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
    "VenueNetworkError",
    "can_transition",
    "check_transition",
]
