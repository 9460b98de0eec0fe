"""Prometheus's own page, in Chromium: the graph of the sagas ending per second by outcome (the recording
rule the Sagas dashboard shows), from the stack's real sagas. Its screenshot is in the README."""

import time
import uuid
from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from devstack.prometheus import wait_for
from devstack.services import SERVICES
from devstack.stack import Stack
from e2e.browser import screenshot
from e2e.client import SystemClient

THROUGHPUT = "saga_state:sagaref_saga_finished:rate5m"


def test_prometheus_graphs_the_saga_throughput_by_outcome(page: Page, stack: Stack) -> None:
    client = SystemClient({s.name: stack.url(s.name) for s in SERVICES})
    customer = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(customer, credit_limit="500.00")
    for wave in range(4):  # a few seconds apart, so that the graph has a shape
        placed = [client.place_order(customer) for _ in range(wave + 1)]
        placed += [
            client.place_order(customer, country="AQ"),  # rejected by shipping
            client.place_order(f"c-nobody-{uuid.uuid4().hex[:6]}"),  # declined: no account
        ]
        for order in placed:
            client.wait_until_settled(order.id)
        time.sleep(4)
    client.close()
    for state in ("COMPLETED", "COMPENSATED"):
        assert wait_for(stack.prometheus_url, f'{THROUGHPUT}{{state="{state}"}}', timeout=60), state
    query = urlencode({"g0.expr": THROUGHPUT, "g0.tab": "0", "g0.range_input": "5m"})
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{stack.prometheus_url}/graph?{query}")
    legend = page.locator(".graph_container .legend")  # the classic UI's graph (Rickshaw), once queried
    expect(legend).to_contain_text('state="COMPLETED"', timeout=15_000)
    expect(legend).to_contain_text('state="COMPENSATED"')
    # a series drawn (the first path may be a series flat at zero: a saga type with no recent end)
    expect(page.locator(".graph_area svg path >> visible=true").first).to_be_visible()
    screenshot(page, "prometheus-saga-throughput")
