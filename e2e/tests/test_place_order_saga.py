"""The three outcomes of the PlaceOrder saga (its newest version), driven through the public REST API of the
running system."""

import time
import uuid
from decimal import Decimal

import pytest

from devstack.services import SERVICES
from devstack.stack import Stack
from e2e.client import SystemClient
from e2e.invariants import check, snapshot
from saga_client import Unprocessable

SERVICE_BY_NAME = {s.name: s for s in SERVICES}


@pytest.fixture(scope="module")
def customer(client: SystemClient) -> str:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(customer_id, credit_limit="100.00")
    return customer_id


def test_order_within_credit_to_a_served_country_is_approved(client: SystemClient, customer: str) -> None:
    placed = client.place_order(customer, country="DE", unit_price="12.50", quantity=2)
    assert placed.status == "PENDING"
    order = client.wait_until_settled(placed.id)
    assert (order.status, order.total, order.rejection_reason) == ("APPROVED", Decimal("25.00"), None)
    assert [(p.status, p.amount) for p in client.payments(order.id)] == [("CAPTURED", Decimal("25.00"))]
    assert [s.status for s in client.shipments(order.id)] == ["SCHEDULED"]
    saga = client.saga_of(order.id)
    assert saga.state == "COMPLETED"
    assert (saga.version, [s.name for s in saga.steps]) == (
        2,
        [
            "authorize_payment",
            "schedule_held_shipment",
            "capture_payment",
            "approve_order",
            "release_shipment",
        ],
    )
    assert [s.released for s in client.shipments(order.id)] == [True]


def test_order_of_a_customer_without_account_is_rejected(client: SystemClient) -> None:
    placed = client.place_order(f"c-nobody-{uuid.uuid4().hex[:6]}")
    order = client.wait_until_settled(placed.id)
    assert (order.status, order.rejection_reason) == ("REJECTED", "customer has no account")
    assert [p.status for p in client.payments(order.id)] == ["DECLINED"]
    # the shipment, scheduled beside the payment (held), was cancelled with the order
    assert [(s.status, s.released) for s in client.shipments(order.id)] == [("CANCELLED", False)]
    assert client.saga_of(order.id).state == "COMPENSATED"


def test_order_above_available_credit_is_rejected(client: SystemClient, customer: str) -> None:
    order = client.wait_until_settled(client.place_order(customer, unit_price="500.00", quantity=1).id)
    assert (order.status, order.rejection_reason) == ("REJECTED", "amount exceeds available credit")


def test_order_to_antarctica_is_rejected_and_its_payment_voided(client: SystemClient, customer: str) -> None:
    before = client.account(customer).available
    order = client.wait_until_settled(client.place_order(customer, country="AQ").id)
    assert (order.status, order.rejection_reason) == ("REJECTED", "we do not ship to AQ")
    assert [p.status for p in client.payments(order.id)] == ["VOIDED"]
    assert client.shipments(order.id) == []
    saga = client.saga_of(order.id)
    assert saga.state == "COMPENSATED"
    # the authorization ran beside the shipment: answered before shipping's refusal, or abandoned
    # (voided at once, its late success undone); the payment is VOIDED either way
    (authorize, *rest) = [(s.name, s.status) for s in saga.steps]
    assert authorize in {("authorize_payment", "SUCCEEDED"), ("authorize_payment", "ABANDONED")}
    assert rest == [
        ("schedule_held_shipment", "FAILED"),
        ("void_payment", "SUCCEEDED"),
        ("reject_order", "SUCCEEDED"),
    ]
    assert client.account(customer).available == before  # the hold was released


def test_idempotent_retry_creates_one_order(client: SystemClient, customer: str) -> None:
    key = f"key-{uuid.uuid4()}"
    first = client.place_order(customer, idempotency_key=key)
    again = client.place_order(customer, idempotency_key=key)
    assert again == first  # both answered 201, with the same order
    with pytest.raises(Unprocessable):  # the same key with another body
        client.place_order(customer, quantity=3, idempotency_key=key)
    assert client.wait_until_settled(first.id).status == "APPROVED"


def test_every_invariant_holds_in_all_four_databases(
    client: SystemClient, customer: str, database_urls: dict[str, str]
) -> None:
    # given a burst of orders of all three kinds, all decided
    placed = [
        client.place_order(customer, country=country, unit_price="1.00").id
        for country in ("DE", "AQ", "FR", "AQ", "NL")
    ]
    placed.append(client.place_order(f"c-ghost-{uuid.uuid4().hex[:6]}").id)
    for order_id in placed:
        client.wait_until_settled(order_id)
    # then the databases agree with each other, and the account shows exactly what was captured
    state = snapshot(database_urls)
    assert check(state) == []
    captured = sum(
        Decimal(p["amount"])
        for p in state.payments
        if p["status"] == "CAPTURED" and p["customer_id"] == customer
    )
    assert captured > 0
    assert client.account(customer).available == Decimal("100.00") - captured


def test_a_saga_waits_out_a_stopped_participant_and_completes_after_restart(
    stack: Stack, client: SystemClient, customer: str
) -> None:
    # given the payments worker stopped with SIGTERM: it finishes its work and exits cleanly
    assert stack.processes.stop("payments-worker") == 0
    try:
        # when an order is placed meanwhile, it waits (nothing is lost, nothing decided)
        order_id = client.place_order(customer, unit_price="3.00", quantity=1).id
        # (the saga starts when the orchestrator reads OrderCreated: under the suite's load, and with
        # a group rebalancing on Apache Kafka, that can take more than the 2 s once slept here)
        deadline = time.monotonic() + 30
        while not _saga_waits_on(client, order_id, "authorize_payment"):
            assert time.monotonic() < deadline, "the saga never reached authorize_payment"
            time.sleep(0.2)
        time.sleep(2)  # and it stays there while the worker is away
        assert client.order(order_id).status == "PENDING"
        assert client.saga_of(order_id).current_step == "authorize_payment"
    finally:
        stack.start_worker(SERVICE_BY_NAME["payments"])
    # then once the worker is back, the saga picks up where it was and the order is approved
    assert client.wait_until_settled(order_id).status == "APPROVED"
    assert [p.status for p in client.payments(order_id)] == ["CAPTURED"]


def _saga_waits_on(client: SystemClient, order_id: uuid.UUID, step: str) -> bool:
    try:
        return client.saga_of(order_id).current_step == step
    except LookupError:  # no saga yet
        return False
