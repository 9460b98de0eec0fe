"""The optional component k8s/components/tracing renders with each overlay and validates strictly; its
collector and Jaeger run pinned, probed and locked down like every pod of ours; every web and worker
(the console's too) exports its spans to the collector, whose Service and configuration lead on to
Jaeger, and the console links traces to Jaeger's UI; and its NetworkPolicies let exactly those pods
reach the collector, and only the collector reach Jaeger."""

from typing import Any

import kubernetes_validate
import pytest
import yaml

from devstack.services import APPS, SERVICES
from tests.test_k8s_components import build_with
from tests.test_k8s_manifests import (
    K8S_VERSION,
    OVERLAYS,
    Cluster,
    connects,
    container_env,
    containers,
    egress,
    ingress,
    of_kind,
    pod_specs,
)

IMAGES = {
    "otel-collector": "otel/opentelemetry-collector-contrib:0.116.0",
    "jaeger": "jaegertracing/all-in-one:1.65.0",
}
SENDERS = {f"{s.name}-{c}" for s in SERVICES for c in ("web", "worker")} | {f"{a.name}-web" for a in APPS}

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module", params=OVERLAYS)
def traced(request: pytest.FixtureRequest) -> Objects:
    return build_with(request.param, "tracing")


def ports_of(service: dict[str, Any]) -> dict[str, int]:
    return {port["name"]: port["port"] for port in service["spec"]["ports"]}


def test_every_object_validates_strictly(traced: Objects) -> None:
    for obj in traced:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_the_collector_and_jaeger_run_pinned_probed_and_locked_down(traced: Objects) -> None:
    added = {
        name: deployment
        for name, deployment in of_kind(traced, "Deployment").items()
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "tracing"
    }
    assert {
        name: d["spec"]["template"]["spec"]["containers"][0]["image"] for name, d in added.items()
    } == IMAGES
    for where, spec in pod_specs([*added.values()]):
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["enableServiceLinks"] is False, where
        for container in containers(spec):
            assert {"readinessProbe", "livenessProbe"} <= container.keys(), where
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert container["resources"]["requests"]["cpu"], where
            assert container["resources"]["limits"]["memory"], where


def test_every_web_and_worker_exports_to_the_collector_which_exports_to_jaeger(traced: Objects) -> None:
    services = of_kind(traced, "Service")
    collector = ports_of(services["otel-collector"])
    exporting = set()
    for name, deployment in of_kind(traced, "Deployment").items():
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] not in ("web", "worker"):
            continue
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = container_env(container, traced)
        assert env["OTEL_TRACES_EXPORTER"] == "otlp", name
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{collector['otlp-http']}", name
        assert env["OTEL_RESOURCE_ATTRIBUTES"].startswith("k8s.pod.name=$(OTEL_POD_NAME)"), name
        exporting.add(name)
    assert exporting == SENDERS
    # the collector receives OTLP/HTTP where its Service sends it, and sends it on to Jaeger's OTLP port
    config = yaml.safe_load(of_kind(traced, "ConfigMap")["otel-collector-config"]["data"]["config.yaml"])
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(f":{collector['otlp-http']}")
    (exporter,) = config["service"]["pipelines"]["traces"]["exporters"]
    assert config["exporters"][exporter]["endpoint"] == f"jaeger:{ports_of(services['jaeger'])['otlp-grpc']}"
    (pod,) = of_kind(traced, "Deployment")["otel-collector"]["spec"]["template"]["spec"]["containers"]
    assert {p["name"] for p in pod["ports"]} >= {"otlp-http", "otlp-grpc"}


def test_the_console_links_traces_to_jaegers_ui(traced: Objects) -> None:
    for app in APPS:
        (web,) = of_kind(traced, "Deployment")[f"{app.name}-web"]["spec"]["template"]["spec"]["containers"]
        ui = ports_of(of_kind(traced, "Service")["jaeger"])[
            "ui"
        ]  # what `kubectl port-forward svc/jaeger` serves
        assert container_env(web, traced)["TRACE_URL_TEMPLATE"] == f"http://localhost:{ui}/trace/{{trace_id}}"


def test_the_pods_reach_the_collector_and_only_the_collector_reaches_jaeger(traced: Objects) -> None:
    cluster = Cluster.of(traced)
    collector, jaeger = cluster.pods["otel-collector"], cluster.pods["jaeger"]
    for name, pod in cluster.pods.items():
        assert connects(traced, pod, collector, 4318) is (name in SENDERS), name
        assert connects(traced, pod, jaeger, 4317) is (name == "otel-collector"), name
        assert not connects(traced, pod, jaeger, 16686), name  # the UI: kubectl port-forward only
    for outsider in (cluster.stranger, cluster.impostor, cluster.elsewhere):
        assert not ingress(traced, outsider, collector, 4318)
        assert not ingress(traced, outsider, jaeger, 16686)
    assert not egress(traced, collector, cluster.elsewhere, 443)
    assert not egress(traced, jaeger, cluster.elsewhere, 443)
    # and nothing else opened: the webs still reach no broker, the workers no other API
    for service in SERVICES:
        assert not connects(traced, cluster.pods[f"{service.name}-web"], cluster.pods["kafka"], 9092)


def test_without_the_component_nothing_exports_spans() -> None:
    objects = build_with("dev", None)
    for _, spec in pod_specs(objects):
        for container in containers(spec):
            assert not any(v["name"].startswith("OTEL_") for v in container.get("env", []))
