"""Cancelling an approved order: the REST request that starts the CancelOrder saga, and the two
commands that end it (ConfirmOrderCancellation, RefuseOrderCancellation)."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from orders import handlers
from orders.models import Order, OrderStatus
from saga_common.messaging.inbox import handle_once
from saga_testing.messages import outbox_messages, wrap
from shop_contracts import ApproveOrder, ConfirmOrderCancellation, RefuseOrderCancellation

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Ada", "line1": "Main St 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}


def make_order(status: OrderStatus = OrderStatus.APPROVED, customer: str = "c-1", **fields: Any) -> Order:
    return Order.objects.create(
        customer_id=customer,
        currency="EUR",
        total="25.00",
        items=[{"sku": "S", "quantity": 1, "unit_price": "25.00"}],
        shipping_address=ADDRESS,
        status=status,
        **fields,
    )


def cancel(client: APIClient, order: Order, body: Any = None, key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(f"/api/v1/orders/{order.id}/cancel", body, format="json", headers=headers)


def command(order: Order, message: ConfirmOrderCancellation | RefuseOrderCancellation) -> None:
    handle_once(
        wrap(message, order_id=str(order.id), correlation_id="c", saga_id="s"),
        handlers.HANDLERS[type(message)],
    )


def test_cancelling_an_approved_order_answers_202_cancelling_and_starts_its_saga(api: APIClient) -> None:
    order = make_order()
    response = cancel(api, order, {"reason": "changed my mind"})
    assert response.status_code == 202
    body = response.json()
    assert (body["id"], body["status"], body["cancellation_reason"]) == (
        str(order.id),
        "CANCELLING",
        "changed my mind",
    )
    assert body["cancellation_refused_reason"] is None
    (event,) = outbox_messages()
    assert (event.type, event.order_id) == ("OrderCancellationRequested", str(order.id))
    assert event.payload == {
        "customer_id": "c-1",
        "total": "25.00",
        "currency": "EUR",
        "country": "DE",
        "reason": "changed my mind",
    }
    assert Order.objects.get().status == OrderStatus.CANCELLING


def test_the_body_is_optional_and_an_operator_may_cancel_any_order(operator_api: APIClient) -> None:
    order = make_order(customer="c-2")
    response = cancel(operator_api, order)
    assert (response.status_code, response.json()["cancellation_reason"]) == (202, "")


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING, OrderStatus.REJECTED, OrderStatus.CANCELLING, OrderStatus.CANCELLED]
)
def test_an_order_that_is_not_approved_answers_409_and_nothing_changes(
    api: APIClient, status: OrderStatus
) -> None:
    order = make_order(status)
    response = cancel(api, order)
    assert response.status_code == 409
    assert f"is {status}; only an APPROVED order can be cancelled" in response.json()["detail"]
    assert (Order.objects.get().status, outbox_messages()) == (status, [])


def test_an_order_whose_cancellation_was_refused_cannot_be_cancelled_again(api: APIClient) -> None:
    order = make_order(cancellation_refused_reason="shipment was dispatched")
    response = cancel(api, order)
    assert (response.status_code, response.json()["detail"]) == (
        409,
        f"order {order.id} cannot be cancelled: shipment was dispatched",
    )
    assert outbox_messages() == []


def test_another_customers_order_is_404_and_unknown_ids_too(client_for: Any) -> None:
    order = make_order(customer="c-1")
    assert cancel(client_for("c-2"), order).status_code == 404
    assert (
        client_for("c-1").post("/api/v1/orders/00000000-0000-4000-8000-000000000000/cancel").status_code
        == 404
    )
    assert cancel(client_for(None), order).status_code == 401
    assert Order.objects.get().status == OrderStatus.APPROVED


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "x" * 201},
        {"reason": "nul \x00 inside"},
        {"reason": 7},
        {"reason": None},
        ["reason"],
        "reason",
    ],
)
def test_a_bad_body_is_400_json_and_changes_nothing(api: APIClient, body: Any) -> None:
    order = make_order()
    response = cancel(api, order, body)
    assert response.status_code == 400
    assert isinstance(response.json(), dict)
    assert (Order.objects.get().status, outbox_messages()) == (OrderStatus.APPROVED, [])


def test_a_repeat_with_the_same_key_answers_as_the_first_and_sends_nothing_more(api: APIClient) -> None:
    order = make_order()
    first = cancel(api, order, {"reason": "too slow"}, key="cancel-1")
    again = cancel(api, order, {"reason": "too slow"}, key="cancel-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert len(outbox_messages()) == 1
    # the same key with another request is refused; without a key a repeat is a plain 409
    assert cancel(api, order, {"reason": "other"}, key="cancel-1").status_code == 422
    assert cancel(api, order, {"reason": "too slow"}).status_code == 409
    assert cancel(api, order, key="bad key with spaces").status_code == 400


def test_a_key_used_to_place_an_order_cannot_cancel_one(api: APIClient) -> None:
    placed = api.post(
        "/api/v1/orders",
        {
            "currency": "EUR",
            "items": [{"sku": "S", "quantity": 1, "unit_price": "1.00"}],
            "shipping_address": ADDRESS,
        },
        format="json",
        headers={"Idempotency-Key": "k-1"},
    )
    assert placed.status_code == 201
    order = make_order()
    assert cancel(api, order, key="k-1").status_code == 422
    assert Order.objects.get(id=order.id).status == OrderStatus.APPROVED


def test_confirming_makes_a_cancelling_order_cancelled_and_a_repeat_changes_nothing() -> None:
    order = make_order(OrderStatus.CANCELLING)
    command(order, ConfirmOrderCancellation())
    command(order, ConfirmOrderCancellation())
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert [m.type for m in outbox_messages()] == ["OrderCancelled", "OrderCancelled"]


def test_refusing_makes_it_approved_again_with_the_reason() -> None:
    order = make_order(OrderStatus.CANCELLING, cancellation_reason="r")
    command(order, RefuseOrderCancellation(reason="shipment was dispatched"))
    command(order, RefuseOrderCancellation(reason="shipment was dispatched"))
    order.refresh_from_db()
    assert (order.status, order.cancellation_refused_reason) == (
        OrderStatus.APPROVED,
        "shipment was dispatched",
    )
    assert [m.type for m in outbox_messages()] == ["OrderCancellationRefused", "OrderCancellationRefused"]


@pytest.mark.parametrize(
    ("status", "message", "refusal"),
    [
        (OrderStatus.APPROVED, ConfirmOrderCancellation(), "OrderCancellationFailed"),
        (OrderStatus.PENDING, ConfirmOrderCancellation(), "OrderCancellationFailed"),
        (OrderStatus.APPROVED, RefuseOrderCancellation(reason="r"), "OrderCancellationRefusalFailed"),
        (OrderStatus.CANCELLED, RefuseOrderCancellation(reason="r"), "OrderCancellationRefusalFailed"),
    ],
)
def test_a_cancellation_command_for_an_order_not_cancelling_is_refused_and_changes_nothing(
    status: OrderStatus, message: Any, refusal: str
) -> None:
    order = make_order(status)
    command(order, message)
    order.refresh_from_db()
    assert (order.status, order.cancellation_refused_reason) == (status, None)
    assert [m.type for m in outbox_messages()] == [refusal]


@pytest.mark.parametrize("status", [OrderStatus.CANCELLING, OrderStatus.CANCELLED])
def test_a_redelivered_approve_of_an_order_being_cancelled_is_answered_approved_and_changes_nothing(
    status: OrderStatus,
) -> None:
    order = make_order(status)
    handle_once(
        wrap(ApproveOrder(), order_id=str(order.id), correlation_id="c", saga_id="s"),
        handlers.HANDLERS[ApproveOrder],
    )
    order.refresh_from_db()
    assert order.status == status
    assert [m.type for m in outbox_messages()] == ["OrderApproved"]
