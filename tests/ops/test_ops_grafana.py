"""Grafana dashboards against Grafana's own dashboard schema; alert rules' structure.

The schema is cluster/grafana/schema/dashboard.schema.json, generated from the npm
package @grafana/schema (see the README there). Ray metric names must be ones Ray's
own Grafana panels (shipped in the installed wheel) chart; SIGMAX's own names are
checked against the live registries in test_ops_observability.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "cluster" / "grafana"
SCHEMA = GRAFANA / "schema" / "dashboard.schema.json"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
ALERTS = ROOT / "cluster" / "prometheus" / "alerts.yml"
DURATION = r"^(\d+(ms|s|m|h|d|w|y))+$"  # Prometheus durations: 30s, 1h30m


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _errors(validator: jsonschema.Draft7Validator, doc: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in validator.iter_errors(doc)
    ]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_matches_grafanas_schema(
    path: Path, validator: jsonschema.Draft7Validator
) -> None:
    assert _errors(validator, _load(path)) == []


def test_grafanas_schema_rejects_what_grafana_would_not_load(
    validator: jsonschema.Draft7Validator,
) -> None:
    dashboard = _load(GRAFANA / "dashboards" / "api.json")
    assert _errors(validator, dashboard) == []
    misspelt = json.loads(json.dumps(dashboard))
    misspelt["panels"][0]["gridpos"] = misspelt["panels"][0].pop("gridPos")
    assert _errors(validator, misspelt)
    mistyped = json.loads(json.dumps(dashboard))
    mistyped["panels"][0]["gridPos"]["w"] = "half"
    assert _errors(validator, mistyped)
    unknown_top = {**dashboard, "refresh_rate": "30s"}
    assert _errors(validator, unknown_top)
    assert _errors(validator, {k: v for k, v in dashboard.items() if k != "schemaVersion"})


def _panels() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, panel) for p in DASHBOARDS for panel in _load(p)["panels"]]


def test_panel_ids_are_unique_and_panels_do_not_overlap() -> None:
    for path in DASHBOARDS:
        panels = _load(path)["panels"]
        ids = [p["id"] for p in panels]
        assert len(ids) == len(set(ids)), path.name
        cells: set[tuple[int, int]] = set()
        for panel in panels:
            pos = panel["gridPos"]
            mine = {
                (x, y)
                for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])
            }
            assert not cells & mine, f"{path.name}: {panel['title']} overlaps"
            cells |= mine


def _exprs(dashboard: str) -> str:
    return " ".join(
        t["expr"] for name, panel in _panels() if name == dashboard for t in panel["targets"]
    )


def test_the_four_dashboard_themes() -> None:
    assert {p.stem for p in DASHBOARDS} == {"trading", "api", "actors", "pools"}
    trading = _exprs("trading")
    for metric in ("sigmax_trading_realized_pnl", "sigmax_trading_unrealized_pnl"):
        assert metric in trading  # P&L
    assert "sigmax_trading_exposure" in trading
    assert "sigmax_trading_orders" in trading and "sigmax_trading_fills" in trading
    assert "max by (rule) (delta(sigmax_trading_risk_rejections" in trading
    assert 'state="killed"' in trading and 'state="paused"' in trading
    api = _exprs("api")
    assert "sum by (endpoint_class) (rate(sigmax_api_requests_total" in api  # rate
    assert "sigmax_api_request_seconds_bucket" in api  # latency
    assert "sum by (endpoint_class) (rate(sigmax_api_rate_limited_total" in api  # 429s
    actors = _exprs("actors")
    assert 'State="RESTARTING"' in actors  # restarts
    assert "PENDING_ACTOR_TASK_ORDERING_OR_CONCURRENCY" in actors  # actor call queues
    pools = _exprs("pools")
    assert "sigmax_pool_in_use" in pools and "sigmax_pool_waiting" in pools
    assert "sigmax_pool_acquire_seconds_bucket" in pools  # wait


@pytest.fixture(scope="module")
def ray_charted() -> set[str]:
    """Every ray_* series name that Ray's own Grafana panels query, in this Ray version."""
    import ray

    panels = Path(ray.__file__).parent / "dashboard" / "modules" / "metrics" / "dashboards"
    names = {
        m.group(0)
        for p in panels.glob("*_panels.py")
        for m in re.finditer(r"\bray_\w+", p.read_text())
    }
    assert len(names) > 50, panels
    return names


def _ray_names(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values such as "ray_..." are not metrics
    expr = re.sub(r"\bray_sigmax_", "sigmax_", expr)  # SIGMAX's own, through Ray's agent
    return set(re.findall(r"\bray_\w+", expr))


def _alert_rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]


def test_ray_metrics_used_are_ones_ray_exports(ray_charted: set[str]) -> None:
    used = [
        (f"{name}: {panel['title']}", t["expr"])
        for name, panel in _panels()
        for t in panel["targets"]
    ]
    used += [(rule["alert"], rule["expr"]) for rule in _alert_rules()]
    unknown = {where: sorted(_ray_names(e) - ray_charted) for where, e in used}
    assert {k: v for k, v in unknown.items() if v} == {}
    assert any(_ray_names(e) for _, e in used)


def test_task_states_in_queries_are_rays(ray_charted: set[str]) -> None:
    from ray.core.generated import common_pb2

    known = set(common_pb2.TaskStatus.keys())  # type: ignore[attr-defined]
    exprs = " ".join(t["expr"] for _, panel in _panels() for t in panel["targets"])
    for states in re.findall(r'ray_tasks\{[^}]*State=~"([^"]+)"', exprs):
        for state in states.split("|"):
            assert state in known, state


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AlertRule(Strict):
    alert: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expr: str = Field(min_length=1)
    for_: str | None = Field(None, alias="for", pattern=DURATION)
    keep_firing_for: str | None = Field(None, pattern=DURATION)
    labels: dict[Literal["severity"], Literal["critical", "warning", "info"]]
    annotations: dict[Literal["summary", "description", "runbook_url"], str]


class RuleGroup(Strict):
    name: str
    interval: str | None = Field(None, pattern=DURATION)
    rules: list[AlertRule] = Field(min_length=1)


class RuleFile(Strict):
    groups: list[RuleGroup] = Field(min_length=1)


def test_alert_rules_file_has_prometheus_structure() -> None:
    rules = RuleFile.model_validate(yaml.safe_load(ALERTS.read_text()))
    names = [g.name for g in rules.groups]
    assert len(names) == len(set(names))
    for rule in (r for g in rules.groups for r in g.rules):
        assert rule.annotations["summary"].strip(), rule.alert
        assert rule.expr.count("(") == rule.expr.count(")"), rule.alert
        assert rule.expr.count("{") == rule.expr.count("}"), rule.alert
    with pytest.raises(ValueError, match="for"):
        RuleFile.model_validate(
            {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "for": "5 min",
             "labels": {"severity": "warning"}, "annotations": {"summary": "s"}}]}]},

        )  # fmt: skip


def test_alerts_cover_breakers_kill_switch_and_actor_restarts() -> None:
    by_expr = {r["alert"]: r["expr"] for r in _alert_rules()}
    assert any('sigmax_trading_risk_state{state="killed"}' in e for e in by_expr.values())
    assert any('sigmax_trading_risk_state{state="paused"}' in e for e in by_expr.values())
    assert any('State="RESTARTING"' in e for e in by_expr.values())
