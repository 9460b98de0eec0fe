"""The console's metrics: its answers by view and status, its calls to the APIs by service and outcome,
served on a port of their own by the server its settings name for gunicorn."""

import httpx
import requests
import respx
from django.conf import settings
from django.test import Client
from django.utils.module_loading import import_string
from prometheus_client import REGISTRY

from devstack.broker import free_port
from tests.conftest import page, saga_json

SAGA = "0d7a4c1e-0000-4000-8000-00000000000a"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_answers_are_counted_and_timed_by_view_and_status(operator: Client, apis: respx.MockRouter) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA))
    shown = {"view": "saga", "method": "GET", "status": "200"}
    missing = {"view": "unmatched", "method": "GET", "status": "404"}
    before, timed, unknown = (
        sample("sagaref_console_http_requests_total", **shown),
        sample("sagaref_console_http_request_duration_seconds_count", view="saga"),
        sample("sagaref_console_http_requests_total", **missing),
    )
    assert operator.get(f"/ops/sagas/{SAGA}").status_code == 200
    assert operator.get("/no/such/page").status_code == 404
    assert sample("sagaref_console_http_requests_total", **shown) == before + 1  # the pattern, not the id
    assert sample("sagaref_console_http_request_duration_seconds_count", view="saga") == timed + 1
    assert sample("sagaref_console_http_requests_total", **missing) == unknown + 1


def test_api_calls_are_counted_by_service_and_outcome(operator: Client, apis: respx.MockRouter) -> None:
    apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([]))
    apis.get("http://orchestrator.test/api/v1/sagas/counts").respond(status_code=503, json={"detail": "busy"})
    for service in ("orders", "payments", "shipping"):
        apis.get(f"http://{service}.test/api/v1/operations/messaging").mock(
            side_effect=httpx.ConnectError("refused")
        )
    apis.get("http://orchestrator.test/api/v1/operations/messaging").respond(status_code=500, json={})
    counted = {
        outcome: sample("sagaref_console_api_calls_total", service=service, outcome=outcome)
        for service, outcome in [
            ("orchestrator", "ok"),
            ("orchestrator", "server_error"),
            ("orders", "unavailable"),
        ]
    }
    operator.get("/ops/sagas")  # the list answers, its counts do not
    operator.get("/ops/messaging")  # orders is away, the orchestrator fails
    assert (
        sample("sagaref_console_api_calls_total", service="orchestrator", outcome="ok") == counted["ok"] + 1
    )
    assert (
        sample("sagaref_console_api_calls_total", service="orchestrator", outcome="server_error")
        == counted["server_error"] + 2
    )
    assert (
        sample("sagaref_console_api_calls_total", service="orders", outcome="unavailable")
        == counted["unavailable"] + 1
    )
    assert sample("sagaref_console_api_call_duration_seconds_count", service="orders") >= 1


def test_gunicorn_serves_them_with_the_consoles_own_server() -> None:
    port = free_port()
    import_string(settings.METRICS_SERVER)(port)  # what saga_common.web.gunicorn_conf does
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "sagaref_console_http_requests_total" in text
    assert "sagaref_outbox" not in text  # none of the services' gauges (no outbox here)


def test_a_made_up_method_cannot_make_a_new_series(operator: Client) -> None:
    before = sample("sagaref_console_http_requests_total", view="home", method="other", status="405")
    assert operator.generic("BREW", "/").status_code == 405
    assert sample("sagaref_console_http_requests_total", view="home", method="BREW", status="405") == 0.0
    assert (
        sample("sagaref_console_http_requests_total", view="home", method="other", status="405") == before + 1
    )
