"""The served session as several routes read it: the market an operator's action is
placed in, the last prices, the book marked at them, and the ports that trade."""

from __future__ import annotations

from decimal import Decimal

from serve_app._private.backend import Backend, Session
from serve_app.exceptions import APIError, NotFound, Unprocessable
from serve_app.schema import PortfolioOut
from sigmax.model import BarSeries, to_decimal
from sigmax.trading.manual import ManualTrading, MarketView


async def symbol_history(
    backend: Backend,
    session: Session,
    symbol: str | None,
    not_traded: type[APIError] = NotFound,
) -> BarSeries:
    """The bars so far of ``symbol`` (the session's first symbol when None);
    ``not_traded`` (404 by default) when the session does not trade it."""
    histories = await backend.histories(session)
    if symbol is None:
        return next(iter(histories.values()))
    if symbol not in histories:
        traded = ", ".join(histories)
        raise not_traded(f"symbol {symbol!r}: this session trades {traded}")
    return histories[symbol]


async def market_view(backend: Backend, session: Session, symbol: str | None = None) -> MarketView:
    """The market an operator's action on ``symbol`` is placed in (the first symbol's
    when None: the time is the same for every symbol of a step); 422 for a symbol the
    session does not trade."""
    history = await symbol_history(backend, session, symbol, Unprocessable)
    return MarketView.from_history(history, await backend.histories(session))


async def last_prices(backend: Backend, session: Session) -> dict[str, Decimal]:
    """Every symbol's last close."""
    histories = await backend.histories(session)
    return {s: to_decimal(float(h.close[-1])) for s, h in histories.items()}


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
