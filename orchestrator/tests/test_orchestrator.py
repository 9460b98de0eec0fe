"""The orchestrator's message handlers and REST API on the real database."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

import shop_contracts as contracts
from orchestrator.handlers import HANDLERS
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_once
from saga_common.messaging.message import Message
from saga_testing.messages import outbox_messages, wrap

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_place_order_v1")]


@pytest.fixture
def api(operator_api: APIClient) -> APIClient:
    """Sagas are for operators only: these tests act as one."""
    return operator_api


ORDER_ID = "8d0f2a52-3d3c-4c1e-9d1c-5c1b2a0e9f11"


def order_created(country: str = "DE") -> Envelope:
    event = contracts.OrderCreated(
        customer_id="c-1",
        total=Decimal("25.00"),
        currency="EUR",
        shipping_address={"country": country},
    )
    return wrap(event, order_id=ORDER_ID, correlation_id="req-1")


def deliver(envelope: Envelope) -> None:
    handle_once(envelope, HANDLERS[type(envelope.message())])


def answer(reply: Message) -> None:
    last = outbox_messages()[-1]
    deliver(
        wrap(
            reply, order_id=ORDER_ID, correlation_id=last.correlation_id, saga_id=last.saga_id, causation=last
        )
    )


def saga(api: APIClient) -> dict[str, Any]:
    (found,) = api.get("/api/v1/sagas", {"order_id": ORDER_ID}).json()["results"]
    return found


def test_order_created_starts_one_saga_that_authorizes_the_payment(api: APIClient) -> None:
    deliver(order_created())
    deliver(order_created())  # the same order announced again (a new message id)
    (sent,) = outbox_messages()
    assert (sent.type, sent.order_id, sent.correlation_id) == ("AuthorizePayment", ORDER_ID, "req-1")
    assert sent.payload == {"customer_id": "c-1", "amount": "25.00", "currency": "EUR"}
    found = saga(api)
    assert (found["state"], found["current_step"], found["type"]) == (
        "RUNNING",
        "authorize_payment",
        "place_order",
    )


def test_happy_path_through_the_handlers(api: APIClient) -> None:
    deliver(order_created())
    answer(contracts.PaymentAuthorized(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.ShipmentScheduled(shipment_id="s-1"))
    answer(contracts.PaymentCaptured(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.OrderApproved())
    found = saga(api)
    assert found["state"] == "COMPLETED"
    assert [(s["name"], s["status"], s["attempts"]) for s in found["steps"]] == [
        ("authorize_payment", "SUCCEEDED", 1),
        ("schedule_shipment", "SUCCEEDED", 1),
        ("capture_payment", "SUCCEEDED", 1),
        ("approve_order", "SUCCEEDED", 1),
    ]
    assert [h["event"] for h in found["history"]][:3] == ["SagaStarted", "CommandSent", "ReplyReceived"]


def test_shipping_rejection_voids_the_payment_and_rejects_the_order(api: APIClient) -> None:
    deliver(order_created("AQ"))
    answer(contracts.PaymentAuthorized(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.ShipmentRejected(reason="we do not ship to AQ"))
    answer(contracts.PaymentVoided())
    assert outbox_messages()[-1].payload == {"reason": "we do not ship to AQ"}
    answer(contracts.OrderRejected())
    assert [c.type for c in outbox_messages()] == [
        "AuthorizePayment",
        "ScheduleShipment",
        "VoidPayment",
        "RejectOrder",
    ]
    assert saga(api)["state"] == "COMPENSATED"


def test_saga_detail_filters_and_errors(api: APIClient) -> None:
    deliver(order_created())
    found = saga(api)
    detail = api.get(f"/api/v1/sagas/{found['id']}").json()
    assert set(detail) >= {"id", "type", "order_id", "state", "current_step", "steps", "history"}
    assert api.get("/api/v1/sagas", {"state": "COMPLETED"}).json()["count"] == 0
    assert api.get("/api/v1/sagas", {"state": "LOST"}).status_code == 400
    assert api.get("/api/v1/sagas/00000000-0000-4000-8000-000000000000").status_code == 404


def test_operator_actions(api: APIClient) -> None:
    deliver(order_created())
    saga_id = saga(api)["id"]
    # retry of a saga that is running anyway changes nothing
    running = api.post(f"/api/v1/sagas/{saga_id}/retry")
    assert (running.status_code, running.json()["state"], len(outbox_messages())) == (200, "RUNNING", 1)
    compensated = api.post(f"/api/v1/sagas/{saga_id}/compensate")
    assert (compensated.status_code, compensated.json()["state"]) == (200, "COMPENSATING")
    assert outbox_messages()[-1].type == "VoidPayment"
    # both actions are idempotent: a repeat answers with the saga and sends nothing more
    again = api.post(f"/api/v1/sagas/{saga_id}/compensate")
    assert (again.status_code, again.json()["state"], len(outbox_messages())) == (200, "COMPENSATING", 2)
    assert api.post("/api/v1/sagas/00000000-0000-4000-8000-000000000000/retry").status_code == 404


def test_sagas_are_for_operators_only(client_for: Any) -> None:
    deliver(order_created())
    saga_id = saga(client_for("ops", operator=True))["id"]
    for caller, expected in ((client_for(None), 401), (client_for("c-1"), 403)):
        assert caller.get("/api/v1/sagas").status_code == expected
        assert caller.get(f"/api/v1/sagas/{saga_id}").status_code == expected
        assert caller.post(f"/api/v1/sagas/{saga_id}/compensate").status_code == expected
    assert len(outbox_messages()) == 1  # the refused compensation sent nothing


def cancellation_requested() -> Envelope:
    event = contracts.OrderCancellationRequested(
        customer_id="c-1", total=Decimal("25.00"), currency="EUR", country="DE", reason="too slow"
    )
    return wrap(event, order_id=ORDER_ID, correlation_id="req-2")


def test_a_cancellation_runs_its_own_saga_beside_the_orders_place_order_saga(api: APIClient) -> None:
    deliver(order_created())
    deliver(cancellation_requested())
    deliver(cancellation_requested())  # announced again: still one CancelOrder saga
    assert [c.type for c in outbox_messages()] == ["AuthorizePayment", "CancelShipment"]
    assert outbox_messages()[-1].payload == {"country": "DE"}
    answer(contracts.ShipmentCancelled())
    answer(contracts.PaymentRefunded(payment_id="p-1", amount=Decimal("25.00")))
    answer(contracts.OrderCancelled())
    (cancelling,) = api.get("/api/v1/sagas", {"order_id": ORDER_ID, "type": "cancel_order"}).json()["results"]
    assert (cancelling["state"], [s["name"] for s in cancelling["steps"]]) == (
        "COMPLETED",
        ["cancel_shipment", "refund_payment", "confirm_cancellation"],
    )
    assert [s["participant"] for s in cancelling["steps"]] == ["shipping", "payments", "orders"]
    (placing,) = api.get("/api/v1/sagas", {"order_id": ORDER_ID, "type": "place_order"}).json()["results"]
    assert placing["state"] == "RUNNING"  # untouched by the other saga's replies


def test_a_refused_cancellation_keeps_the_order_with_the_reason(api: APIClient) -> None:
    deliver(cancellation_requested())
    answer(
        contracts.ShipmentCancellationRefused(reason="shipment s-1 was dispatched and cannot be cancelled")
    )
    assert outbox_messages()[-1].type == "RefuseOrderCancellation"
    assert outbox_messages()[-1].payload == {"reason": "shipment s-1 was dispatched and cannot be cancelled"}
    answer(contracts.OrderCancellationRefused())
    assert [c.type for c in outbox_messages()] == ["CancelShipment", "RefuseOrderCancellation"]
    assert saga(api)["state"] == "COMPENSATED"
