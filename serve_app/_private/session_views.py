"""The served session as several routes read it: the market an operator's action is
placed in, the last prices, the book marked at them, and the ports that trade."""

from __future__ import annotations

from decimal import Decimal

from serve_app._private.backend import Backend, Session
from serve_app.schema import PortfolioOut
from sigmax.model import to_decimal
from sigmax.trading.manual import ManualTrading, MarketView


async def market_view(backend: Backend, session: Session) -> MarketView:
    return MarketView.from_history(await backend.history(session))


async def last_prices(backend: Backend, session: Session) -> dict[str, Decimal]:
    history = await backend.history(session)
    return {history.symbol: to_decimal(float(history.close[-1]))}


async def portfolio_out(backend: Backend, session: Session) -> PortfolioOut:
    """Equity, exposure and P&L from the portfolio actor, marked at the last price."""
    prices = await last_prices(backend, session)
    book = await backend.call(session.portfolio, "summary", prices)
    held = {s: Decimal(q) for s, q in book["positions"].items()}
    exposure = sum((abs(q * prices.get(s, Decimal(0))) for s, q in held.items()), Decimal(0))
    equity = Decimal(book["equity"])
    return PortfolioOut(
        cash=Decimal(book["cash"]),
        equity=equity,
        exposure=exposure,
        exposure_pct=float(exposure / equity) if equity else 0.0,
        realized_pnl=Decimal(book["realized_pnl"]),
        unrealized_pnl=Decimal(book["unrealized_pnl"]),
        fees_paid=Decimal(book["fees_paid"]),
        fills=int(book["fills"]),
        positions=held,
        prices=prices,
    )


def manual_trading(session: Session) -> ManualTrading:
    """An operator's orders through the session's risk, execution and portfolio actors."""
    from actors.ports import ExecutionPort, PortfolioPort, RiskPort

    return ManualTrading(
        RiskPort(session.risk), ExecutionPort(session.execution), PortfolioPort(session.portfolio)
    )
