"""Turning wanted positions into orders, the same way in backtests, paper and live."""
