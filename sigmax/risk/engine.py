"""The risk engine: every order in backtest, paper and live trading passes :meth:`check`."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from pydantic import ValidationError

from sigmax.errors import InvalidInputError
from sigmax.model import Decision, Fill, OrderRequest, RiskVerdict, utc_now
from sigmax.risk.audit import AuditTrail
from sigmax.risk.audit_payloads import check_payload, decision_payload
from sigmax.risk.breakers import DAILY_LOSS, DRAWDOWN, NEW_DAY, OK, EquityMonitor
from sigmax.risk.config import RiskConfig
from sigmax.risk.context import RiskContext, datetime_to_ns, ns_to_datetime, order_impact
from sigmax.risk.rules import (
    PRICE_AND_SIZE_RULES,
    OrderRateLimiter,
    check_emergency_order,
    check_trading_state,
)
from sigmax.risk.state import (
    DATABASE_UNAVAILABLE,
    PAUSE_CAUSES,
    STOPPED,
    RiskStateError,
    TradingState,
)
from sigmax.risk.triggers import ErrorBurst, LosingStreak, RecentFillIds, StaleData

SNAPSHOT_VERSION = 3
# version 1: before the auto-pause triggers; 2: the recent fill ids kept by the streak
_READABLE_VERSIONS = (1, 2, 3)
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
        self._streak = LosingStreak()
        self._fill_ids = RecentFillIds()
        self._errors = ErrorBurst()
        self._verdicts: Counter[str] = Counter()
        self._stale = StaleData()

    @property
    def config(self) -> RiskConfig:
        return self._config

    def verdict_counts(self) -> dict[str, Any]:
        """Checks since this engine started: approved, and refusals by failed rule (an
        order failing two rules counts once under each)."""
        rejected = {rule: n for rule, n in sorted(self._verdicts.items()) if rule != "approved"}
        return {"approved": self._verdicts["approved"], "rejected_by_rule": rejected}

    @property
    def state(self) -> TradingState:
        return self._state

    @property
    def state_reason(self) -> str:
        return self._reason

    @property
    def pause_cause(self) -> str | None:
        """What paused or killed trading (None when running): max_drawdown, daily_loss,
        slippage, losing_streak, venue_errors, stale_data (automatic); manual, panic,
        stopped, kill (operators)."""
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
        config = self._config
        ts_ns = ctx.ts_ns
        checks = (
            check_trading_state(self._state, self._reason, impact),
            *[rule(impact, config) for rule in PRICE_AND_SIZE_RULES],
            self._rate.check(ts_ns, config.max_orders_per_minute),
        )
        failed = [c.rule for c in checks if not c.passed]
        verdict = RiskVerdict(not failed, checks)
        if failed:
            self._verdicts.update(failed)
        else:
            self._rate.record(ts_ns)
            self._verdicts["approved"] += 1
        book = dict(ctx.positions_notional)  # the rest of what the payload reads is frozen
        self.audit.note("risk_check", lambda: check_payload(order, ctx, verdict, book), ctx.ts)
        return verdict

    def emergency_check(self, order: OrderRequest, ctx: RiskContext, operator: str) -> RiskVerdict:
        """The emergency path (panic): a reduce-only order that shrinks its position
        passes in every state, killed included; nothing else does. The normal rules and
        the order rate limit do not apply. Audited as ``emergency_order``."""
        _required(operator, "operator")
        check = check_emergency_order(order_impact(order, ctx))
        verdict = RiskVerdict(check.passed, (check,))
        payload = check_payload(order, ctx, verdict)
        payload.update(operator=operator, state=self._state.value)
        self.audit.append("emergency_order", payload, ctx.ts)
        return verdict

    def record_control(
        self, action: str, operator: str, details: dict[str, Any], ts: datetime | None = None
    ) -> None:
        """Audit an operator's control action (start, pause, stop, panic) and its outcome."""
        payload = {
            "action": _required(action, "action"),
            "operator": _required(operator, "operator"),
            "details": details,
        }
        self.audit.append("control", payload, ts or utc_now())

    def record_decision(self, decision: Decision) -> None:
        """Write a decision of the graph, with everything it rested on, to the audit."""
        self.audit.note("decision", decision_payload(decision), decision.ts)

    def record_decision_later(self, make: Callable[[], Decision]) -> None:
        """:meth:`record_decision` of the decision ``make`` returns (from values that
        never change), built when the audit is read on a deferred trail."""

        def build() -> tuple[dict[str, Any], datetime]:
            decision = make()
            return decision_payload(decision), decision.ts

        self.audit.note_later("decision", build)

    def record_decisions(self, decisions: list[Decision]) -> None:
        """Every decision of one step (one per symbol), in order."""
        for decision in decisions:
            self.record_decision(decision)

    # -- monitors --------------------------------------------------------------------

    def on_equity(self, ts_ns: int, equity: float) -> None:
        """Feed equity on every bar; trips the drawdown and daily-loss breakers."""
        code = self._equity.update(ts_ns, equity)
        if code != OK:
            self._on_equity_event(code, ts_ns)

    def on_equities(
        self, ts_ns: Sequence[int], equity: Sequence[float], increasing: bool = False
    ) -> None:
        """:meth:`on_equity` with each of a run of bars in turn (bars where nothing else
        happens in between: no fill, no order), in one plain loop. A caller whose times
        are ``increasing`` (after the last bar shown) lets a monitor with both breakers
        off take the run in one step: nothing can trip, only the end state matters."""
        lifts_on_new_day = self._state is TradingState.PAUSED and self._cause == "daily_loss"
        if increasing and not lifts_on_new_day and self._equity.take_unarmed(ts_ns, equity):
            return
        scan, k, n = self._equity.scan, 0, len(equity)
        while k < n:
            lifts_on_new_day = self._state is TradingState.PAUSED and self._cause == "daily_loss"
            k, code = scan(ts_ns, equity, k, not lifts_on_new_day)
            if code != OK:
                self._on_equity_event(code, ts_ns[k - 1])

    def on_equity_run(self, ts_ns: np.ndarray, equity: np.ndarray) -> int:
        """Feed a run of bars' equity at once, as :meth:`on_equity` would one by one,
        up to the first bar at which something would happen (a breaker trips, a new
        day lifts a daily-loss pause); returns how many bars were taken. The caller
        gives the next bar to :meth:`on_equity`."""
        lifts_on_new_day = self._state is TradingState.PAUSED and self._cause == "daily_loss"
        return self._equity.quiet_run(ts_ns, equity, new_day_is_quiet=not lifts_on_new_day)

    def on_fill(self, fill: Fill) -> bool:
        """Slippage monitor and losing streak: pause when one fill's adverse slippage
        (``Fill.slippage``: against the price it was expected to fill at, or the
        decision price when the venue gave none) exceeds its limit, or when the trades
        in a row that lost reach theirs.

        A fill id seen recently (a retried call, a bar replayed after a restart)
        changes nothing: False; a new fill: True."""
        if not self._fill_ids.add(fill.fill_id):
            return False
        slippage = fill.slippage
        self._slippage.append(slippage)
        self._streak.on_fill(fill)
        limit = self._config.max_slippage_pct
        if limit is not None and slippage > limit and self._running:
            # judged on the price the fill was expected at (before the venue's costs),
            # so a gap from the decision's close to the next open is not slippage
            expected = fill.expected_price
            against = (
                f"expected {expected:,.2f}"
                if expected is not None
                else f"reference {fill.reference_price:,.2f}"
            )
            reason = (
                f"max_slippage: fill {fill.fill_id} of {fill.client_order_id} slipped "
                f"{slippage:.2%} (price {fill.price:,.2f} vs {against}) > limit {limit:.2%}"
            )
            self._set_state(TradingState.PAUSED, reason, "slippage", "system", fill.ts)
        losses = self._config.max_consecutive_losses
        if losses is not None and self._streak.count >= losses and self._running:
            reason = self._streak.describe(losses)
            self._set_state(TradingState.PAUSED, reason, "losing_streak", "system", fill.ts)
        return True

    def on_venue_error(self, ts: datetime, error: str) -> None:
        """An exchange-side error (network, auth, exchange fault; not an order rejection)
        at wall-clock ``ts``: audited, and trading pauses when the last 60 s hold
        ``max_venue_errors_per_minute`` of them."""
        ts_ns = datetime_to_ns(ts)
        text = _required(error, "error")[:500]
        self._errors.record(ts_ns, text)
        self.audit.append("venue_error", {"error": text}, ts)
        limit = self._config.max_venue_errors_per_minute
        if limit is not None and self._errors.count(ts_ns) >= limit and self._running:
            reason = self._errors.describe(limit, ts_ns)
            self._set_state(TradingState.PAUSED, reason, "venue_errors", "system", ts)

    def on_market_data(self, received: datetime, bar_ts_ns: int, interval_ns: int) -> None:
        """A bar of ``interval_ns`` opening at ``bar_ts_ns`` arrived at wall-clock
        ``received``; :meth:`check_staleness` measures the silence from there."""
        self._stale.on_bar(datetime_to_ns(received), bar_ts_ns, interval_ns)

    def check_staleness(self, now: datetime | None = None) -> bool:
        """Pause when no bar arrived for more than ``stale_data_intervals`` bar intervals
        before ``now`` (wall clock); True when this call paused trading. Call it
        periodically: it must trip while no bars arrive."""
        limit = self._config.stale_data_intervals
        now = now if now is not None else utc_now()
        now_ns = datetime_to_ns(now)
        if limit is None or not self._running or not self._stale.stale(now_ns, limit):
            return False
        reason = self._stale.describe(limit, now_ns)
        self._set_state(TradingState.PAUSED, reason, "stale_data", "system", now)
        return True

    def restart_data_clock(self, now: datetime | None = None) -> None:
        """Count the data silence from ``now`` (a process restored from a snapshot: no
        session fed it meanwhile, so the old arrival time says nothing about the feed)."""
        self._stale.rearm(datetime_to_ns(now if now is not None else utc_now()))

    def triggers_status(self, now: datetime | None = None) -> dict[str, Any]:
        """Each auto-pause trigger's limit (None: off) and where it stands now."""
        now_ns = datetime_to_ns(now if now is not None else utc_now())
        cfg, stale = self._config, self._stale
        silent_s = None
        if stale.received_ns is not None:
            silent_s = round((now_ns - stale.received_ns) / 1e9, 3)
        return {
            "losing_streak": {"limit": cfg.max_consecutive_losses, "count": self._streak.count},
            "venue_errors": {
                "limit": cfg.max_venue_errors_per_minute,
                "last_60s": self._errors.count(now_ns),
            },
            "stale_data": {
                "limit_intervals": cfg.stale_data_intervals,
                "interval_s": stale.interval_ns / 1e9 if stale.interval_ns else None,
                "seconds_since_last_bar": silent_s,
            },
        }

    @property
    def _running(self) -> bool:
        return self._state is TradingState.RUNNING

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

    def pause(
        self,
        reason: str,
        operator: str = "system",
        ts: datetime | None = None,
        cause: str = "manual",
    ) -> None:
        """Pause trading: only reduce-only orders that shrink a position pass.

        ``cause`` is ``manual``, ``panic`` or ``stopped`` (a stopped session also makes
        no decisions until resumed)."""
        if cause not in PAUSE_CAUSES:
            raise InvalidInputError(
                f"pause: cause {cause!r} is not one of {', '.join(PAUSE_CAUSES)}"
            )
        if self._state is TradingState.KILLED:
            raise RiskStateError("cannot pause: kill switch engaged; release_kill first")
        self._set_state(TradingState.PAUSED, _required(reason, "reason"), cause, operator, ts)

    def resume(self, operator: str, force: bool = False, ts: datetime | None = None) -> None:
        """Resume trading (at wall-clock ``ts``, default now).

        Refused, naming each, while a cause still holds: an equity breaker,
        ``max_venue_errors_per_minute`` errors in the last 60 s, or no bar for
        ``stale_data_intervals`` intervals. ``force``
        resumes anyway: it rebases peak and day-start equity to the last equity seen,
        forgets the errors and counts the data silence from now. Every resume starts a
        new losing streak; one from a stop counts the data silence from now too."""
        _required(operator, "operator")
        if self._state is TradingState.KILLED:
            raise RiskStateError("cannot resume: kill switch engaged; release_kill first")
        if self._state is TradingState.RUNNING:
            return
        now = ts if ts is not None else utc_now()
        now_ns = datetime_to_ns(now)
        if self._cause == STOPPED:
            self._stale.rearm(now_ns)
        holding = self._holding(now_ns)
        if holding and not force:
            raise RiskStateError(
                f"cannot resume, breaker still holds: {'; '.join(holding)}; use force=True "
                "to resume anyway (rebases peak and day-start equity, forgets venue errors, "
                "counts the data silence from now)"
            )
        if force:
            if self._equity.breached() != OK:
                self._equity.rebase()
            self._errors.clear()
            self._stale.rearm(now_ns)
        self._streak.reset()
        reason = f"resumed by {operator}" + (" (forced)" if force else "")
        self._set_state(TradingState.RUNNING, reason, None, operator, now)

    def database_unavailable(self, reason: str, ts: datetime | None = None) -> bool:
        """Pause trading because the database is away (cause ``database_unavailable``);
        True when this paused it. A system already paused or killed keeps its own
        cause: only a running one is paused here."""
        if not self._running:
            return False
        text = _required(reason, "reason")
        self._set_state(TradingState.PAUSED, text, DATABASE_UNAVAILABLE, "system", ts)
        return True

    def database_back(self, ts: datetime | None = None) -> bool:
        """Lift the pause :meth:`database_unavailable` set (no other: an operator's
        pause or stop, a breaker or the kill switch stays); True when trading resumed.
        A breaker that tripped meanwhile keeps the system paused under its own cause."""
        if self._state is not TradingState.PAUSED or self._cause != DATABASE_UNAVAILABLE:
            return False
        now = ts if ts is not None else utc_now()
        now_ns = datetime_to_ns(now)
        holding = self._holding(now_ns)
        if holding:
            breached = self._equity.breached()
            cause = _CAUSE_OF.get(breached, "stale_data")
            limit = self._config.max_venue_errors_per_minute
            if breached == OK and limit is not None and self._errors.count(now_ns) >= limit:
                cause = "venue_errors"
            self._set_state(TradingState.PAUSED, "; ".join(holding), cause, "system", now)
            return False
        self._set_state(TradingState.RUNNING, "database back", None, "system", now)
        return True

    def _holding(self, now_ns: int) -> list[str]:
        """Why trading should stay paused at ``now_ns``: each cause that still holds."""
        cfg, holding = self._config, []
        breached = self._equity.breached()
        if breached != OK:
            holding.append(self._equity.describe(breached))
        errors = cfg.max_venue_errors_per_minute
        if errors is not None and self._errors.count(now_ns) >= errors:
            holding.append(self._errors.describe(errors, now_ns))
        intervals = cfg.stale_data_intervals
        if intervals is not None and self._stale.stale(now_ns, intervals):
            holding.append(self._stale.describe(intervals, now_ns))
        return holding

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
        """Change limits at run time; invalid changes raise ``InvalidInputError`` (a
        ``ValueError``) and keep the old."""
        if not changes:
            raise InvalidInputError("update_limits: no changes given")
        old = self._config
        try:
            new = RiskConfig.model_validate({**old.model_dump(), **changes})
        except ValidationError as exc:
            raise InvalidInputError(f"update_limits rejected, limits unchanged: {exc}") from exc
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
            "fill_ids": self._fill_ids.snapshot(),
            "limits": self._config.model_dump(mode="json"),
            "triggers": {
                "losing_streak": self._streak.snapshot(),
                "venue_errors": self._errors.snapshot(),
                "stale_data": self._stale.snapshot(),
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Rebuild state from :meth:`snapshot`; a malformed snapshot raises ``ValueError``
        and leaves the engine unchanged. A version 1 snapshot (before the auto-pause
        triggers) restores with fresh triggers: no streak, no errors, no bar seen."""
        try:
            parsed = _parse_snapshot(data)
            streak, errors, stale = _parse_triggers(data.get("triggers"))
            fill_ids = RecentFillIds(_parse_fill_ids(data))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"risk snapshot invalid: {exc!r}") from exc
        config, state, equity_monitor, times, slippage = parsed
        self._apply_limits(config)
        self._equity = equity_monitor
        self._state, self._reason, self._cause = state, data["state_reason"], data["pause_cause"]
        self._rate = OrderRateLimiter(times)
        self._slippage = deque(slippage, maxlen=_SLIPPAGE_HISTORY)
        self._streak, self._errors, self._stale = streak, errors, stale
        self._fill_ids = fill_ids
        self.audit.append("restore", {"state": state.value, "reason": self._reason}, utc_now())


def _parse_snapshot(
    data: dict[str, Any],
) -> tuple[RiskConfig, TradingState, EquityMonitor, list[int], list[float]]:
    if data["version"] not in _READABLE_VERSIONS:
        raise ValueError(f"version {data['version']} is not one of {_READABLE_VERSIONS}")
    config = RiskConfig.model_validate(data["limits"])
    state = TradingState(data["state"])
    if not isinstance(data["state_reason"], str):
        raise TypeError("state_reason must be a string")
    monitor = EquityMonitor(config.max_drawdown_pct, config.daily_loss_limit_pct)
    monitor.restore(data["equity"])
    times = [int(t) for t in data["order_times_ns"]]
    slippage = [float(s) for s in data["recent_slippage"]]
    return config, state, monitor, times, slippage


def _parse_triggers(data: dict[str, Any] | None) -> tuple[LosingStreak, ErrorBurst, StaleData]:
    streak, errors, stale = LosingStreak(), ErrorBurst(), StaleData()
    if data is not None:
        streak.restore(data["losing_streak"])
        errors.restore(data["venue_errors"])
        stale.restore(data["stale_data"])
    return streak, errors, stale


def _parse_fill_ids(data: dict[str, Any]) -> list[str]:
    """The recent fill ids: kept by the losing streak up to version 2, none in 1."""
    if data["version"] >= 3:
        ids = data["fill_ids"]
    elif data.get("triggers") is not None:
        ids = data["triggers"]["losing_streak"]["recent_fills"]
    else:
        ids = []
    if not all(isinstance(i, str) for i in ids):
        raise TypeError("fill ids must be strings")
    return list(ids)


def _required(value: str, name: str) -> str:
    if not value or not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value
