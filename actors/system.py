"""Starting the SIGMAX actors on a Ray cluster and running a paper session through them.

The loop (:func:`run_paper`) runs in the session's own actor (:mod:`actors.session`),
which ``sigmax paper`` and ``sigmax up`` start and follow; it stores how far it got
after each bar, so a restarted or resumed session continues after its last bar.

Data flow per bar: market-data actor → decision-graph actor (fans out to the agent
actors), or the request's ``--strategy`` asked in the driver → risk actor →
execution actor → portfolio actor, driven by the domain's
:class:`~sigmax.trading.session.TradingSession` through actor-backed ports.

Live events (decisions, proposals, orders, fills, risk state, session status) go to
an :class:`~sigmax.events.EventPublisher`: the one given, or by default Redis pub/sub
when ``SIGMAX_REDIS_URL`` is set (else the driver's in-process bus), plus NATS
JetStream when ``SIGMAX_NATS_URL`` is set.

Orders go to the venue ``Settings.venue`` names (paper by default). A venue that
cannot be built (``build_venue`` refuses it: real money without ``live``, missing
credentials, a key that may withdraw) stops :func:`start_system` before any actor
starts. On a ccxt venue the exchange account is reconciled with the stored books
before the portfolio actor starts, at every start and restart of the session: the
session refuses to start on a difference the missed fills do not explain, unless the
request adopts the venue's state (audited through the risk actor's control records).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, RayError

from actors import options
from actors.agent import AgentActor
from actors.db_outage import DEFAULT_OUTAGE_S, OutageGuard
from actors.decision_graph import DecisionGraphActor
from actors.execution import ExecutionActor
from actors.market_data import MarketDataActor
from actors.optimiser import optimise_panel_remote
from actors.options import spawn
from actors.portfolio import PortfolioActor
from actors.ports import (
    DecisionGraphPort,
    ExecutionPort,
    LiveExecutionPort,
    PortfolioPort,
    RiskPort,
)
from actors.proposals import ProposalActor, ProposalActorPort
from actors.risk import RiskActor
from actors.timeseries_store import TimeSeriesStoreActor
from sigmax.config import Settings
from sigmax.credentials.venue import VenueCredentials
from sigmax.errors import InvalidInputError
from sigmax.events import EventPublisher, build_publisher
from sigmax.events.model import make_event, status_data
from sigmax.execution import build_venue
from sigmax.execution.errors import VenueMismatchError
from sigmax.execution.venue_check import VenueBooks
from sigmax.graph import DecisionGraph
from sigmax.graph_agents import graph_agents
from sigmax.model import BarSeries, Order
from sigmax.portfolio.allocation import weight_from_result
from sigmax.portfolio.reoptimise import (
    DEFAULT_WINDOW,
    recent_panel,
    reoptimise_config,
    session_assets,
    symbol_weights,
)
from sigmax.risk.context import datetime_to_ns
from sigmax.risk.state import STOPPED
from sigmax.storage.postgres_config import PostgresConfig
from sigmax.strategies import Strategy, StrategyError, make_strategy
from sigmax.strategies.agent_graph import AgentGraphStrategy
from sigmax.trading.adapters import StrategyDecider
from sigmax.trading.session import BarReport, SessionConfig, TradingSession


@dataclass(frozen=True)
class PaperRequest:
    """A paper session: which bars to replay (or follow live) and with how much cash.

    One symbol is ``data`` with ``symbol``; a portfolio gives ``legs``, its (data,
    symbol) pairs in the order they trade (``data``/``symbol`` are then ignored)."""

    data: str = "bundled:BTC-USD-1h"
    symbol: str | None = "BTC/USD"
    timeframe: str | None = "1h"
    start: int = 18_000  # first traded step (index into the data's bar times)
    bars: int | None = 1_000  # bars to trade; None = to the end
    cash: Decimal = Decimal(10_000)
    session_id: str = "paper"
    speed: float = 0.0  # bars per second; 0 = as fast as the actors go
    persist: bool = True  # orders, fills, risk state in PostgreSQL (embedded by default)
    allocation: str | None = None  # a `sigmax optimize --json` result: symbol weights
    strategy: str = AgentGraphStrategy.name  # or any --strategy spec, asked per bar
    params: dict[str, str] = field(default_factory=dict)  # its --param k=v
    legs: tuple[tuple[str, str | None], ...] = ()
    reoptimise_every: int | None = None  # steps between reruns of the optimiser
    reoptimise_window: int = DEFAULT_WINDOW  # bars of returns it sees
    # a live or dry-run venue (Settings.venue) whose account differs from the books:
    # take the venue's state (audited) instead of refusing to start
    adopt_venue_state: bool = False

    def __post_init__(self) -> None:
        if self.reoptimise_every is not None:  # checked here: the CLI and the API build it
            symbols = [symbol or "" for _, symbol in self.pairs]
            if len(symbols) < 2:
                raise InvalidInputError(
                    "--reoptimise-every weights a portfolio: give two or more --data/--symbol pairs"
                )
            session_assets(symbols)  # one symbol per base currency

    @property
    def account(self) -> str:
        return f"paper:{self.session_id}"

    @property
    def pairs(self) -> list[tuple[str, str | None]]:
        """Every (data, symbol) the session trades, in order."""
        return list(self.legs) if self.legs else [(self.data, self.symbol)]

    def weights(self, symbols: list[str]) -> dict[str, float]:
        """Each symbol's share of equity: from the allocation file (0 for a symbol it
        does not hold), else none given (equal shares)."""
        if not self.allocation:
            return {}
        return {s: weight_from_result(Path(self.allocation), s) for s in symbols}


@dataclass
class TradingSystem:
    """Handles to every actor of one symbol's trading system."""

    agents: dict[str, Any]  # empty, like graph None, when the strategy is not the agent graph
    graph: Any
    risk: Any
    execution: Any
    portfolio: Any
    market_data: Any
    warmup: int
    actors: list[Any] = field(default_factory=list)
    last_step: dict[str, BarSeries] | None = None  # the histories of the last step traded
    timeseries: Any = None  # the cluster's time-series store actor (bars, equity)
    publisher: EventPublisher | None = None
    owns_publisher: bool = False  # built by start_system: closed by shutdown
    proposals: Any = None  # approval mode: the proposal desk actor
    strategy: Strategy | None = None  # None: the decision-graph actor decides
    weights: dict[str, float] = field(default_factory=dict)  # each symbol's share now
    weights_source: str | None = None  # who set them last (the optimiser, when rerun)
    # where orders go (kind, testnet, live, dry_run) and, for a ccxt venue, the outcome
    # of the reconciliation at the start: shown in the session's status
    venue: dict[str, Any] | None = None
    # how long a step waits, paused, for PostgreSQL to come back (trading.database_outage_s)
    database_outage_s: float = DEFAULT_OUTAGE_S

    def shutdown(self) -> None:
        """Stop every actor, after the risk actor has worked off the calls sent to it
        without waiting (equity marks, decisions), so none is cut off; then send the
        events still queued."""
        with contextlib.suppress(Exception):  # a dead risk actor must not keep others up
            ray.get(self.risk.status.remote(), timeout=30)
        if self.proposals is not None:  # its queued proposal events go out first
            with contextlib.suppress(Exception):
                ray.get(self.proposals.close.remote(), timeout=30)
        if self.timeseries is not None:  # shared, stays up; but let it store what it got
            with contextlib.suppress(Exception):
                ray.get(self.timeseries.health.remote(), timeout=60)
        for handle in self.actors:
            ray.kill(handle, no_restart=True)
        if self.owns_publisher and self.publisher is not None:
            self.publisher.close()


def postgres_for_actors(settings: Settings) -> str:
    """The PostgreSQL config the actors share (JSON), its DSN resolved: the configured
    one, or the embedded server's, started here in the driver so one process owns it."""
    config = settings.postgres
    if not config.dsn:
        from sigmax.storage.embedded_postgres import ensure_embedded_postgres

        config = config.model_copy(update={"dsn": ensure_embedded_postgres(config)})
    return config.model_dump_json()


def start_system(
    settings: Settings, request: PaperRequest, publisher: EventPublisher | None = None
) -> TradingSystem:
    """Create (or find, by name in namespace ``sigmax``) the actors for one session.

    Events go to ``publisher``; without one, to a publisher built from the settings
    (Redis if configured, else in-process; NATS if configured), closed by ``shutdown``.
    """
    strategy = session_strategy(request, settings)
    check_venue_settings(settings, request)  # a refused venue: nothing starts
    graph_json = settings.graph.model_dump_json()
    pg = postgres_for_actors(settings) if request.persist else None
    account = request.account
    sid = request.session_id
    graph_model = DecisionGraph(settings.graph)  # history counted in the data's bars
    warmup = graph_model.data_warmup(request.timeframe) if request.timeframe else graph_model.warmup
    # the agents and their graph decide only for the agent-graph strategy; another
    # strategy is asked in the session's driver and needs neither
    agents, graph = (
        _spawn_decision_graph(sid, graph_json, settings) if strategy is None else ({}, None)
    )
    risk = spawn(RiskActor, options.RISK, sid, settings.risk.model_dump_json(), account, pg)
    if settings.venue.kind == "paper":
        execution = spawn(
            ExecutionActor, options.EXECUTION, sid, settings.paper.model_dump_json(), account, pg
        )
        venue: dict[str, Any] = {"kind": "paper", "testnet": False, "live": False}
        cash = request.cash
    else:
        execution = _spawn_live_execution(settings, sid, account, pg, risk)
        try:
            venue, cash = _reconcile_venue(settings, request, risk, execution)
        except Exception:
            for handle in [*agents.values(), graph, risk, execution]:
                if handle is not None:
                    ray.kill(handle, no_restart=True)
            raise
    portfolio = spawn(PortfolioActor, options.PORTFOLIO, sid, str(cash), account, pg)
    stop = None if request.bars is None else request.start + request.bars
    market = spawn(
        MarketDataActor,
        options.MARKET_DATA,
        sid,
        request.pairs,
        request.timeframe,
        request.start,
        stop,
        warmup,
        account,
        pg,
    )
    handles = [*agents.values(), *([graph] if graph is not None else []), risk, execution]
    handles += [portfolio, market]
    proposals = None
    if settings.trading.mode == "approval":
        if pg is None:
            raise ValueError("approval mode stores proposals in PostgreSQL: run with persist")
        proposals = spawn(
            ProposalActor,
            options.PROPOSALS,
            sid,
            settings.trading.model_dump_json(),
            pg,
            settings.redis.model_dump_json(),
            settings.events.model_dump_json(),  # the driver's, as its own publisher uses
            account,
            sid,
        )
        handles.append(proposals)
    # One store actor per cluster (chdb: one process per data directory); sessions
    # share it and leave it running.
    timeseries = (
        spawn(
            TimeSeriesStoreActor,
            options.TIMESERIES_STORE,
            "",
            settings.clickhouse.model_dump_json(),
        )
        if request.persist
        else None
    )
    owns = publisher is None
    if publisher is None:
        publisher = build_publisher(settings.events, settings.redis)
    if venue.get("reconciliation") is not None:
        data = status_data("reconciled", symbol=",".join(_symbols(request)), bars=0, venue=venue)
        publisher.publish(make_event("status", sid, data))
    return TradingSystem(
        agents,
        graph,
        risk,
        execution,
        portfolio,
        market,
        warmup,
        handles,
        timeseries=timeseries,
        publisher=publisher,
        owns_publisher=owns,
        proposals=proposals,
        strategy=strategy,
        venue=venue,
        database_outage_s=settings.trading.database_outage_s,
    )


def _spawn_decision_graph(
    sid: str, graph_json: str, settings: Settings
) -> tuple[dict[str, Any], Any]:
    """The agent actors and the decision-graph actor that fans out to them."""
    agents = {
        a.name: spawn(AgentActor, options.AGENT, f"{sid}:{a.name}", a.name, graph_json)
        for a in graph_agents(settings.graph)
    }
    agent_names = {name: options.AGENT.options(f"{sid}:{name}")["name"] for name in agents}
    graph = spawn(DecisionGraphActor, options.DECISION_GRAPH, sid, graph_json, agent_names)
    return agents, graph


def check_venue_settings(settings: Settings, request: PaperRequest) -> None:
    """Refuse, before any actor starts, a venue that cannot be built (the
    :class:`~sigmax.execution.errors.VenueRefusedError` of ``build_venue``, its message
    unchanged: live without ``--live``, missing credentials, a key that may withdraw)
    or a live session that cannot keep its books."""
    config = settings.venue
    if config.kind == "paper":
        return
    postgres = None
    if request.persist:  # where a stored credential would be (the embedded server too)
        postgres = PostgresConfig.model_validate_json(postgres_for_actors(settings))
    credentials = VenueCredentials(config.ccxt_exchange_id, postgres, settings.vault)
    build_venue(config, paper=settings.paper, credentials=credentials)
    if config.is_ccxt:
        if not request.persist:
            raise InvalidInputError(
                f"venue {config.kind} keeps its orders and books in PostgreSQL to reconcile "
                "them with the exchange: run the session with persist on"
            )
        if any(symbol is None for _, symbol in request.pairs):
            raise InvalidInputError(f"venue {config.kind}: name every symbol the session trades")


def _spawn_live_execution(
    settings: Settings, sid: str, account: str, pg: str | None, risk: Any
) -> Any:
    """The execution actor of a dry-run or ccxt venue. No secret goes into a runtime_env
    (Ray writes it to its logs): the actor reads the keys where it runs, from Vault or
    the environment of its Ray node."""
    paper, venue = settings.paper.model_dump_json(), settings.venue.model_dump_json()
    return spawn(ExecutionActor, options.EXECUTION, sid, paper, account, pg, venue, risk)


VENUE_BOOKS = "venue-books"  # the control record of a change to the books' starting cash
ADOPT_OPERATOR = "operator (adopt_venue_state)"


def _symbols(request: PaperRequest) -> list[str]:
    return [symbol or "" for _, symbol in request.pairs]


def _reconcile_venue(
    settings: Settings, request: PaperRequest, risk: Any, execution: Any
) -> tuple[dict[str, Any], Decimal]:
    """The venue's description for the status and the books' starting cash; for a ccxt
    venue, after reconciling its account with the stored books (refused: raises
    :class:`VenueMismatchError` listing the problems). Every adoption is audited."""
    info: dict[str, Any] = ray.get(execution.venue.remote())
    if not settings.venue.is_ccxt:  # a dry run sends nothing: there is nothing to compare
        return info | {"reconciliation": None}, request.cash
    records = ray.get(risk.audit_records.remote("control"))
    cash = request.cash + sum(
        (
            Decimal(r["payload"]["details"]["cash_delta"])
            for r in records
            if r["payload"].get("action") == VENUE_BOOKS
        ),
        start=Decimal(0),
    )
    adopt = request.adopt_venue_state
    books: VenueBooks = ray.get(
        execution.reconcile.remote(_symbols(request), cash, adopt, ADOPT_OPERATOR)
    )
    if not books.may_start:
        listed = "\n".join(f"- {p}" for p in books.problems)
        raise VenueMismatchError(
            f"venue {settings.venue.kind}: the exchange account differs from the stored "
            f"books; the session does not start:\n{listed}\nCheck the account, or adopt "
            "the venue's state (adopt_venue_state, --adopt-venue-state): audited",
            list(books.problems),
        )
    for line in books.audit:
        ray.get(risk.record_control.remote("venue-reconcile", ADOPT_OPERATOR, {"line": line}))
    if books.cash_delta != 0:
        details = {"cash_delta": str(books.cash_delta), "outcome": books.summary.get("outcome")}
        ray.get(risk.record_control.remote(VENUE_BOOKS, ADOPT_OPERATOR, details))
    return info | {"reconciliation": books.summary}, cash + books.cash_delta


def session_strategy(request: PaperRequest, settings: Settings) -> Strategy | None:
    """The strategy the session asks for its target in the driver, checked before any
    actor starts; None for the agent graph, which runs on its actors."""
    if request.strategy != AgentGraphStrategy.name:
        return make_strategy(request.strategy, request.params, settings.graph)
    if request.params:
        raise StrategyError(
            "a paper session of the sigmax strategy takes its settings from the "
            "configuration (SIGMAX_GRAPH__*), not --param"
        )
    return None


def session_over(
    system: TradingSystem,
    symbols: str | list[str],
    session_id: str,
    publisher: EventPublisher | None = None,
    weights: dict[str, float] | None = None,
) -> TradingSession:
    """The trading session of ``symbols`` (in order) over the system's actors."""
    publisher = publisher or system.publisher
    risk = system.risk

    def risk_status() -> dict[str, Any]:
        status: dict[str, Any] = ray.get(risk.status.remote())
        return status

    def sent_order(client_order_id: str) -> Order | None:
        found: Order | None = ray.get(system.execution.find_order.remote(client_order_id))
        return found

    proposals = ProposalActorPort(system.proposals) if system.proposals is not None else None
    # The loop waits for its actors as long as they take: a restarting stateful actor
    # answers once it has rebuilt (its calls are retried), and a bar must not be skipped.
    wait = None
    strategy = system.strategy
    decider = (
        DecisionGraphPort(system.graph, timeout_s=wait)
        if strategy is None
        else StrategyDecider(strategy)
    )
    return TradingSession(
        SessionConfig(
            symbols=(symbols,) if isinstance(symbols, str) else tuple(symbols),
            session_id=session_id,
            mode="approval" if proposals else "auto",
            unit=strategy.unit if strategy is not None else "equity_fraction",
            weights=dict(weights or {}),
        ),
        decider,
        RiskPort(system.risk, timeout_s=wait),
        (
            LiveExecutionPort(system.execution, timeout_s=wait)
            if system.venue is not None and system.venue.get("kind") != "paper"
            else ExecutionPort(system.execution, timeout_s=wait)
        ),
        PortfolioPort(system.portfolio, timeout_s=wait),
        publisher=publisher,
        risk_status=risk_status if publisher is not None else None,
        proposals=proposals,
        sent_order=sent_order,
    )


def run_paper(
    system: TradingSystem,
    request: PaperRequest,
    on_bar: Callable[[BarReport, int | None], None] | None = None,
    publisher: EventPublisher | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[BarReport]:
    """Replay the market-data actor's steps through the actors until it runs dry or
    ``should_stop()`` says so after a step (what was traded is returned either way).

    Publishes a ``status`` event when the session starts and when it ends
    (``finished``; ``stopped`` when asked to stop or on KeyboardInterrupt; ``failed``
    on an error), with the number of bars traded.
    """
    publisher = publisher or system.publisher
    market = system.market_data
    symbols: list[str] = ray.get(market.symbols.remote())
    first = ray.get(market.next_step.remote())
    if first is None:
        return []
    session = session_over(system, symbols, request.session_id, publisher, request.weights(symbols))
    resumed = ray.get(market.resumed.remote())
    if resumed is not None:  # the account traded before: continue after its last step
        session.resume(resumed)
    system.weights = session.weights()
    reports: list[BarReport] = []
    timeframe = next(iter(first.values())).timeframe

    def status(state: str, **details: Any) -> None:
        if publisher is not None:
            data = status_data(state, symbol=",".join(symbols), bars=len(reports), **details)
            publisher.publish(make_event("status", request.session_id, data))

    status("started", timeframe=timeframe, speed=request.speed)
    curve = _EquityWriter(system.timeseries, request.account)
    step: dict[str, BarSeries] | None = first
    system.last_step = first
    pace = 1.0 / request.speed if request.speed > 0 else 0.0
    steps = 0
    # a PostgreSQL outage pauses the session and its step is run again (db_outage)
    guard = OutageGuard(system, session, request.session_id, publisher, system.database_outage_s)
    try:
        while step is not None:
            if not _wait_while_stopped(system.risk, should_stop):
                break
            started = time.perf_counter()
            done, remaining = guard.trade(market, step)
            reports += done
            curve.add(done)
            steps += 1
            if request.reoptimise_every and steps % request.reoptimise_every == 0:
                _reoptimise(system, session, request)
            if on_bar is not None:
                for report in done:
                    on_bar(report, remaining)
            system.last_step = step
            if should_stop is not None and should_stop():
                break
            step = ray.get(market.next_step.remote())
            if pace:
                time.sleep(max(0.0, pace - (time.perf_counter() - started)))
    except KeyboardInterrupt:
        status("stopped")
        raise
    except Exception as exc:
        status("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    curve.flush()
    _store_traded_bars(system, request, reports)
    status("stopped" if step is not None else "finished")
    return reports


REOPTIMISE_WAIT_S = 120.0


def _reoptimise(system: TradingSystem, session: TradingSession, request: PaperRequest) -> None:
    """Rerun the optimiser as a Ray task on the session's recent bars and trade the new
    weights from the next step on; audited as a control action and published."""
    histories: dict[str, BarSeries] = ray.get(system.market_data.histories.remote())
    panel = recent_panel(histories, request.reoptimise_window)
    if panel is None:  # too few shared bars yet; the next rerun tries again
        return
    task = optimise_panel_remote(reoptimise_config(panel), panel)
    try:
        result = ray.get(task, timeout=REOPTIMISE_WAIT_S)
    except GetTimeoutError:  # no room on the cluster, or stuck: keep trading the old weights
        ray.cancel(task, force=True)
        system.weights_source = f"rerun not finished in {REOPTIMISE_WAIT_S:g}s; weights kept"
        return
    except RayError as exc:  # the optimiser failed on these bars: trading goes on
        system.weights_source = f"rerun failed ({type(exc).__name__}); weights kept"
        return
    weights = symbol_weights(result, list(session.config.symbols))
    source = f"{result.solver} on the last {len(panel.returns)} {panel.timeframe} returns"
    previous = session.weights()
    session.set_weights(weights, source)
    details = {"weights": weights, "previous": previous, "source": source}
    system.risk.record_control.remote("reoptimise", "session", details)
    system.weights, system.weights_source = session.weights(), source


def _store_traded_bars(
    system: TradingSystem, request: PaperRequest, reports: list[BarReport]
) -> None:
    """The bars the session traded, per symbol, into the time-series store."""
    if system.timeseries is None or system.last_step is None:
        return
    traded: dict[str, int] = {}
    for report in reports:
        traded[report.symbol] = traded.get(report.symbol, 0) + 1
    for symbol, history in ray.get(system.market_data.histories.remote()).items():
        count = traded.get(symbol, 0)
        if count:
            system.timeseries.insert_bars.remote(
                history[len(history) - count :], f"paper:{request.session_id}"
            )


STOP_POLL_S = 1.0


def _wait_while_stopped(risk: Any, should_stop: Callable[[], bool] | None) -> bool:
    """Hold the loop while an operator has the session stopped (risk cause ``stopped``,
    POST /api/v1/control/stop): no bar is traded and no decision made until trading is
    resumed. False when ``should_stop()`` says to end meanwhile."""
    while ray.get(risk.status.remote()).get("cause") == STOPPED:
        if should_stop is not None and should_stop():
            return False
        time.sleep(STOP_POLL_S)
    return True


class _EquityWriter:
    """Sends the session's equity curve to the time-series store in batches, without
    waiting (the store actor applies them in order): one point per step, with the
    number of symbols held as its position when the session trades several."""

    BATCH = 250

    def __init__(self, store: Any, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.ts: list[int] = []
        self.equity: list[float] = []
        self.position: list[float] = []

    def add(self, step: list[BarReport]) -> None:
        if self.store is None or not step:
            return
        self.ts.append(datetime_to_ns(step[0].ts))  # exact: floats round ns near 1e18
        self.equity.append(step[0].equity)
        held = step[0].position if len(step) == 1 else sum(r.position != 0 for r in step)
        self.position.append(float(held))
        if len(self.ts) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        if self.store is None or not self.ts:
            return
        self.store.insert_equity.remote(
            self.run_id,
            np.array(self.ts, dtype=np.int64),
            np.array(self.equity),
            np.array(self.position),
        )
        self.ts, self.equity, self.position = [], [], []
