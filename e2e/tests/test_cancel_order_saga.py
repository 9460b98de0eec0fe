"""Cancelling orders, and a rollout of PlaceOrder v2 over sagas in flight, through the public REST API of
the running system: real processes, the real broker, PostgreSQL."""

import time
import uuid
from decimal import Decimal
from uuid import UUID

import pytest

from devstack.services import SERVICES
from devstack.stack import Stack
from e2e.client import SystemClient
from e2e.invariants import check, snapshot
from e2e.version_switch import restart_orchestrator
from saga_client import Conflict

SERVICE_BY_NAME = {s.name: s for s in SERVICES}
V1_STEPS = ["authorize_payment", "schedule_shipment", "capture_payment", "approve_order"]
V2_STEPS = [
    "authorize_payment",
    "schedule_held_shipment",
    "capture_payment",
    "approve_order",
    "release_shipment",
]


@pytest.fixture(scope="module")
def customer(client: SystemClient) -> str:
    customer_id = f"c-{uuid.uuid4().hex[:8]}"
    client.open_account(customer_id, credit_limit="100.00")
    return customer_id


def settled_cancellation(client: SystemClient, order_id: UUID, timeout: float = 60.0) -> str:
    """Wait until the order's CancelOrder saga ended; return the order's status then."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            saga = client.saga_of(order_id, "cancel_order")
        except LookupError:
            saga = None
        if saga is not None and saga.state in ("COMPLETED", "COMPENSATED", "FAILED"):
            return client.order(order_id).status
        assert time.monotonic() < deadline, "the cancellation never ended"
        time.sleep(0.1)


def test_a_cancelled_order_is_refunded_and_its_shipment_cancelled(
    client: SystemClient, customer: str
) -> None:
    order = client.wait_until_settled(client.place_order(customer, unit_price="10.00", quantity=1).id)
    before = client.account(customer).available
    asked = client.cancel(order, reason="changed my mind", idempotency_key=f"cancel-{order.id}")
    assert (asked.status, asked.cancellation_reason) == ("CANCELLING", "changed my mind")
    again = client.cancel(order, reason="changed my mind", idempotency_key=f"cancel-{order.id}")
    assert again.status == "CANCELLING"  # a repeat with its key answers as the first did
    assert settled_cancellation(client, order.id) == "CANCELLED"
    assert [(p.status, p.amount) for p in client.payments(order.id)] == [("REFUNDED", Decimal("10.00"))]
    assert [s.status for s in client.shipments(order.id)] == ["CANCELLED"]
    assert client.account(customer).available == before + Decimal("10.00")
    assert [s.name for s in client.saga_of(order.id, "cancel_order").steps] == [
        "cancel_shipment",
        "refund_payment",
        "confirm_cancellation",
    ]
    with pytest.raises(Conflict, match="only an APPROVED order can be cancelled"):
        client.cancel(client.order(order.id))


def test_a_dispatched_order_refuses_its_cancellation_and_keeps_its_money(
    client: SystemClient, customer: str, database_urls: dict[str, str]
) -> None:
    order = client.wait_until_settled(client.place_order(customer, unit_price="5.00", quantity=1).id)
    assert client.dispatch(order.id).status == "DISPATCHED"
    client.cancel(order)
    assert settled_cancellation(client, order.id) == "APPROVED"
    kept = client.order(order.id)
    assert "was dispatched and cannot be cancelled" in (kept.cancellation_refused_reason or "")
    assert [p.status for p in client.payments(order.id)] == ["CAPTURED"]
    assert client.saga_of(order.id, "cancel_order").state == "COMPENSATED"
    with pytest.raises(Conflict, match="cannot be cancelled"):  # a refused cancellation is final
        client.cancel(kept)
    assert check(snapshot(database_urls)) == []


def test_v1_sagas_in_flight_finish_on_v1_after_the_orchestrator_restarts_on_v2(
    stack: Stack, client: SystemClient, customer: str
) -> None:
    shipping = SERVICE_BY_NAME["shipping"]
    # given the orchestrator starting PlaceOrder sagas on v1, and shipping away: they stop mid-flight
    restart_orchestrator(stack, 1)
    assert stack.processes.stop("shipping-worker") == 0
    try:
        v1 = [client.place_order(customer, unit_price="1.00", quantity=1).id for _ in range(3)]
        for order_id in v1:
            _until(
                lambda order_id=order_id: (
                    _steps(client, order_id) == ["authorize_payment", "schedule_shipment"]
                )
            )
        # when the orchestrator is restarted on v2 while they wait, and more orders come
        restart_orchestrator(stack, None)
        v2 = [client.place_order(customer, unit_price="1.00", quantity=1).id for _ in range(2)]
        for order_id in v2:
            _until(lambda order_id=order_id: len(_steps(client, order_id)) == 2)
    finally:
        stack.start_worker(shipping)
    # then every v1 saga finishes on v1's steps, and the new orders ran v2's
    for order_id in v1 + v2:
        assert client.wait_until_settled(order_id).status == "APPROVED"
    sagas = {order_id: client.saga_of(order_id) for order_id in v1 + v2}
    assert {o: (s.version, [step.name for step in s.steps]) for o, s in sagas.items()} == {
        **{o: (1, V1_STEPS) for o in v1},
        **{o: (2, V2_STEPS) for o in v2},
    }


def _steps(client: SystemClient, order_id: UUID) -> list[str]:
    try:
        return [step.name for step in client.saga_of(order_id).steps]
    except LookupError:
        return []


def _until(check_: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check_():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.2)
