"""``sigmax paper`` and ``sigmax up``: trading sessions through the Ray actors.

Ray is imported inside the commands only: the ``sigmax`` library itself never
imports Ray, and the other commands start without it.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sigmax.backtest.metrics import compute_metrics
from sigmax.backtest.report import report_json, write_html, write_json
from sigmax.cli.params import VENUE_HELP

console = Console()


DEFAULT_DASHBOARD_PORT = 8265


def _init_ray(address: str | None, num_cpus: int | None, dashboard_port: int | None) -> Any:
    """Join ``address`` (or the job's cluster named by ``RAY_ADDRESS``), else start Ray,
    serving its dashboard on 127.0.0.1:``dashboard_port`` unless that is None. A
    cluster that is joined keeps its own dashboard."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from actors.ray_metrics import SETUP_HOOK
    from sigmax.serve_proxy import apply_serve_env

    if ray.is_initialized():
        return ray
    if os.environ.get("RAY_ADDRESS") and not address:  # a job: its runtime_env applies
        ray.init(address="auto", namespace="sigmax", log_to_driver=False)
        return ray
    # Every worker of this driver's job mirrors SIGMAX's metrics into Ray's agent.
    runtime_env = {"worker_process_setup_hook": SETUP_HOOK}
    if address:
        ray.init(address=address, namespace="sigmax", log_to_driver=False, runtime_env=runtime_env)
        return ray
    if dashboard_port is not None:
        _require_free_port(dashboard_port)
    # The API's default Serve setup (HAProxy, the caller's address kept): Ray reads
    # these flags when it starts, so before ray.init (SIGMAX_SERVE_PROXY=default: off).
    apply_serve_env()
    ray.init(
        num_cpus=num_cpus,
        namespace="sigmax",
        include_dashboard=dashboard_port is not None,
        dashboard_host="127.0.0.1",
        dashboard_port=dashboard_port or DEFAULT_DASHBOARD_PORT,
        log_to_driver=False,
        runtime_env=runtime_env,
    )
    if dashboard_port is not None:
        console.print(f"[green]Ray dashboard: http://127.0.0.1:{dashboard_port}[/]")
    return ray


def _require_free_port(port: int) -> None:
    """Stop with a clear message when 127.0.0.1:``port`` is taken: Ray would otherwise
    quietly serve its dashboard on another port, or none."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            console.print(
                f"[red]port {port} on 127.0.0.1 is taken, so the Ray dashboard cannot use it: "
                "choose another with --dashboard-port PORT, or run with --no-dashboard[/]"
            )
            raise typer.Exit(code=2) from None


# Options shared by `sigmax paper` and `sigmax up`.
Data = Annotated[
    list[str] | None,
    typer.Option(
        help="bundled:NAME, a CSV/Parquet path, or ccxt:EXCHANGE (live candles); repeat "
        "with --symbol for a portfolio [default: bundled:BTC-USD-1h]"
    ),
]
Symbol = Annotated[
    list[str] | None,
    typer.Option(
        help="symbol, e.g. BTC/USD; one per --data, paired in order (one ccxt:EXCHANGE "
        "source takes several) [default: BTC/USD with the default data]"
    ),
]
DEFAULT_DATA, DEFAULT_SYMBOL = "bundled:BTC-USD-1h", "BTC/USD"
Timeframe = Annotated[str | None, typer.Option(help="bar size")]
Start = Annotated[int, typer.Option(help="index of the first traded bar")]
Cash = Annotated[str, typer.Option(help="starting cash")]
Address = Annotated[str | None, typer.Option(help="join this Ray cluster")]
NumCpus = Annotated[int | None, typer.Option(help="CPUs of a local Ray")]
Dashboard = Annotated[
    bool, typer.Option(help="serve the Ray dashboard of a local Ray on 127.0.0.1")
]
DashboardPort = Annotated[int, typer.Option(help="port of the local Ray dashboard")]
StrategySpec = Annotated[
    str,
    typer.Option(
        "--strategy",
        help="sigmax (the agent graph on its actors), sma_cross, rl_policy, "
        "PATH.py:ClassName or module:ClassName (docs/STRATEGIES.md)",
    ),
]
Param = Annotated[list[str] | None, typer.Option(help="strategy parameter k=v (repeatable)")]
VenueKind = Annotated[str | None, typer.Option("--venue", help=VENUE_HELP)]
Testnet = Annotated[
    bool,
    typer.Option(
        "--testnet",
        help="trade on the exchange's testnet (ccxt sandbox mode), no real money "
        "[default: SIGMAX_VENUE__TESTNET]",
    ),
]
Live = Annotated[
    bool,
    typer.Option(
        "--live",
        help="the explicit switch for real money, with --venue ccxt:EXCHANGE and exchange "
        "keys (docs/LIVE.md) [default: SIGMAX_VENUE__LIVE]",
    ),
]
AdoptVenueState = Annotated[
    bool,
    typer.Option(
        "--adopt-venue-state",
        help="when the exchange account differs from the stored books at the start, take "
        "the venue's balances, orders and fills (audited) instead of refusing to start",
    ),
]
ReoptimiseEvery = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="rerun the portfolio optimiser as a Ray task on the session's recent bars every "
        "N steps and trade its weights (a portfolio of several symbols)",
    ),
]


def paper(
    data: Data = None,
    symbol: Symbol = None,
    timeframe: Timeframe = "1h",
    start: Start = 18_000,
    bars: Annotated[int, typer.Option(help="bars to trade")] = 1_000,
    cash: Cash = "10000",
    address: Address = None,
    num_cpus: NumCpus = None,
    dashboard: Dashboard = True,
    dashboard_port: DashboardPort = DEFAULT_DASHBOARD_PORT,
    json_out: Annotated[Path | None, typer.Option("--json", help="JSON report")] = None,
    report: Annotated[Path | None, typer.Option(help="HTML report")] = None,
    session_id: Annotated[
        str | None, typer.Option(help="names the account; reuse one to resume it")
    ] = None,
    persist: Annotated[
        bool, typer.Option(help="orders, fills and risk state in PostgreSQL (embedded default)")
    ] = True,
    allocation: Annotated[
        Path | None,
        typer.Option(help="a `sigmax optimize --json` result whose weight caps the symbol"),
    ] = None,
    strategy: StrategySpec = "sigmax",
    param: Param = None,
    reoptimise_every: ReoptimiseEvery = None,
    venue: VenueKind = None,
    testnet: Testnet = False,
    live: Live = False,
    adopt_venue_state: AdoptVenueState = False,
) -> None:
    """A finite session: real bars replayed at full speed through every actor, its
    orders on the paper exchange unless --venue says otherwise (docs/LIVE.md)."""
    from actors.system import PaperRequest

    settings = _venue_settings(venue, testnet, live)
    request = PaperRequest(
        **_leg_fields(data, symbol, timeframe),
        timeframe=timeframe,
        start=start,
        bars=bars,
        cash=Decimal(cash),
        session_id=session_id or f"paper-{datetime.now(UTC):%Y%m%d-%H%M%S}",
        persist=persist,
        allocation=str(allocation) if allocation else None,
        reoptimise_every=reoptimise_every,
        adopt_venue_state=adopt_venue_state,
        **_strategy_fields(strategy, param),
    )
    _check_venue(settings, request)
    ray_options = _RayOptions(address, num_cpus, dashboard_port if dashboard else None)
    _run_session(settings, request, ray_options, json_out, report, keep_running=False)


def up(
    data: Data = None,
    symbol: Symbol = None,
    timeframe: Timeframe = "1h",
    start: Start = 18_000,
    speed: Annotated[float, typer.Option(help="bars per second (0 = full speed)")] = 1.0,
    cash: Cash = "10000",
    address: Address = None,
    num_cpus: NumCpus = None,
    dashboard: Dashboard = True,
    dashboard_port: DashboardPort = DEFAULT_DASHBOARD_PORT,
    api: Annotated[bool, typer.Option(help="deploy the /api/v1 API on Ray Serve too")] = True,
    api_port: Annotated[int, typer.Option(help="port of the API on 127.0.0.1")] = 8000,
    strategy: StrategySpec = "sigmax",
    param: Param = None,
    session_id: Annotated[str, typer.Option(help="names the session and its account")] = "up",
    detach: Annotated[
        bool,
        typer.Option(help="start the session on the cluster (--address) and return"),
    ] = False,
    reoptimise_every: ReoptimiseEvery = None,
    venue: VenueKind = None,
    testnet: Testnet = False,
    live: Live = False,
    adopt_venue_state: AdoptVenueState = False,
) -> None:
    """Start (or join) a Ray cluster, create the actors, serve the API and trade (on
    paper unless --venue says otherwise) until Ctrl-C; with --detach, leave the session
    trading on the cluster (`sigmax session status|stop --session-id ID`)."""
    from actors.system import PaperRequest

    settings = _venue_settings(venue, testnet, live)
    request = PaperRequest(
        **_leg_fields(data, symbol, timeframe),
        timeframe=timeframe,
        start=start,
        bars=None,
        cash=Decimal(cash),
        speed=speed,
        session_id=session_id,
        reoptimise_every=reoptimise_every,
        adopt_venue_state=adopt_venue_state,
        **_strategy_fields(strategy, param),
    )
    _check_venue(settings, request)
    ray_options = _RayOptions(address, num_cpus, dashboard_port if dashboard else None)
    api_at = api_port if api else None
    if detach:
        _start_detached(settings, request, ray_options, api_at)
        return
    _run_session(settings, request, ray_options, None, None, keep_running=True, api_port=api_at)


def _venue_settings(kind: str | None, testnet: bool, live: bool) -> Any:
    """The settings with the venue flags applied over ``SIGMAX_VENUE__*``; a bad flag
    fails here, before anything starts."""
    from sigmax.cli.params import venue_override
    from sigmax.config import get_settings

    settings = get_settings()
    venue = venue_override(settings.venue, kind, testnet, live)
    return settings.model_copy(update={"venue": venue})


def _check_venue(settings: Any, request: Any) -> None:
    """Refuse, before Ray or any actor starts, a venue that cannot be built (real money
    without --live, --live with --testnet, no exchange credentials, a key that may
    withdraw): a VenueRefusedError, reported in one line with exit code 2."""
    from actors.system import check_venue_settings

    check_venue_settings(settings, request)
    if settings.venue.kind != "paper":
        v = settings.venue
        money = "REAL MONEY" if v.real_money else ("testnet" if v.testnet else "nothing sent")
        console.print(f"[yellow]venue {v.kind} ({money})[/]")


@dataclass(frozen=True)
class _RayOptions:
    """Where the session runs: a cluster to join, or a local Ray of these CPUs whose
    dashboard is on this port (None: no dashboard)."""

    address: str | None
    num_cpus: int | None
    dashboard_port: int | None


def _leg_fields(
    data: list[str] | None, symbols: list[str] | None, timeframe: str | None
) -> dict[str, Any]:
    """The request's data and symbol(s), paired and checked before Ray starts: every
    stored data set must load at ``timeframe`` (a live source is checked by its feed)."""
    from sigmax.cli.params import LIVE_PREFIX, pair_data_symbols
    from sigmax.data import load_bars
    from sigmax.data.errors import DataError

    if not data:
        data, symbols = [DEFAULT_DATA], symbols or [DEFAULT_SYMBOL]
    legs = pair_data_symbols(data, symbols or [])
    for source, symbol in legs:
        if source.startswith(LIVE_PREFIX):
            continue
        try:
            load_bars(source, symbol, timeframe)
        except (DataError, ValueError) as exc:
            raise typer.BadParameter(f"{source}: {exc}", param_hint="--data") from None
    (first_data, first_symbol), *_ = legs
    return {"data": first_data, "symbol": first_symbol, "legs": tuple(legs) if _ else ()}


def _strategy_fields(spec: str, param: list[str] | None) -> dict[str, Any]:
    """The request's strategy and params; a bad spec or param fails here, before Ray."""
    from sigmax.cli.params import parse_pairs
    from sigmax.strategies import make_strategy

    params = parse_pairs(param or [], "--param")
    make_strategy(spec, params)
    return {"strategy": spec, "params": params}


def _run_session(
    settings: Any,
    request: Any,
    ray_options: _RayOptions,
    json_out: Path | None,
    report: Path | None,
    keep_running: bool,
    api_port: int | None = None,
) -> None:
    """Run the session in its actor, follow it here, summarise, then end it."""
    ray = _init_ray(ray_options.address, ray_options.num_cpus, ray_options.dashboard_port)
    from actors.session import end_session, start_session

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    session = start_session(settings, request)
    if api_port is not None:
        _deploy_api(request.session_id, api_port)
    try:
        reports = _follow_with_progress(session, request, stop)
        if keep_running and not stop.is_set():
            console.print("[green]replay finished; actors stay up. Ctrl-C to stop.[/]")
            stop.wait()
        _summarise(ray, _SessionView.of(session, request), request, reports, json_out, report)
    finally:
        signal.signal(signal.SIGINT, previous)
        if api_port is not None:
            from ray import serve

            serve.shutdown()  # type: ignore[no-untyped-call]  # ray serve ships no annotations here
        end_session(session)
        ray.shutdown()


def _start_detached(
    settings: Any, request: Any, ray_options: _RayOptions, api_port: int | None
) -> None:
    """Start the session's actor on a cluster that outlives this process, and return."""
    if not (ray_options.address or os.environ.get("RAY_ADDRESS")):
        console.print(
            "[red]--detach needs a cluster that outlives this command: start one with "
            "`ray start --head` and pass --address (or set RAY_ADDRESS)[/]"
        )
        raise typer.Exit(code=2)
    ray = _init_ray(ray_options.address, ray_options.num_cpus, None)
    from actors.session import start_session

    start_session(settings, request)
    if api_port is not None:
        _deploy_api(request.session_id, api_port)
    console.print(
        f"[green]session {request.session_id} trades on the cluster; follow it with "
        f"`sigmax session status --session-id {request.session_id}`, end it with "
        f"`sigmax session stop --session-id {request.session_id}`[/]"
    )
    ray.shutdown()


@dataclass(frozen=True)
class _SessionView:
    """What the summary reads of a session run by its actor."""

    portfolio: Any
    risk: Any
    histories: dict[str, Any]

    @classmethod
    def of(cls, session: Any, request: Any) -> _SessionView:
        import ray

        from actors import options
        from actors.registry import find

        sid = request.session_id
        histories = ray.get(session.histories.remote())
        return cls(find(options.PORTFOLIO, sid), find(options.RISK, sid), histories)


def _deploy_api(session_id: str, port: int) -> None:
    """The Serve app of serve_app/ on this cluster, serving this session's actors and
    the same PostgreSQL (the embedded server this process started, by its DSN).

    Ray writes a runtime_env to its logs in clear, so it carries no secret (no token,
    secret id, password, key, DSN or URL): the replica reads those from Vault or its
    own environment, and gets the PostgreSQL config as an argument."""
    import re

    from ray import serve

    from actors.system import postgres_for_actors
    from serve_app.api import SigmaxAPI
    from serve_app.config import APIConfig
    from sigmax.config import get_settings

    secret = re.compile(r"TOKEN|SECRET|PASSWORD|ROLE_ID|KEY|DSN|URL")
    env = {k: v for k, v in os.environ.items() if k.startswith("SIGMAX_") and not secret.search(k)}
    env["SIGMAX_API_SESSION_ID"] = session_id
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    options = {"num_cpus": APIConfig().replica_num_cpus, "runtime_env": {"env_vars": env}}
    deployment = cast(Any, SigmaxAPI).options(ray_actor_options=options)
    app = deployment.bind(postgres_json=postgres_for_actors(get_settings()))
    serve.run(app, name="sigmax", route_prefix="/", blocking=False)
    console.print(f"[green]API: http://127.0.0.1:{port}/api/v1 (docs at /api/v1/docs)[/]")


FOLLOW_POLL_S = 0.2


def _follow_with_progress(session: Any, request: Any, stop: threading.Event) -> list[Any]:
    """Show the session actor's bars as they are traded until it ends (or, on Ctrl-C,
    ask it to stop after the bar in progress); returns their reports."""
    import ray

    from actors.session import DONE

    columns = (
        TextColumn("session"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("equity {task.fields[equity]}"),
        TimeElapsedColumn(),
    )
    reports: list[Any] = []
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("bars", total=request.bars, equity="-")
        while True:
            if stop.is_set():
                ray.get(session.stop.remote())
            status = ray.get(session.status.remote())
            new = ray.get(session.reports.remote(reports[-1].ts if reports else None))
            reports += new
            _show_progress(progress, task, request.bars, status, len(new))
            if status["state"] in DONE:
                break
            stop.wait(FOLLOW_POLL_S)
    if status["state"] == "failed":  # e.g. a venue account that differs from the books
        typer.echo(f"error: session {request.session_id} failed: {status['error']}", err=True)
        raise typer.Exit(code=1)
    if stop.is_set():
        console.print(f"[yellow]stopped after {len(reports)} bars; state is persisted[/]")
    return reports


def _show_progress(
    progress: Progress, task: Any, total: int | None, status: dict[str, Any], new: int
) -> None:
    remaining = status["remaining"]
    if total is not None and remaining is not None:
        progress.update(task, completed=total - remaining)
    else:
        progress.advance(task, new)
    if status["equity"] is not None:
        progress.update(task, equity=f"{status['equity']:,.2f}")


def _summarise(
    ray: Any,
    system: Any,
    request: Any,
    reports: list[Any],
    json_out: Path | None,
    report: Path | None,
) -> None:
    from sigmax.backtest.metrics import symbol_metrics
    from sigmax.backtest.session_summary import session_counts, session_result
    from sigmax.config import get_settings

    if not reports or not system.histories:
        console.print("no bars were traded")
        return
    histories = system.histories
    marks = {s: Decimal(repr(float(h.close[-1]))) for s, h in histories.items()}
    book = ray.get(system.portfolio.summary.remote(marks))
    status = ray.get(system.risk.status.remote())
    risk_events = len(ray.get(system.risk.audit_records.remote("state_change")))
    result = session_result(reports, histories, request.cash, Decimal(book["equity"]), status)
    fee_bps = float(get_settings().paper.taker_fee_bps)
    metrics = compute_metrics(result, fee_bps)
    counts = session_counts(reports)
    symbols = list(dict.fromkeys(r.symbol for r in reports))
    timeframe = next(iter(histories.values())).timeframe
    table = Table(title=f"session on {', '.join(symbols)} {timeframe}")
    table.add_column("what")
    table.add_column("value", justify="right")
    for key, value in counts.items():
        table.add_row(key, str(value))
    table.add_row("risk events", str(risk_events))
    table.add_row("risk state", f"{status['state']} {status['reason'] or ''}".strip())
    for key in ("cash", "equity", "realized_pnl", "unrealized_pnl", "fees_paid"):
        table.add_row(key, f"{Decimal(book[key]):,.2f}")
    table.add_row("total return", f"{metrics['total_return']:.4%}")
    table.add_row("max drawdown", f"{metrics['max_drawdown']:.4%}")
    console.print(table)
    if len(symbols) > 1:
        console.print(_symbols_table(symbol_metrics(result, fee_bps), book["positions"]))
    meta = {
        "session": request.session_id,
        "data": request.data,
        "symbol": result.bars.symbol,
        "timeframe": timeframe,
        **counts,
        "bars": len(result.bars),  # steps; counts["decisions"] has one per symbol and step
    }
    if len(symbols) > 1:
        meta["legs"] = [{"data": d, "symbol": s} for d, s in request.pairs]
        meta["weights"] = {s: request.weights(symbols).get(s, 1 / len(symbols)) for s in symbols}
    document = report_json(result, metrics, meta)
    document["portfolio"] = book
    if json_out:
        write_json(json_out, document)
        console.print(f"JSON: {json_out}")
    if report:
        write_html(report, result, metrics, meta, fee_bps)
        console.print(f"HTML report: {report}")


def _symbols_table(per_symbol: dict[str, dict[str, Any]], positions: dict[str, str]) -> Table:
    """One row per symbol of a portfolio session: its trades, costs, P&L and exposure."""
    table = Table(title="per symbol")
    for column in ("symbol", "fills", "fees", "realized P&L", "exposure", "position"):
        table.add_column(column, justify="left" if column == "symbol" else "right")
    for symbol, m in per_symbol.items():
        table.add_row(
            symbol,
            str(m["trades"]),
            f"{m['fees_paid']:,.2f}",
            f"{m['realized_pnl']:,.2f}",
            f"{m['exposure']:.1%}",
            positions.get(symbol, "0"),
        )
    return table
