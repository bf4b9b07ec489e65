"""docker-compose.yml, Dockerfile and .env.example, checked without Docker."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

SERVICES = {
    "ray-head",
    "ray-worker",
    "postgres",
    "redis",
    "clickhouse",
    "openbao",
    "prometheus",
    "grafana",
}
# services that keep state and therefore need a named volume
STATEFUL = SERVICES - {"ray-worker"}
INTERP = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|KEY", re.IGNORECASE)


def _uncommented(path: Path) -> str:
    return "\n".join(
        line for line in path.read_text().splitlines() if not line.lstrip().startswith("#")
    )


@pytest.fixture(scope="module")
def text() -> str:
    """The compose file without comment lines (compose interpolates only the rest)."""
    return _uncommented(COMPOSE)


@pytest.fixture(scope="module")
def compose(text: str) -> dict[str, Any]:
    return yaml.safe_load(text)


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_parses_and_has_every_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= SERVICES
    images = {name: svc.get("image", "") for name, svc in compose["services"].items()}
    assert images["postgres"].startswith("postgres:16")
    assert images["redis"].startswith("redis:7")
    assert images["clickhouse"].startswith("clickhouse/clickhouse-server")
    assert images["openbao"].startswith(("quay.io/openbao/openbao", "hashicorp/vault"))
    assert "prometheus" in images["prometheus"] and "grafana" in images["grafana"]


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        check = svc.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name


def test_api_healthcheck_uses_liveness_probe(compose: dict[str, Any]) -> None:
    test = compose["services"]["ray-head"]["healthcheck"]["test"]
    assert "/health/live" in " ".join(test)


def test_stateful_services_use_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name in STATEFUL:
        mounts = compose["services"][name].get("volumes") or []
        named = {str(m).split(":", 1)[0] for m in mounts if not str(m).startswith((".", "/"))}
        assert named, f"{name} keeps data but mounts no named volume"
        assert named <= declared, f"{name}: undeclared volumes {named - declared}"


def test_ray_head_and_workers(compose: dict[str, Any]) -> None:
    head = compose["services"]["ray-head"]
    command = " ".join(head["command"]) if isinstance(head["command"], list) else head["command"]
    assert "ray start --head --port=6390 --dashboard-host=0.0.0.0" in command
    assert "--block" in command and "serve run" in command
    assert "cluster/serve_config.yaml" in command
    ports = " ".join(map(str, head["ports"]))
    assert ":8265" in ports and ":8000" in ports
    worker = compose["services"]["ray-worker"]
    assert "replicas" in worker["deploy"]
    wcommand = (
        " ".join(worker["command"]) if isinstance(worker["command"], list) else worker["command"]
    )
    assert "--address=ray-head:6390" in wcommand
    assert "ports" not in worker and "container_name" not in worker  # scalable


def test_sigmax_env_wiring(compose: dict[str, Any]) -> None:
    for name in ("ray-head", "ray-worker"):
        env = _env(compose["services"][name])
        assert env["SIGMAX_POSTGRES_DSN"].startswith("postgresql://")
        assert "@postgres:5432/" in env["SIGMAX_POSTGRES_DSN"]
        assert (
            env["SIGMAX_REDIS_URL"].startswith("redis://")
            and "@redis:6379" in env["SIGMAX_REDIS_URL"]
        )
        assert "@clickhouse:8123" in env["SIGMAX_CLICKHOUSE_URL"]
        assert env["SIGMAX_VAULT_ADDR"] == "http://openbao:8200"
        assert "RAY_AUTH_MODE" in env


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert "pip install ." in text
    assert "USER " in text  # not root


def test_every_secret_is_required_and_documented(text: str) -> None:
    documented = _env_example()
    found = INTERP.findall(text)
    assert found
    for var, op, _ in found:
        assert var in documented, f"{var} missing from .env.example"
        if SECRET_NAME.search(var):
            assert op == ":?", f"secret {var} must use ${{{var}:?...}}"
    for var, value in documented.items():
        if SECRET_NAME.search(var) and not var.endswith("_FILE"):
            assert value == "", f".env.example must not ship a value for {var}"


def test_every_env_example_variable_is_commented() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert i > 0 and lines[i - 1].startswith("#"), f"no comment above {line!r}"


def test_no_literal_passwords(compose: dict[str, Any], text: str) -> None:
    for name, svc in compose["services"].items():
        for key, value in _env(svc).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", value), f"{name}.{key}={value}"
            # credentials inside URLs come from variables too
            for cred in re.findall(r"://[^/@\s]*:([^@/\s]+)@", value):
                assert cred.startswith("${") and ":?" in cred, f"{name}.{key}"
    literal = re.compile(
        r"(?i)(password|secret|token)\w*[ \t]*(?:=|:[ \t])[ \t]*['\"]?(?![$'\"])\S{4,}"
    )
    others = [
        ROOT / "Dockerfile",
        *sorted((ROOT / "cluster").rglob("*.y*ml")),
        *sorted((ROOT / "cluster").rglob("*.hcl")),
    ]
    for path in [COMPOSE, *others]:
        hit = literal.search(_uncommented(path))
        assert hit is None, f"{path.relative_to(ROOT)}: {hit and hit.group(0)}"


def test_gitignore_keeps_env_and_secrets_out() -> None:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in lines and "/secrets/" in lines
