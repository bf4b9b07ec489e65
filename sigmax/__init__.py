"""SIGMAX: autonomous multi-agent crypto trading, domain library (no Ray imports)."""

__version__ = "0.1.0"
