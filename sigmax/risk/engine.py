"""The risk engine: every order in backtest, paper and live trading passes :meth:`check`."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from sigmax.model import Decision, Fill, OrderRequest, RiskVerdict, utc_now
from sigmax.risk.audit import AuditTrail
from sigmax.risk.audit_payloads import check_payload, decision_payload
from sigmax.risk.breakers import DAILY_LOSS, DRAWDOWN, NEW_DAY, OK, EquityMonitor
from sigmax.risk.config import RiskConfig
from sigmax.risk.context import RiskContext, ns_to_datetime, order_impact
from sigmax.risk.rules import PRICE_AND_SIZE_RULES, OrderRateLimiter, check_trading_state
from sigmax.risk.state import RiskStateError, TradingState

SNAPSHOT_VERSION = 1
_SLIPPAGE_HISTORY = 100
_CAUSE_OF = {DRAWDOWN: "max_drawdown", DAILY_LOSS: "daily_loss"}


class RiskEngine:
    """Pre-trade checks, circuit breakers, kill switch and audit of one trading account.

    Single writer of the limits and the trading state. Time comes from the caller
    (``RiskContext.ts``, ``ts_ns``, ``Fill.ts``), so backtests run on a simulated clock.
    Manual operations stamp the audit with the wall clock unless given ``ts``.
    """

    def __init__(self, config: RiskConfig, audit: AuditTrail | None = None) -> None:
        self._config = config
        self.audit = audit if audit is not None else AuditTrail()
        self._state = TradingState.RUNNING
        self._reason = ""
        self._cause: str | None = None
        self._rate = OrderRateLimiter()
        self._equity = EquityMonitor(config.max_drawdown_pct, config.daily_loss_limit_pct)
        self._slippage: deque[float] = deque(maxlen=_SLIPPAGE_HISTORY)

    @property
    def config(self) -> RiskConfig:
        return self._config

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def state_reason(self) -> str:
        return self._reason

    @property
    def pause_cause(self) -> str | None:
        """What paused trading: max_drawdown, daily_loss, slippage, manual (None if not)."""
        return self._cause

    @property
    def peak_equity(self) -> float | None:
        return self._equity.peak if self._equity.seen else None

    @property
    def day_start_equity(self) -> float | None:
        return self._equity.day_start_equity if self._equity.seen else None

    # -- pre-trade -------------------------------------------------------------------

    def check(self, order: OrderRequest, ctx: RiskContext) -> RiskVerdict:
        """Run every rule on ``order``; approved orders count towards the rate limit."""
        impact = order_impact(order, ctx)
        checks = [check_trading_state(self._state, self._reason, impact)]
        checks.extend(rule(impact, self._config) for rule in PRICE_AND_SIZE_RULES)
        ts_ns = ctx.ts_ns
        checks.append(self._rate.check(ts_ns, self._config.max_orders_per_minute))
        verdict = RiskVerdict(all(c.passed for c in checks), tuple(checks))
        if verdict.approved:
            self._rate.record(ts_ns)
        self.audit.append("risk_check", check_payload(order, ctx, verdict), ctx.ts)
        return verdict

    def record_decision(self, decision: Decision) -> None:
        """Write a decision of the graph, with everything it rested on, to the audit."""
        self.audit.append("decision", decision_payload(decision), decision.ts)

    # -- monitors --------------------------------------------------------------------

    def on_equity(self, ts_ns: int, equity: float) -> None:
        """Feed equity on every bar; trips the drawdown and daily-loss breakers."""
        code = self._equity.update(ts_ns, equity)
        if code != OK:
            self._on_equity_event(code, ts_ns)

    def on_fill(self, fill: Fill) -> None:
        """Slippage monitor: pause when one fill's adverse slippage exceeds the limit."""
        slippage = fill.slippage
        self._slippage.append(slippage)
        limit = self._config.max_slippage_pct
        if limit is None or slippage <= limit or self._state is not TradingState.RUNNING:
            return
        reason = (
            f"max_slippage: fill {fill.fill_id} of {fill.client_order_id} slipped "
            f"{slippage:.2%} (price {fill.price:,.2f} vs reference "
            f"{fill.reference_price:,.2f}) > limit {limit:.2%}"
        )
        self._set_state(TradingState.PAUSED, reason, "slippage", "system", fill.ts)

    @property
    def recent_slippage(self) -> list[float]:
        return list(self._slippage)

    def _on_equity_event(self, code: int, ts_ns: int) -> None:
        state, cause = self._state, self._cause
        if code == NEW_DAY:
            if state is TradingState.PAUSED and cause == "daily_loss":
                reason = "new UTC day: daily loss limit reset"
                self._set_state(TradingState.RUNNING, reason, None, "system", ns_to_datetime(ts_ns))
            return
        escalate = code == DRAWDOWN and state is TradingState.PAUSED and cause != "max_drawdown"
        if state is TradingState.RUNNING or escalate:
            reason = self._equity.describe(code)
            self._set_state(
                TradingState.PAUSED, reason, _CAUSE_OF[code], "system", ns_to_datetime(ts_ns)
            )

    # -- state -----------------------------------------------------------------------

    def pause(self, reason: str, operator: str = "system", ts: datetime | None = None) -> None:
        """Pause trading: only reduce-only orders that shrink a position pass."""
        if self._state is TradingState.KILLED:
            raise RiskStateError("cannot pause: kill switch engaged; release_kill first")
        self._set_state(TradingState.PAUSED, _required(reason, "reason"), "manual", operator, ts)

    def resume(self, operator: str, force: bool = False, ts: datetime | None = None) -> None:
        """Resume trading. Refused while a breaker still holds unless ``force``, which
        rebases peak and day-start equity to the last equity seen."""
        _required(operator, "operator")
        if self._state is TradingState.KILLED:
            raise RiskStateError("cannot resume: kill switch engaged; release_kill first")
        if self._state is TradingState.RUNNING:
            return
        breached = self._equity.breached()
        if breached != OK and not force:
            raise RiskStateError(
                f"cannot resume, breaker still holds: {self._equity.describe(breached)}; "
                "use force=True to rebase peak and day-start equity"
            )
        if breached != OK:
            self._equity.rebase()
        reason = f"resumed by {operator}" + (" (forced)" if force else "")
        self._set_state(TradingState.RUNNING, reason, None, operator, ts)

    def kill(self, reason: str, operator: str = "system", ts: datetime | None = None) -> None:
        """Manual kill switch: every order is rejected until :meth:`release_kill`."""
        self._set_state(TradingState.KILLED, _required(reason, "reason"), "kill", operator, ts)

    def release_kill(self, operator: str, ts: datetime | None = None) -> None:
        """Release the kill switch into PAUSED; trading needs an explicit :meth:`resume`."""
        _required(operator, "operator")
        if self._state is not TradingState.KILLED:
            raise RiskStateError(f"release_kill: kill switch not engaged (state {self._state})")
        reason = f"kill switch released by {operator}; resume to trade"
        self._set_state(TradingState.PAUSED, reason, "manual", operator, ts)

    def _set_state(
        self,
        state: TradingState,
        reason: str,
        cause: str | None,
        operator: str,
        ts: datetime | None,
    ) -> None:
        payload = {
            "from": self._state.value,
            "to": state.value,
            "reason": reason,
            "cause": cause,
            "operator": operator,
        }
        self._state, self._reason, self._cause = state, reason, cause
        self.audit.append("state_change", payload, ts if ts is not None else utc_now())

    # -- limits ----------------------------------------------------------------------

    def update_limits(self, *, operator: str = "system", **changes: Any) -> RiskConfig:
        """Change limits at run time; invalid changes raise ``ValueError`` and keep the old."""
        if not changes:
            raise ValueError("update_limits: no changes given")
        old = self._config
        try:
            new = RiskConfig.model_validate({**old.model_dump(), **changes})
        except ValidationError as exc:
            raise ValueError(f"update_limits rejected, limits unchanged: {exc}") from exc
        self._apply_limits(new)
        before = old.model_dump(mode="json")
        after = new.model_dump(mode="json")
        diff = {k: {"old": before[k], "new": after[k]} for k in changes}
        self.audit.append("limits_change", {"operator": operator, "changes": diff}, utc_now())
        return new

    def _apply_limits(self, config: RiskConfig) -> None:
        self._config = config
        self._equity.set_limits(config.max_drawdown_pct, config.daily_loss_limit_pct)

    # -- recovery --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """JSON-able mutable state (and current limits) to rebuild the engine after restart."""
        return {
            "version": SNAPSHOT_VERSION,
            "state": self._state.value,
            "state_reason": self._reason,
            "pause_cause": self._cause,
            "equity": self._equity.snapshot(),
            "order_times_ns": self._rate.times(),
            "recent_slippage": list(self._slippage),
            "limits": self._config.model_dump(mode="json"),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Rebuild state from :meth:`snapshot`; a malformed snapshot raises ``ValueError``
        and leaves the engine unchanged."""
        try:
            parsed = _parse_snapshot(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"risk snapshot invalid: {exc!r}") from exc
        config, state, equity_monitor, times, slippage = parsed
        self._apply_limits(config)
        self._equity = equity_monitor
        self._state, self._reason, self._cause = state, data["state_reason"], data["pause_cause"]
        self._rate = OrderRateLimiter(times)
        self._slippage = deque(slippage, maxlen=_SLIPPAGE_HISTORY)
        self.audit.append("restore", {"state": state.value, "reason": self._reason}, utc_now())


def _parse_snapshot(
    data: dict[str, Any],
) -> tuple[RiskConfig, TradingState, EquityMonitor, list[int], list[float]]:
    if data["version"] != SNAPSHOT_VERSION:
        raise ValueError(f"version {data['version']} != {SNAPSHOT_VERSION}")
    config = RiskConfig.model_validate(data["limits"])
    state = TradingState(data["state"])
    if not isinstance(data["state_reason"], str):
        raise TypeError("state_reason must be a string")
    monitor = EquityMonitor(config.max_drawdown_pct, config.daily_loss_limit_pct)
    monitor.restore(data["equity"])
    times = [int(t) for t in data["order_times_ns"]]
    slippage = [float(s) for s in data["recent_slippage"]]
    return config, state, monitor, times, slippage


def _required(value: str, name: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value
