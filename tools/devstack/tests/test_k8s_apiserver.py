"""Every overlay, alone and with every optional component, on a real Kubernetes API server with its
controllers, scheduler and KWOK's simulated nodes (devstack.k8s_check, also ``make k8s-check``):
accepted as applied, Jobs complete before the web pods, every workload available, every HPA, PDB and
Service finding what it points at. And the check itself fails on manifests broken for it."""

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from devstack import k8s_check
from devstack.k8s_check import Outcome, Variant
from devstack.kube import ControlPlane

# The control plane starts in seconds; the six variants take two to three minutes side by side.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def plane() -> Iterator[ControlPlane]:
    control_plane = ControlPlane(k8s_check.WORK_DIR / "test-cluster")
    control_plane.start()
    try:
        yield control_plane
    finally:
        control_plane.stop()


@pytest.fixture(scope="module")
def outcomes(plane: ControlPlane) -> dict[str, Outcome]:
    return {outcome.variant.namespace: outcome for outcome in k8s_check.check_all(plane)}


@pytest.mark.parametrize("variant", k8s_check.variants(), ids=lambda v: v.namespace)
def test_the_overlay_is_accepted_and_every_workload_becomes_available(
    outcomes: dict[str, Outcome], variant: Variant
) -> None:
    outcome = outcomes[variant.namespace]
    assert outcome.failures == []
    assert outcome.objects > 50
    # every step was waited for, and each found what it waited for
    assert set(outcome.phases) >= {"Jobs complete", "StatefulSets ready", "Deployments available"}


def broken(kind: str, change: Any, namespace: str) -> tuple[Variant, list[dict[str, Any]]]:
    """The dev overlay in a namespace of its own, with ``change`` made to its first ``kind``."""
    variant = Variant("dev", name=namespace)
    objects = copy.deepcopy(k8s_check.render(variant))
    change(next(o for o in objects if o["kind"] == kind))
    return variant, objects


def test_the_check_fails_on_an_hpa_without_its_deployment(plane: ControlPlane, outcomes: Any) -> None:
    def retarget(hpa: dict[str, Any]) -> None:
        hpa["spec"]["scaleTargetRef"]["name"] = "no-such-deployment"

    variant, objects = broken("HorizontalPodAutoscaler", retarget, "check-broken-hpa")
    outcome = k8s_check.check(plane, variant, timeout=60, objects=objects)
    assert any(f.startswith("HPAs found their targets:") for f in outcome.failures), outcome.failures


def test_the_check_fails_on_an_object_the_api_server_refuses(plane: ControlPlane, outcomes: Any) -> None:
    def misname(config_map: dict[str, Any]) -> None:
        config_map.setdefault("data", {})["not/a-key"] = "a ConfigMap's keys may not hold a slash"

    variant, objects = broken("ConfigMap", misname, "check-broken-key")
    outcome = k8s_check.check(plane, variant, timeout=60, objects=objects)
    assert len(outcome.failures) == 1, outcome.failures
    assert outcome.failures[0].startswith("refused:")
    assert "not/a-key" in outcome.failures[0]
