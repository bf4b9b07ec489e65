"""The Ray cluster launcher config and the KubeRay manifests load and validate.

Launcher: Ray's own schema (ray/autoscaler/ray-schema.json in the wheel) and Ray's
own config loading (prepare_config + validate_config), then Ray's scheduler decides
which node types a sweep or a GPU task would start.
KubeRay: the CRD fields used here as strict pydantic models (the CRD schemas ship in
no PyPI/npm package), every pod template against the Kubernetes core schema shipped
by kubernetes-validate, serveConfigV2 against Ray Serve's own schema, and the RayJob
entrypoint parsed by the real ``sigmax train`` command.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any, Literal

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "cluster" / "launcher" / "aws.yaml"
K8S = ROOT / "cluster" / "k8s"
GCS_PORT = 6390  # docker-compose.yml's head; Redis holds 6379
K8S_VERSION = "1.33.0"
SECRET_NAME = re.compile(r"(?i)password|secret|token|credential|_key$")


def _yaml(path: Path) -> dict[str, Any]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    assert len(docs) == 1, f"{path.name}: expected one document, got {len(docs)}"
    return dict(docs[0])


# ---- Ray cluster launcher ------------------------------------------------------


@pytest.fixture(scope="module")
def launcher() -> dict[str, Any]:
    return _yaml(LAUNCHER)


@pytest.fixture(scope="module")
def prepared(launcher: dict[str, Any]) -> dict[str, Any]:
    """The config as `ray up` sees it: merged with the AWS defaults, then validated."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(copy.deepcopy(launcher))
    validate_config(config)
    return dict(config)


def _ray_schema() -> dict[str, Any]:
    import ray.autoscaler

    return dict(json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text()))


def test_launcher_matches_rays_schema(launcher: dict[str, Any]) -> None:
    jsonschema.validate(launcher, _ray_schema())


def test_rays_schema_rejects_a_mistyped_launcher(launcher: dict[str, Any]) -> None:
    bad = copy.deepcopy(launcher)
    bad["available_node_types"]["ray.worker.cpu"]["resources"]["CPU"] = "eight"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _ray_schema())
    bad = copy.deepcopy(launcher)
    bad["idle_timeout"] = 5  # not a launcher key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _ray_schema())


def test_launcher_node_types(prepared: dict[str, Any]) -> None:
    types = prepared["available_node_types"]
    assert set(types) == {"ray.head.default", "ray.worker.cpu", "ray.worker.gpu"}
    assert prepared["head_node_type"] == "ray.head.default"
    assert types["ray.head.default"]["resources"] == {"CPU": 0}  # no tasks on the head
    cpu, gpu = types["ray.worker.cpu"], types["ray.worker.gpu"]
    assert 1 <= cpu["min_workers"] < cpu["max_workers"]
    assert "GPU" not in cpu["resources"] and cpu["resources"]["CPU"] >= 2
    assert gpu["min_workers"] == 0 < gpu["max_workers"]
    assert gpu["resources"]["GPU"] >= 1
    assert gpu["docker"]["worker_image"].endswith("-gpu")
    assert prepared["max_workers"] >= cpu["max_workers"] + gpu["max_workers"]
    assert 0 < prepared["idle_timeout_minutes"] <= 30 and prepared["upscaling_speed"] > 0
    assert prepared["provider"]["type"] == "aws"


def test_launcher_images_match_the_pinned_ray(launcher: dict[str, Any]) -> None:
    import ray

    images = [launcher["docker"]["image"]] + [
        t["docker"]["worker_image"]
        for t in launcher["available_node_types"].values()
        if "docker" in t
    ]
    for image in images:
        assert image.startswith(f"rayproject/ray:{ray.__version__}-py311"), image


def _nodes_for(config: dict[str, Any], demands: list[dict[str, Any]]) -> dict[str, int]:
    from ray.autoscaler._private.node_provider_availability_tracker import (
        NodeAvailabilitySummary,
    )
    from ray.autoscaler._private.resource_demand_scheduler import (
        _default_utilization_scorer,
        get_nodes_for,
    )

    scorer = functools.partial(
        _default_utilization_scorer, node_availability_summary=NodeAvailabilitySummary({})
    )
    to_add, _ = get_nodes_for(
        config["available_node_types"], {}, config["head_node_type"],
        config["max_workers"], demands, scorer,
    )  # fmt: skip
    return dict(to_add)


def test_autoscaler_starts_cpu_workers_for_a_sweep_and_gpu_only_for_gpu_tasks(
    prepared: dict[str, Any],
) -> None:
    cpus = prepared["available_node_types"]["ray.worker.cpu"]["resources"]["CPU"]
    sweep = [{"CPU": 1.0}] * (3 * cpus)  # 3 workers' worth of one-CPU backtests
    assert _nodes_for(prepared, sweep) == {"ray.worker.cpu": 3}
    assert _nodes_for(prepared, [{"CPU": 1.0, "GPU": 1.0}]) == {"ray.worker.gpu": 1}
    huge = _nodes_for(prepared, [{"CPU": 1.0}] * 1000)
    assert (
        huge["ray.worker.cpu"] == prepared["available_node_types"]["ray.worker.cpu"]["max_workers"]
    )
    assert sum(huge.values()) <= prepared["max_workers"]


def test_launcher_gcs_port_is_not_redis(launcher: dict[str, Any]) -> None:
    head = " ".join(launcher["head_start_ray_commands"])
    worker = " ".join(launcher["worker_start_ray_commands"])
    assert f"ray start --head --port={GCS_PORT}" in head
    assert f"--address=$RAY_HEAD_IP:{GCS_PORT}" in worker
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head
    assert "6379" not in LAUNCHER.read_text()
    compose = (ROOT / "docker-compose.yml").read_text()
    assert f"--port={GCS_PORT}" in compose  # the same port as the compose head


def test_launcher_carries_the_sigmax_runtime_env(launcher: dict[str, Any]) -> None:
    runtime_env = yaml.safe_load((ROOT / "cluster" / "runtime_env.yaml").read_text())
    wanted = {k: v for k, v in runtime_env["env_vars"].items() if k != "RAY_AUTH_MODE"}
    assert wanted
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        exports = _exports(" ".join(launcher[key]))
        for name, value in wanted.items():
            assert exports.get(name) == str(value), f"{key}: {name}"
        assert exports["RAY_AUTH_MODE"] == "token"  # the cluster is reachable: never disabled
    assert launcher["file_mounts"]["~/sigmax"] == "."
    assert any("pip install" in c and "~/sigmax" in c for c in launcher["setup_commands"])
    excluded = set(launcher["rsync_exclude"])
    assert {".venv", ".git", ".env", "secrets"} <= excluded


def _exports(command: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in re.finditer(r"export ([^;]+);", command):
        for word in shlex.split(match.group(1)):
            name, _, value = word.partition("=")
            out[name] = value
    return out


# ---- KubeRay: the CRD fields used, strictly ---------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class Metadata(Strict):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    labels: dict[str, str] = {}


class AuthOptions(Strict):
    mode: Literal["disabled", "token"]


class AutoscalerOptions(Strict):
    upscalingMode: Literal["Default", "Aggressive", "Conservative"] | None = None
    idleTimeoutSeconds: int = Field(gt=0)
    resources: dict[str, dict[str, str]] | None = None


class HeadGroupSpec(Strict):
    rayStartParams: dict[str, str]
    template: dict[str, Any]  # core PodTemplateSpec: checked by kubernetes-validate


class WorkerGroupSpec(Strict):
    groupName: str = Field(pattern=r"^[a-z0-9-]+$")
    replicas: int = Field(ge=0)
    minReplicas: int = Field(ge=0)
    maxReplicas: int = Field(gt=0)
    rayStartParams: dict[str, str]
    template: dict[str, Any]


class RayClusterSpec(Strict):
    rayVersion: str
    authOptions: AuthOptions
    enableInTreeAutoscaling: bool
    autoscalerOptions: AutoscalerOptions
    headGroupSpec: HeadGroupSpec
    workerGroupSpecs: list[WorkerGroupSpec] = Field(min_length=1)


class RayServiceSpec(Strict):
    serveConfigV2: str
    rayClusterConfig: RayClusterSpec


class RayJobSpec(Strict):
    entrypoint: str
    runtimeEnvYAML: str
    submissionMode: Literal["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"]
    shutdownAfterJobFinishes: bool
    ttlSecondsAfterFinished: int = Field(ge=0)
    activeDeadlineSeconds: int = Field(gt=0)
    backoffLimit: int = Field(ge=0)
    rayClusterSpec: RayClusterSpec


class RayService(Strict):
    apiVersion: Literal["ray.io/v1"]
    kind: Literal["RayService"]
    metadata: Metadata
    spec: RayServiceSpec


class RayJob(Strict):
    apiVersion: Literal["ray.io/v1"]
    kind: Literal["RayJob"]
    metadata: Metadata
    spec: RayJobSpec


@pytest.fixture(scope="module")
def service() -> RayService:
    return RayService.model_validate(_yaml(K8S / "rayservice.yaml"))


@pytest.fixture(scope="module")
def job() -> RayJob:
    return RayJob.model_validate(_yaml(K8S / "rayjob-train.yaml"))


def test_manifests_are_the_kuberay_resources_and_the_checkpoint_claim() -> None:
    kinds = {p.name: (_yaml(p)["apiVersion"], _yaml(p)["kind"]) for p in K8S.glob("*.yaml")}
    assert kinds == {
        "rayservice.yaml": ("ray.io/v1", "RayService"),
        "rayjob-train.yaml": ("ray.io/v1", "RayJob"),
        "rl-checkpoints-pvc.yaml": ("v1", "PersistentVolumeClaim"),
    }
    kubernetes_validate.validate(_yaml(K8S / "rl-checkpoints-pvc.yaml"), K8S_VERSION, strict=True)


def test_rayjob_mounts_the_checkpoint_claim(job: RayJob) -> None:
    claim = _yaml(K8S / "rl-checkpoints-pvc.yaml")["metadata"]["name"]
    volumes = job.spec.rayClusterSpec.headGroupSpec.template["spec"]["volumes"]
    assert {"name": "checkpoints", "persistentVolumeClaim": {"claimName": claim}} in volumes


def test_the_crd_model_rejects_a_misspelt_field() -> None:
    doc = _yaml(K8S / "rayservice.yaml")
    doc["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["minReplica"] = 1
    with pytest.raises(ValidationError, match="minReplica"):
        RayService.model_validate(doc)


def _clusters(service: RayService, job: RayJob) -> list[tuple[str, RayClusterSpec]]:
    return [("RayService", service.spec.rayClusterConfig), ("RayJob", job.spec.rayClusterSpec)]


def _templates(cluster: RayClusterSpec) -> list[tuple[str, dict[str, Any]]]:
    out = [("head", cluster.headGroupSpec.template)]
    return out + [(g.groupName, g.template) for g in cluster.workerGroupSpecs]


def test_pod_templates_match_the_kubernetes_schema(service: RayService, job: RayJob) -> None:
    for kind, cluster in _clusters(service, job):
        for group, template in _templates(cluster):
            wrapped = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": f"{kind.lower()}-{group}"},
                "template": template,
            }
            try:
                kubernetes_validate.validate(wrapped, K8S_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:
                raise AssertionError(f"{kind} {group}: {exc.message}") from None


def test_the_kubernetes_schema_rejects_a_bad_probe() -> None:
    template = {"spec": {"containers": [{"name": "c", "livenessProbe": {"httpGet": {}}}]}}
    doc = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate({**doc, "template": template}, K8S_VERSION, strict=True)


def test_clusters_autoscale_on_the_pinned_ray(service: RayService, job: RayJob) -> None:
    import ray

    for kind, cluster in _clusters(service, job):
        assert cluster.rayVersion == ray.__version__, kind
        assert cluster.enableInTreeAutoscaling, kind
        assert cluster.authOptions.mode == "token", kind
        assert cluster.headGroupSpec.rayStartParams["port"] == str(GCS_PORT), kind
        ports = _container(cluster.headGroupSpec.template)["ports"]
        assert {"name": "gcs-server", "containerPort": GCS_PORT} in ports, kind
        for group in cluster.workerGroupSpecs:
            assert group.minReplicas <= group.replicas <= group.maxReplicas, group.groupName
    groups = {g.groupName: g for g in service.spec.rayClusterConfig.workerGroupSpecs}
    assert groups["cpu"].minReplicas < groups["cpu"].maxReplicas
    assert groups["gpu"].minReplicas == 0
    gpu_limits = _container(groups["gpu"].template)["resources"]["limits"]
    assert gpu_limits["nvidia.com/gpu"] == "1"


def _container(template: dict[str, Any]) -> dict[str, Any]:
    containers = template["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def test_settings_come_from_a_secret_never_inline(service: RayService, job: RayJob) -> None:
    for kind, cluster in _clusters(service, job):
        for group, template in _templates(cluster):
            container = _container(template)
            refs = [e["secretRef"]["name"] for e in container.get("envFrom", [])]
            assert refs == ["sigmax-env"], f"{kind} {group}"
            for env in container.get("env", []):
                assert not SECRET_NAME.search(env["name"]), f"{kind} {group}: {env['name']}"
    documented = (ROOT / "docs" / "CONFIGURATION.md").read_text()
    keys = [
        line.split("=", 1)[0]
        for line in (K8S / "sigmax.env.example").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert "SIGMAX_POSTGRES_DSN" in keys
    for key in keys:
        assert f"`{key}`" in documented, f"{key} is not a SIGMAX setting"


def test_serve_config_validates_with_serves_schema_and_imports(service: RayService) -> None:
    from ray.serve import Application
    from ray.serve.schema import ServeDeploySchema

    config = ServeDeploySchema.model_validate(yaml.safe_load(service.spec.serveConfigV2))
    assert config.http_options.host == "0.0.0.0" and config.http_options.port == 8000
    (app,) = config.applications
    module, _, attr = app.import_path.partition(":")
    assert isinstance(getattr(importlib.import_module(module), attr), Application)
    local = yaml.safe_load((ROOT / "cluster" / "serve_config.yaml").read_text())
    (local_app,) = local["applications"]
    assert (app.name, app.import_path) == (local_app["name"], local_app["import_path"])
    (deployment,) = app.deployments
    assert deployment.name == local_app["deployments"][0]["name"]
    scaling = deployment.autoscaling_config
    assert isinstance(scaling, dict)
    assert 1 <= scaling["min_replicas"] < scaling["max_replicas"]


def test_probes_use_the_apis_health_routes(service: RayService) -> None:
    from fastapi.testclient import TestClient

    from serve_app.api import create_app

    api = create_app()
    wanted = {"livenessProbe": "/health/live", "readinessProbe": "/health/ready"}
    assert set(wanted.values()) <= set(api.openapi()["paths"])
    live = TestClient(api, follow_redirects=False).get("/health/live")  # no key, no stores
    assert live.status_code == 200 and live.json() == {"status": "live"}
    for group, template in _templates(service.spec.rayClusterConfig):
        container = _container(template)
        for probe, path in wanted.items():
            assert container[probe]["httpGet"] == {"path": path, "port": 8000}, group


def test_rayjob_runs_sigmax_train_with_real_flags(job: RayJob) -> None:
    import typer
    from typer.testing import CliRunner

    from sigmax.cli import app

    argv = shlex.split(job.spec.entrypoint)
    assert argv[:2] == ["sigmax", "train"]
    help_text = CliRunner().invoke(app, ["train", "--help"], terminal_width=200).output
    for flag in (a for a in argv[2:] if a.startswith("--")):
        assert flag in help_text, f"sigmax train has no {flag}"
    # Parse (without running) exactly as the command would: types and values check too.
    command = typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]
    ctx = command.make_context("train", argv[2:])
    assert ctx.params["iterations"] > 0 and str(ctx.params["checkpoint_dir"]).startswith("/mnt/")
    mounts = _container(job.spec.rayClusterSpec.headGroupSpec.template)["volumeMounts"]
    assert any(str(ctx.params["checkpoint_dir"]).startswith(m["mountPath"]) for m in mounts)


def test_rayjob_cleans_up_and_its_runtime_env_is_valid(job: RayJob) -> None:
    from ray.runtime_env import RuntimeEnv

    assert job.spec.shutdownAfterJobFinishes and job.spec.ttlSecondsAfterFinished > 0
    env = RuntimeEnv(**yaml.safe_load(job.spec.runtimeEnvYAML))
    assert env["env_vars"]["OMP_NUM_THREADS"] == "1"
