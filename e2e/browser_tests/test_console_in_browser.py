"""What people do with the console, in Chromium: a customer's orders decided live, an operator retrying a
FAILED saga and replaying a dead letter, and a customer kept out of the operator's pages."""

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from playwright.sync_api import Page, expect

from devstack.local_keys import jwt_signing_key
from devstack.services import SERVICES
from devstack.stack import Stack
from e2e.browser import screenshot, sign_in
from saga_client import ShopClient
from saga_client.models import DeadLetter, OrderItem, OrderRequest, Saga, ShippingAddress
from saga_common.web.tokens import CUSTOMER, mint_token

DECIDED_WITHIN_MS = 30_000
T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float = 30.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError("not within the time allowed")
        time.sleep(0.25)


def new_customer(page: Page, console_url: str, credit_limit: str = "500.00") -> str:
    """An operator opens an account on the Accounts page; return its customer id."""
    customer = f"c-{uuid.uuid4().hex[:8]}"
    sign_in(page, console_url)
    page.get_by_role("link", name="Accounts").click()
    page.get_by_label("Customer id").first.fill(customer)
    page.get_by_label("Credit limit").fill(credit_limit)
    page.get_by_role("button", name="Open account").click()
    expect(page.get_by_text(f"Opened the account of {customer}.")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    return customer


def an_order(country: str = "DE") -> OrderRequest:
    address = ShippingAddress(
        name="Ada", line1="1 Main St", line2="", city="Berlin", postal_code="10115", country=country
    )
    return OrderRequest(
        currency="EUR",
        items=(OrderItem(sku="BOOK-1", quantity=1, unit_price=Decimal("12.50")),),
        shipping_address=address,
    )


def test_a_customer_watches_one_order_approved_and_another_rejected_with_its_reason(
    page: Page, console_url: str, api: ShopClient
) -> None:
    customer = new_customer(page, console_url)
    sign_in(page, console_url, customer=customer)
    expect(page.get_by_test_id("available")).to_have_text("500.00 EUR")

    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_text("placed. It is decided below.")).to_be_visible()
    first = page.locator("#orders tbody tr").first
    expect(first).to_contain_text("APPROVED", timeout=DECIDED_WITHIN_MS)  # no reload: htmx polls
    expect(first).to_contain_text("CAPTURED")
    expect(first).to_contain_text("SCHEDULED")

    page.get_by_label("Country").fill("AQ")  # Antarctica is never served
    page.get_by_role("button", name="Place order").click()
    rejected = page.locator("#orders tbody tr").first
    expect(rejected).to_contain_text("REJECTED", timeout=DECIDED_WITHIN_MS)
    expect(rejected.locator(".reason")).to_contain_text("AQ")
    expect(rejected).to_contain_text("VOIDED")
    screenshot(page, "storefront")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing off-screen
    screenshot(page, "storefront-phone")

    orders = api.list_orders(customer_id=customer).results
    assert sorted(order.status for order in orders) == ["APPROVED", "REJECTED"]


def test_a_customer_cannot_reach_the_operator_pages(page: Page, console_url: str) -> None:
    sign_in(page, console_url, customer=f"c-{uuid.uuid4().hex[:8]}")
    expect(page.get_by_role("link", name="Sagas")).to_have_count(0)
    for path in ("/ops/sagas", "/ops/messaging", "/ops/dead-letters", "/ops/accounts"):
        response = page.goto(f"{console_url}{path}")
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", name="Not for you")).to_be_visible()


def test_an_operator_retries_a_failed_saga_and_watches_it_complete(
    page: Page, console_url: str, stack: Stack, api: ShopClient
) -> None:
    customer = new_customer(page, console_url)
    orders = next(s for s in SERVICES if s.name == "orders")
    # The orders worker away, but its relay still publishing: the saga runs up to ApproveOrder, which no
    # one takes, and gives up after its two attempts.
    stack.processes.stop("orders-worker")
    stack.start_worker(orders, args=("--only", "relay"))
    try:
        placed = api.with_token(customer_token(customer)).place_order(an_order())
        saga = eventually(lambda: _failed(api, placed.id))
    finally:
        stack.processes.stop("orders-worker-relay")
        stack.start_worker(orders)

    sign_in(page, console_url)
    page.get_by_role("link", name="Sagas").click()
    page.get_by_label("State").select_option("FAILED")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=str(saga.id)[:12]).click()
    expect(page.get_by_test_id("saga-state")).to_have_text("FAILED")
    expect(page.locator(".step.timed_out")).to_contain_text("approve_order")
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("Retry accepted.")).to_be_visible()
    expect(page.get_by_test_id("saga-state")).to_have_text("COMPLETED", timeout=DECIDED_WITHIN_MS)
    screenshot(page, "saga-timeline")
    assert api.get_order(placed.id).status == "APPROVED"


def test_an_operator_replays_a_dead_letter_and_it_is_handled_once(
    page: Page, console_url: str, api: ShopClient, fail_switch: Path
) -> None:
    customer = new_customer(page, console_url)
    fail_switch.touch()
    try:
        placed = api.with_token(customer_token(customer)).place_order(an_order())
        eventually(lambda: _dead_letters(api, "OrderCreated"))
    finally:
        fail_switch.unlink()
    assert api.saga_of(placed.id) is None  # the orchestrator never handled it

    sign_in(page, console_url)
    page.get_by_role("link", name="Messaging").click()
    orchestrator = page.locator('[data-service="orchestrator"]')
    expect(orchestrator.get_by_role("link", name="1")).to_be_visible()  # one dead letter waiting
    screenshot(page, "messaging-health")

    page.get_by_role("link", name="Dead letters").click()
    row = page.locator("tr", has_text="OrderCreated")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Replay").click()
    expect(page.get_by_text("Replayed dead letter")).to_be_visible()
    expect(page.locator("tr", has_text="OrderCreated")).to_have_count(0)  # no longer pending

    order = eventually(lambda: o if (o := api.get_order(placed.id)).status != "PENDING" else None)
    assert order.status == "APPROVED"
    assert len(api.list_sagas(order_id=placed.id).results) == 1  # handled once: one saga
    assert len(api.payments_of(placed.id)) == 1
    replayed = api.list_dead_letters("orchestrator", status="REPLAYED").results
    assert [(letter.message_type, letter.acted_by) for letter in replayed] == [("OrderCreated", "operator")]
    page.get_by_role("link", name="Replayed").click()
    expect(page.locator("tr", has_text="OrderCreated")).to_contain_text("by operator")


def customer_token(customer: str) -> str:
    return mint_token(jwt_signing_key(), customer, [CUSTOMER])


def _failed(api: ShopClient, order_id: object) -> Saga | None:
    saga = api.saga_of(str(order_id))
    return saga if saga is not None and saga.state == "FAILED" else None


def _dead_letters(api: ShopClient, message_type: str) -> list[DeadLetter]:
    letters = api.list_dead_letters("orchestrator", status="PENDING").results
    return [letter for letter in letters if letter.message_type == message_type]


def test_a_customer_cancels_an_order_and_a_dispatched_one_stays_approved_with_the_reason(
    page: Page, console_url: str, api: ShopClient
) -> None:
    customer = new_customer(page, console_url)
    as_customer = api.with_token(customer_token(customer))
    # an order the customer cancels: refunded, its shipment cancelled, the credit back
    sign_in(page, console_url, customer=customer)
    page.get_by_role("button", name="Place order").click()
    row = page.locator("#orders tbody tr").first
    expect(row).to_contain_text("APPROVED", timeout=DECIDED_WITHIN_MS)
    expect(page.get_by_test_id("available")).to_have_text("487.50 EUR")
    row.get_by_label("Why cancel").fill("changed my mind")
    row.get_by_role("button", name="Cancel order").click()
    expect(row).to_contain_text("Cancellation asked")
    expect(row).to_contain_text("CANCELLED", timeout=DECIDED_WITHIN_MS)
    expect(row).to_contain_text("REFUNDED")
    expect(page.get_by_test_id("available")).to_have_text("500.00 EUR", timeout=DECIDED_WITHIN_MS)
    screenshot(page, "storefront-cancelled")
    (cancelled,) = as_customer.list_orders(customer_id=customer).results
    assert (cancelled.status, cancelled.cancellation_reason) == ("CANCELLED", "changed my mind")

    # an order the warehouse dispatches first: its cancellation is refused, with the reason
    placed = as_customer.place_order(an_order())
    eventually(lambda: api.get_order(placed.id).status == "APPROVED")
    sign_in(page, console_url)
    page.goto(f"{console_url}/ops/orders/{placed.id}")
    page.get_by_role("button", name="Dispatch").click(timeout=DECIDED_WITHIN_MS)  # once released
    expect(page.get_by_text("Dispatched: the shipment is on its way.")).to_be_visible()
    expect(page.get_by_test_id("shipment-status")).to_have_text("DISPATCHED")
    screenshot(page, "operator-order")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console_url, customer=customer)
    row = page.locator(f'#orders tbody tr[data-order="{placed.id}"]')
    row.get_by_role("button", name="Cancel order").click()
    expect(row.get_by_test_id("cancellation-refused")).to_contain_text(
        "was dispatched and cannot be cancelled", timeout=DECIDED_WITHIN_MS
    )
    expect(row).to_contain_text("APPROVED")
    assert api.get_order(placed.id).status == "APPROVED"

    # and the operator sees where each saga went, drawn on its definition
    sign_in(page, console_url)
    refused = eventually(lambda: api.saga_of(placed.id, type="cancel_order"))
    page.goto(f"{console_url}/ops/sagas/{refused.id}")
    expect(page.get_by_test_id("saga-state")).to_have_text("COMPENSATED", timeout=DECIDED_WITHIN_MS)
    diagram = page.get_by_test_id("saga-diagram")
    expect(diagram.locator('[data-step="cancel_shipment"]')).to_have_attribute("data-phase", "failed")
    expect(diagram.locator('[data-step="refund_payment"]')).to_have_attribute("data-phase", "not-reached")
    expect(diagram.locator('[data-step="refuse_cancellation"]')).to_have_attribute("data-phase", "done")
    screenshot(page, "saga-diagram-cancel-order")
    placing = eventually(lambda: api.saga_of(cancelled.id, type="place_order"))
    page.goto(f"{console_url}/ops/sagas/{placing.id}")
    diagram = page.get_by_test_id("saga-diagram")
    for step in ("authorize_payment", "schedule_held_shipment", "capture_payment", "release_shipment"):
        expect(diagram.locator(f'[data-step="{step}"]')).to_have_attribute("data-phase", "done")
    screenshot(page, "saga-diagram-place-order")
