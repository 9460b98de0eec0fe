"""The orders REST contract: placing, reading and listing orders, and what bad input gets."""

import copy
from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError
from django_outbox_pattern.models import Published
from rest_framework.test import APIClient

from orders.models import Order
from saga_common.messaging import kafka
from saga_common.messaging.envelope import Envelope

pytestmark = pytest.mark.django_db

ORDER: dict[str, Any] = {
    "customer_id": "c-1",
    "currency": "EUR",
    "items": [
        {"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"},
        {"sku": "SKU-2", "quantity": 1, "unit_price": "0.99"},
    ],
    "shipping_address": {
        "name": "Ada",
        "line1": "Main St 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    },
}


def place(api: APIClient, body: dict[str, Any] = ORDER, headers: dict[str, str] | None = None) -> Any:
    return api.post("/api/v1/orders", body, format="json", headers=headers or {})


def test_place_order_returns_pending_order_with_server_total_and_location(api: APIClient) -> None:
    response = place(api)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["total"], body["currency"], body["rejection_reason"]) == (
        "PENDING",
        "25.99",
        "EUR",
        None,
    )
    assert body["items"][0] == {"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}
    assert response["Location"] == f"/api/v1/orders/{body['id']}"
    assert set(body) == {
        "id",
        "customer_id",
        "status",
        "total",
        "currency",
        "items",
        "shipping_address",
        "rejection_reason",
        "cancellation_reason",
        "cancellation_refused_reason",
        "created_at",
        "updated_at",
    }


def test_placing_an_order_writes_order_created_to_the_outbox(api: APIClient) -> None:
    order_id = place(api, headers={"X-Correlation-ID": "req-42"}).json()["id"]
    (row,) = Published.objects.all()
    event = Envelope.from_stored(row.headers, row.body)
    assert (row.destination, event.type, event.order_id, event.correlation_id) == (
        "orders.events",
        "OrderCreated",
        order_id,
        "req-42",
    )
    assert event.payload["total"] == "25.99"
    assert event.payload["shipping_address"]["country"] == "DE"


def test_get_order_and_unknown_order(api: APIClient) -> None:
    order_id = place(api).json()["id"]
    assert api.get(f"/api/v1/orders/{order_id}").json()["id"] == order_id
    missing = api.get("/api/v1/orders/00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.json()) == (404, {"detail": "No Order matches the given query."})
    not_a_uuid = api.get("/api/v1/orders/nope")
    assert (not_a_uuid.status_code, not_a_uuid["Content-Type"]) == (404, "application/json")


def test_list_filters_by_customer_and_status_and_paginates(operator_api: APIClient) -> None:
    place(operator_api)
    place(operator_api, {**ORDER, "customer_id": "c-2"})
    Order.objects.filter(customer_id="c-2").update(status="APPROVED")
    mine = operator_api.get("/api/v1/orders", {"customer_id": "c-1"}).json()
    assert (mine["count"], mine["results"][0]["customer_id"]) == (1, "c-1")
    assert operator_api.get("/api/v1/orders", {"status": "APPROVED"}).json()["count"] == 1
    assert operator_api.get("/api/v1/orders", {"limit": 1}).json()["next"] is not None
    assert operator_api.get("/api/v1/orders", {"status": "LOST"}).status_code == 400


def with_change(path: str, value: Any) -> dict[str, Any]:
    """A copy of ORDER with one field (dotted path) replaced, or removed when value is ...."""
    body = copy.deepcopy(ORDER)
    target: Any = body
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is ...:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_change("customer_id", "x" * 65), "customer_id"),
        (with_change("customer_id", "c\x00-1"), "customer_id"),
        (with_change("currency", "euro"), "currency"),
        (with_change("items", []), "items"),
        (with_change("items", [ORDER["items"][0]] * 101), "items"),
        (with_change("items.0.quantity", 0), "items"),
        (with_change("items.0.quantity", 10_001), "items"),
        (with_change("items.0.quantity", "two"), "items"),
        (with_change("items.0.unit_price", "0.00"), "items"),
        (with_change("items.0.unit_price", "-1.00"), "items"),
        (with_change("items.0.unit_price", "1.001"), "items"),
        (with_change("items.0.unit_price", "NaN"), "items"),
        (with_change("items.0.sku", ""), "items"),
        (with_change("shipping_address.country", "Germany"), "shipping_address"),
        (with_change("shipping_address.city", ...), "shipping_address"),
        (with_change("shipping_address.name", "n" * 201), "shipping_address"),
        (
            with_change("items", [{"sku": "S", "quantity": 10_000, "unit_price": "9999999999.99"}] * 100),
            "items",
        ),
    ],
)
def test_bad_order_gets_a_field_error_and_changes_nothing(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    response = place(api, body)
    assert response.status_code == 400
    assert field in response.json()
    assert Order.objects.count() == 0
    assert Published.objects.count() == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"null", b'"text"'])
def test_malformed_json_gets_a_json_400(api: APIClient, raw: bytes) -> None:
    response = api.post("/api/v1/orders", raw, content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert Order.objects.count() == 0


def test_wrong_content_type_is_415(api: APIClient) -> None:
    response = api.post("/api/v1/orders", "customer_id=c-1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert "detail" in response.json()


def test_same_idempotency_key_and_body_replays_the_first_response(api: APIClient) -> None:
    first = place(api, headers={"Idempotency-Key": "k-1"})
    Order.objects.update(status="APPROVED")  # the order moved on; the replay still answers as the first time
    again = place(api, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Order.objects.count() == 1
    assert Published.objects.count() == 1


def test_same_idempotency_key_with_another_body_is_422(api: APIClient) -> None:
    place(api, headers={"Idempotency-Key": "k-1"})
    response = place(api, with_change("items.0.quantity", 3), headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 422
    assert "different request" in response.json()["detail"]
    assert Order.objects.count() == 1


def test_invalid_idempotency_key_is_400(api: APIClient) -> None:
    response = place(api, headers={"Idempotency-Key": "x" * 256})
    assert response.status_code == 400
    assert Order.objects.count() == 0


def test_health_and_schema(api: APIClient) -> None:
    assert api.get("/healthz/live").json() == {"status": "ok"}
    ready = api.get("/healthz/ready")
    assert (ready.status_code, ready.json()["checks"]) == (200, {"database": True})
    schema = api.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert schema.status_code == 200
    assert "/api/v1/orders" in schema.json()["paths"]


def test_the_web_is_ready_while_the_broker_is_down(api: APIClient, settings: Any) -> None:
    """Orders are taken while the broker is away (the outbox keeps them): the web's readiness is its
    database's, the broker's is the worker's concern."""
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # nothing listens there
    kafka._shared_admin_client.cache_clear()  # a client made earlier would still know the real broker
    try:
        ready = api.get("/healthz/ready")
    finally:
        kafka._shared_admin_client.cache_clear()
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": {"database": True}})


def test_the_web_is_not_ready_without_its_database(api: APIClient) -> None:
    with mock.patch("saga_common.web.health.connection.cursor", side_effect=OperationalError("gone")):
        ready = api.get("/healthz/ready")
    assert (ready.status_code, ready.json()) == (
        503,
        {"status": "unavailable", "checks": {"database": False}},
    )
