"""An operator follows a saga's trace link from the console to Jaeger (``make up TRACING=1``'s setup:
every process exports its spans to the Jaeger the stack runs, devstack.jaeger) and finds the order's
trace there, with spans from all four services.

Jaeger's web UI is not built here (no registry serves it): the link opens the console's trace page,
which draws the trace from Jaeger's query API; the test reads the same trace through that API too."""

import json
import uuid

import requests
from playwright.sync_api import Page, expect

from browser_tests.test_console_in_browser import an_order, customer_token, eventually
from devstack import jaeger
from devstack.services import SERVICES
from e2e.browser import screenshot, sign_in
from saga_client import ShopClient
from saga_client.models import Saga

SERVICE_NAMES = {s.name for s in SERVICES}


def services_in(spans: list[dict[str, object]]) -> set[str]:
    """The services with spans in a trace: ``orders-web`` and ``orders-worker`` are both orders."""
    return {str(span["process"]["serviceName"]).rsplit("-", 1)[0] for span in spans}  # type: ignore[index]


def test_an_operator_follows_a_sagas_trace_link_to_jaeger(
    page: Page, console_url: str, api: ShopClient, traces: jaeger.JaegerPorts
) -> None:
    customer = f"c-{uuid.uuid4().hex[:8]}"
    api.open_account(customer, "100.00")
    placed = api.with_token(customer_token(customer)).place_order(an_order())

    def completed() -> Saga | None:
        saga = api.saga_of(placed.id)
        return saga if saga is not None and saga.state == "COMPLETED" else None

    saga = eventually(completed)
    trace_id = saga.trace_id
    assert trace_id, "the saga keeps the trace it started in"

    def every_service_arrived() -> list[dict[str, object]] | None:
        """Each process exports its spans in batches: wait for all four services'."""
        found = jaeger.trace_spans(traces.query_url, trace_id)
        return found if services_in(found) == SERVICE_NAMES else None

    spans = eventually(every_service_arrived)
    assert {span["traceID"] for span in spans} == {trace_id}

    sign_in(page, console_url)
    page.goto(f"{console_url}/ops/sagas/{saga.id}")
    link = page.get_by_role("link", name=trace_id)
    expect(link).to_have_attribute("href", f"/ops/traces/{trace_id}")
    screenshot(page, "saga-trace-link")
    link.click()
    # the console's trace page, drawn from Jaeger's query API: the spans of every service
    page.wait_for_url(f"{console_url}/ops/traces/{trace_id}")
    shown = {
        name.strip().rsplit("-", 1)[0]
        for name in page.get_by_test_id("trace-services").inner_text().split(",")
    }
    assert shown == SERVICE_NAMES
    assert int(page.get_by_test_id("trace-span-count").inner_text()) >= len(spans)  # more may have arrived
    expect(page.locator("tr[data-span]").first).to_contain_text("POST")  # the request that began it all
    screenshot(page, "saga-trace")
    raw = page.get_by_role("link", name=f"{traces.query_url}/api/traces/{trace_id}")
    raw.click()
    (trace,) = json.loads(page.locator("body").inner_text())["data"]
    assert trace["traceID"] == trace_id
    # and Jaeger lists the services, as its UI's search would offer them
    listed = requests.get(f"{traces.query_url}/api/services", timeout=5).json()["data"]
    assert {name.rsplit("-", 1)[0] for name in listed if name != "jaeger"} >= SERVICE_NAMES
