"""Scheduling and cancelling shipments, over messages and REST."""

from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Message
from saga_testing.messages import deliver
from shipping.handlers import HANDLERS
from shipping.models import Shipment, ShipmentStatus
from shop_contracts import CancelShipment, ReleaseShipment, ScheduleShipment

pytestmark = pytest.mark.django_db

ORDER = "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a"  # an order id, as the orders service makes them
OTHER_ORDER = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"


def handle(message: Message, order_id: str = "o-1") -> Envelope:
    return deliver(message, HANDLERS, order_id=order_id)


def schedule(
    country: str, order_id: str = "o-1", customer_id: str = "c-1", *, held: bool = False
) -> Envelope:
    address = {"country": country, "city": "x"}
    command = ScheduleShipment(
        country=country, address=address, customer_id=customer_id, hold_until_released=held
    )
    return handle(command, order_id)


def test_served_country_gets_a_scheduled_shipment() -> None:
    reply = schedule("DE")
    shipment = Shipment.objects.get()
    assert (reply.type, reply.payload) == ("ShipmentScheduled", {"shipment_id": str(shipment.id)})
    assert (shipment.status, shipment.country) == (ShipmentStatus.SCHEDULED, "DE")


def test_country_not_served_is_rejected_and_records_nothing(settings: SettingsWrapper) -> None:
    settings.SHIPPING_COUNTRIES = ["DE"]
    reply = schedule("FR")
    assert (reply.type, reply.payload) == ("ShipmentRejected", {"reason": "we do not ship to FR"})
    assert Shipment.objects.count() == 0


def test_antarctica_is_never_served_even_if_configured(settings: SettingsWrapper) -> None:
    settings.SHIPPING_COUNTRIES = ["DE", "AQ"]
    assert schedule("AQ").type == "ShipmentRejected"
    assert Shipment.objects.count() == 0


def test_cancel_is_safe_to_repeat_and_a_repeated_schedule_returns_the_first() -> None:
    first = schedule("DE")
    assert schedule("DE").payload == first.payload
    assert handle(CancelShipment()).type == "ShipmentCancelled"
    assert handle(CancelShipment()).type == "ShipmentCancelled"
    assert handle(CancelShipment(), "o-unknown").type == "ShipmentCancelled"
    assert Shipment.objects.get(order_id="o-1").status == ShipmentStatus.CANCELLED
    assert schedule("DE").type == "ShipmentRejected"  # a cancelled shipment is not scheduled again


def test_a_cancel_before_its_schedule_makes_the_late_schedule_reject() -> None:
    assert handle(CancelShipment(country="DE")).type == "ShipmentCancelled"
    late = schedule("DE")
    assert (late.type, late.payload["reason"]) == ("ShipmentRejected", "shipment is CANCELLED")
    assert list(Shipment.objects.values_list("status", "country")) == [(ShipmentStatus.CANCELLED, "DE")]


def test_shipments_are_listed_by_order(api: APIClient) -> None:
    schedule("DE", order_id=ORDER)
    page = api.get("/api/v1/shipments", {"order_id": ORDER}).json()
    assert (page["count"], page["next"], page["previous"]) == (1, None, None)
    (listed,) = page["results"]
    assert {k: listed[k] for k in ("order_id", "status", "country", "released")} == {
        "order_id": ORDER,
        "status": "SCHEDULED",
        "country": "DE",
        "released": True,
    }
    missing = api.get("/api/v1/shipments")
    assert (missing.status_code, "order_id" in missing.json()) == (400, True)


def test_customers_see_only_their_own_shipments(client_for: Any) -> None:
    schedule("DE", order_id=ORDER, customer_id="c-1")
    schedule("DE", order_id=OTHER_ORDER, customer_id="c-2")
    assert client_for("c-2").get("/api/v1/shipments", {"order_id": ORDER}).json()["results"] == []
    assert len(client_for("c-1").get("/api/v1/shipments", {"order_id": ORDER}).json()["results"]) == 1
    operator = client_for("ops", operator=True)
    assert len(operator.get("/api/v1/shipments", {"order_id": OTHER_ORDER}).json()["results"]) == 1
    assert client_for(None).get("/api/v1/shipments", {"order_id": ORDER}).status_code == 401


def test_shipment_pages_refuse_a_limit_beyond_any_integer(api: APIClient) -> None:
    response = api.get("/api/v1/shipments", {"order_id": ORDER, "limit": str(10**30)})
    assert (response.status_code, "limit" in response.json()) == (400, True)


def dispatch(client: APIClient, order_id: str = ORDER) -> Any:
    shipment = Shipment.objects.get(order_id=order_id)
    return client.post(f"/api/v1/shipments/{shipment.id}/dispatch")


def test_an_operator_dispatches_a_scheduled_shipment_once(operator_api: APIClient) -> None:
    schedule("DE", order_id=ORDER)
    first = dispatch(operator_api)
    assert (first.status_code, first.json()["status"]) == (200, "DISPATCHED")
    again = dispatch(operator_api)  # a repeat (a retried request) answers the same
    assert (again.status_code, again.json()) == (200, first.json())
    assert Shipment.objects.get().status == ShipmentStatus.DISPATCHED


def test_a_dispatched_shipment_refuses_to_be_cancelled_and_stays_dispatched(operator_api: APIClient) -> None:
    schedule("DE", order_id=ORDER)
    dispatch(operator_api)
    reply = handle(CancelShipment(country="DE"), ORDER)
    assert reply.type == "ShipmentCancellationRefused"
    assert "dispatched and cannot be cancelled" in reply.payload["reason"]
    assert Shipment.objects.get().status == ShipmentStatus.DISPATCHED


def test_a_cancelled_shipment_cannot_be_dispatched(operator_api: APIClient) -> None:
    schedule("DE", order_id=ORDER)
    handle(CancelShipment(country="DE"), ORDER)
    refused = dispatch(operator_api)
    assert refused.status_code == 409
    assert "cancelled and cannot be dispatched" in refused.json()["detail"]
    assert Shipment.objects.get().status == ShipmentStatus.CANCELLED


def test_only_operators_dispatch_and_an_unknown_shipment_is_404(
    client_for: Any, operator_api: APIClient
) -> None:
    schedule("DE", order_id=ORDER, customer_id="c-1")
    assert dispatch(client_for("c-1")).status_code == 403  # not even the shipment's own customer
    assert dispatch(client_for(None)).status_code == 401
    unknown = operator_api.post("/api/v1/shipments/00000000-0000-4000-8000-000000000000/dispatch")
    assert (unknown.status_code, "detail" in unknown.json()) == (404, True)
    assert operator_api.post("/api/v1/shipments/not-a-uuid/dispatch").status_code == 404
    assert Shipment.objects.get().status == ShipmentStatus.SCHEDULED


def test_a_held_shipment_is_dispatched_only_once_released(operator_api: APIClient) -> None:
    schedule("DE", order_id=ORDER, held=True)
    held = dispatch(operator_api)
    assert (held.status_code, "held until its order's payment is captured" in held.json()["detail"]) == (
        409,
        True,
    )
    assert handle(ReleaseShipment(), ORDER).type == "ShipmentReleased"
    assert handle(ReleaseShipment(), ORDER).type == "ShipmentReleased"  # a repeat changes nothing
    assert dispatch(operator_api).json()["status"] == "DISPATCHED"
    assert handle(ReleaseShipment(), ORDER).type == "ShipmentReleased"  # dispatched: released still


def test_releasing_a_cancelled_shipment_changes_nothing_and_an_unknown_one_is_refused() -> None:
    # the order was cancelled between its approval and the release: its PlaceOrder saga must still end
    schedule("DE", order_id=ORDER, held=True)
    handle(CancelShipment(), ORDER)
    assert handle(ReleaseShipment(), ORDER).type == "ShipmentReleased"
    assert (Shipment.objects.get().status, Shipment.objects.get().released) == (
        ShipmentStatus.CANCELLED,
        False,
    )
    refused = handle(ReleaseShipment(), OTHER_ORDER)
    assert (refused.type, "has no shipment to release" in refused.payload["reason"]) == (
        "ShipmentReleaseFailed",
        True,
    )
