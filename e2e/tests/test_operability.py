"""What every service offers operators: health checks and an OpenAPI schema, all JSON."""

import time

import pytest
import requests

from devstack.services import SERVICES
from devstack.stack import Stack
from e2e.client import SystemClient

ENDPOINTS = {
    "orders": "/api/v1/orders",
    "payments": "/api/v1/accounts",
    "shipping": "/api/v1/shipments",
    "orchestrator": "/api/v1/sagas",
}


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_service_is_live_ready_and_describes_its_api(stack: Stack, service: str) -> None:
    base = stack.url(service)
    assert requests.get(f"{base}/healthz/live", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{base}/healthz/ready", timeout=5)
    assert (ready.status_code, ready.json()["checks"]) == (200, {"database": True})  # never the broker
    schema = requests.get(
        f"{base}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}, timeout=5
    )
    assert ENDPOINTS[service] in schema.json()["paths"]


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_unknown_paths_get_json_not_html(stack: Stack, service: str) -> None:
    response = requests.get(f"{stack.url(service)}/no/such/page", timeout=5)
    assert (response.status_code, response.headers["Content-Type"], response.json()) == (
        404,
        "application/json",
        {"detail": "Not found."},
    )


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_the_api_refuses_callers_without_a_token_with_json(stack: Stack, service: str) -> None:
    response = requests.get(f"{stack.url(service)}{ENDPOINTS[service]}", timeout=5)
    assert (response.status_code, response.headers["Content-Type"]) == (401, "application/json")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_oversized_body_is_a_json_413_through_the_real_server(stack: Stack) -> None:
    response = requests.post(
        f"{stack.url('orders')}/api/v1/orders",
        data=b"{" + b" " * (300 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert (response.status_code, response.headers["Content-Type"]) == (413, "application/json")


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_every_worker_keeps_its_heartbeat_fresh(stack: Stack, service: str) -> None:
    heartbeat = stack.heartbeat_file(f"{service}-worker")
    first = heartbeat.stat().st_mtime
    time.sleep(1.2)
    assert heartbeat.stat().st_mtime > first  # touched every half second while every loop runs
    assert time.time() - heartbeat.stat().st_mtime < 5


def test_workers_serve_saga_and_messaging_metrics(stack: Stack, client: SystemClient) -> None:
    client.open_account("metrics-customer", "100.00")
    order = client.place_order("metrics-customer")
    assert client.wait_until_settled(order.id).status == "APPROVED"
    port = stack.metrics_ports["orchestrator-worker"]
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    completed = [line for line in text.splitlines() if line.startswith("sagaref_saga_finished_total{")]
    assert any('state="COMPLETED"' in line and float(line.split()[-1]) >= 1 for line in completed)
    assert (
        'sagaref_saga_step_duration_seconds_count{outcome="SUCCEEDED",saga="place_order",step="capture_payment"}'
        in text
    )
    assert 'sagaref_saga_duration_seconds_count{saga="place_order",state="COMPLETED"}' in text
    assert 'sagaref_sagas{saga="place_order",state="FAILED"}' in text
    assert "sagaref_worker_heartbeat_timestamp_seconds" in text
    assert "sagaref_consumer_lag_messages{topic=" in text
    assert "sagaref_outbox_backlog_rows" in text
    assert 'sagaref_inbox_messages_total{outcome="handled"' in text
