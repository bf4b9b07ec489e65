"""Repositories over the PostgreSQL schema (async, asyncpg, exact Decimals)."""

from sigmax.storage.repos._base import Repository, backtest_account
from sigmax.storage.repos.audit import AuditRepository, PostgresAuditSink
from sigmax.storage.repos.backtests import (
    BacktestRun,
    BacktestRunRepository,
    events_from_orders,
)
from sigmax.storage.repos.books import (
    DecisionRepository,
    PositionRepository,
    RiskEvent,
    RiskEventRepository,
)
from sigmax.storage.repos.keys import ApiKey, ApiKeyError, ApiKeyRepository, hash_key
from sigmax.storage.repos.orders import FillRepository, OrderRepository

__all__ = [
    "ApiKey",
    "ApiKeyError",
    "ApiKeyRepository",
    "AuditRepository",
    "BacktestRun",
    "BacktestRunRepository",
    "DecisionRepository",
    "FillRepository",
    "OrderRepository",
    "PositionRepository",
    "PostgresAuditSink",
    "Repository",
    "RiskEvent",
    "RiskEventRepository",
    "backtest_account",
    "events_from_orders",
    "hash_key",
]
