"""Prometheus config, alert rules and Grafana dashboards use metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[2]
PROM = ROOT / "cluster" / "prometheus"
GRAFANA = ROOT / "cluster" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

# Ray's built-in metrics used here (Ray 2.x system and Serve metrics, as named in
# Ray's metrics docs and in the panels of ray/dashboard/modules/metrics/dashboards).
RAY_METRICS = {
    "ray_actors",
    "ray_tasks",
    "ray_node_cpu_utilization",
    "ray_node_mem_used",
    "ray_node_mem_total",
    "ray_object_store_memory",
    "ray_node_manager_unexpected_worker_failure_total",
    "ray_serve_num_http_requests_total",
    "ray_serve_num_http_error_requests_total",
    "ray_serve_num_ongoing_http_requests",
    "ray_serve_deployment_replica_healthy",
}
PROMETHEUS_METRICS = {"up"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}

DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "uid", "schemaVersion", "panels"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "uid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["type", "title", "gridPos", "targets"],
                "properties": {
                    "type": {"type": "string", "minLength": 1},
                    "title": {"type": "string", "minLength": 1},
                    "gridPos": {
                        "type": "object",
                        "required": ["x", "y", "w", "h"],
                        "properties": {
                            "x": {"type": "integer", "minimum": 0, "maximum": 23},
                            "y": {"type": "integer", "minimum": 0},
                            "w": {"type": "integer", "minimum": 1, "maximum": 24},
                            "h": {"type": "integer", "minimum": 1},
                        },
                    },
                    "targets": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["expr"],
                            "properties": {"expr": {"type": "string", "minLength": 1}},
                        },
                    },
                },
            },
        },
    },
}


def _family_names(registry: CollectorRegistry, prefix: str = "") -> set[str]:
    names = set()
    for family in registry.collect():
        if not family.name.startswith(prefix):
            continue
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
    return names


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every series name the API's /api/v1/metrics can expose, from the real registries."""
    from prometheus_client import REGISTRY

    import serve_app._private.metrics  # noqa: F401  (registers the API metrics)
    from sigmax.storage.pool_metrics import PoolInstruments

    pools = CollectorRegistry()
    PoolInstruments("postgres", registry=pools)
    names = _family_names(REGISTRY, "sigmax_") | _family_names(pools)
    # cross-check with the definitions in the source, so a renamed metric is noticed
    sources = ("serve_app/_private/metrics.py", "actors/session_metrics.py")
    for path in (*sources, "sigmax/storage/pool_metrics.py"):
        src = (ROOT / path).read_text()
        for name in re.findall(r'(?:Counter|Gauge|Histogram)\(\s*"([a-z_:]+)"', src):
            assert name in names or f"{name}_total" in names, name
    return names


def _metric_names(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        following = expr[m.end() :].lstrip()[:1]
        token = m.group(0)
        if following == "(" or token in {"and", "or", "unless", "bool", "offset", "e"}:
            continue
        if re.fullmatch(r"e\d*", token):
            continue
        names.add(token)
    return names


def _alert_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((PROM / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _dashboard_exprs() -> list[tuple[str, str]]:
    out = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            out += [(f"{path.name}:{panel['title']}", t["expr"]) for t in panel["targets"]]
    return out


def test_prometheus_config_scrapes_ray_and_api() -> None:
    cfg = yaml.safe_load((PROM / "prometheus.yml").read_text())
    assert "/etc/prometheus/alerts.yml" in cfg["rule_files"]
    jobs = {job["job_name"]: job for job in cfg["scrape_configs"]}
    sd_files = [
        f for job in jobs.values() for sd in job.get("file_sd_configs", []) for f in sd["files"]
    ]
    from ray._private.ray_constants import PROMETHEUS_SERVICE_DISCOVERY_FILE

    assert f"/tmp/ray/{PROMETHEUS_SERVICE_DISCOVERY_FILE}" in sd_files
    api = jobs["sigmax-api"]
    assert api["metrics_path"] == "/api/v1/metrics"
    assert api["authorization"]["credentials_file"].startswith("/run/secrets/")
    assert "credentials" not in api["authorization"]  # never inline
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    secret = api["authorization"]["credentials_file"].rsplit("/", 1)[1]
    assert secret in compose["services"]["prometheus"]["secrets"]


def test_alert_rules_are_well_formed() -> None:
    rules = _alert_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["expr"].strip()
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]


def test_alerts_cover_the_operational_risks() -> None:
    exprs = " ".join(r["expr"] for r in _alert_rules())
    assert 'sigmax_trading_risk_state{state="killed"}' in exprs  # kill switch
    assert 'sigmax_trading_risk_state{state="paused"}' in exprs  # circuit breakers
    assert 'State="RESTARTING"' in exprs  # actor restarts
    assert 'status=~"5.."' in exprs  # API 5xx
    assert "sigmax_api_rate_limited_total" in exprs  # 429s
    assert "sigmax_pool_in_use" in exprs and "sigmax_pool_size" in exprs  # saturation


def test_risk_states_in_alerts_exist() -> None:
    from serve_app._private.metrics import RISK_STATES

    exprs = " ".join(r["expr"] for r in _alert_rules()) + " ".join(e for _, e in _dashboard_exprs())
    for state in re.findall(r'state="([a-z]+)"', exprs):
        assert state in RISK_STATES


@pytest.mark.parametrize(
    "where, expr", [(r["alert"], r["expr"]) for r in _alert_rules()] + _dashboard_exprs()
)
def test_every_metric_name_exists(where: str, expr: str, exported: set[str]) -> None:
    names = _metric_names(expr)
    assert names, where
    through_ray = {f"ray_{name}" for name in exported}  # Ray's prefix, actors/ray_metrics.py
    unknown = names - exported - through_ray - RAY_METRICS - PROMETHEUS_METRICS
    assert not unknown, f"{where}: unknown metrics {sorted(unknown)}"


def test_metric_name_extraction() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, store) "
        '(rate(sigmax_pool_acquire_seconds_bucket{store="x"}[5m]))) / clamp_min(up, 1e-9)'
    )
    assert _metric_names(expr) == {"sigmax_pool_acquire_seconds_bucket", "up"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_validates(path: Path) -> None:
    dashboard = json.loads(path.read_text())
    jsonschema.validate(dashboard, DASHBOARD_SCHEMA)
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]


def test_dashboards_are_the_four_with_unique_uids() -> None:
    assert {p.stem for p in DASHBOARDS} == {"trading", "api", "actors", "pools"}
    uids = [json.loads(p.read_text())["uid"] for p in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_schema_rejects_a_panel_without_expr() -> None:
    bad = {
        "title": "t",
        "uid": "u",
        "schemaVersion": 39,
        "panels": [
            {
                "type": "stat",
                "title": "p",
                "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
                "targets": [{"refId": "A"}],
            }
        ],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, DASHBOARD_SCHEMA)


def test_grafana_provisioning_matches_compose() -> None:
    (ds,) = [
        yaml.safe_load(p.read_text())
        for p in (GRAFANA / "provisioning" / "datasources").glob("*.yml")
    ]
    (prov,) = [
        yaml.safe_load(p.read_text())
        for p in (GRAFANA / "provisioning" / "dashboards").glob("*.yml")
    ]
    uid = ds["datasources"][0]["uid"]
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    path = prov["providers"][0]["options"]["path"]
    assert f"./cluster/grafana/dashboards:{path}:ro" in mounts
    for p in DASHBOARDS:
        for panel in json.loads(p.read_text())["panels"]:
            assert panel.get("datasource", {}).get("uid", uid) == uid
