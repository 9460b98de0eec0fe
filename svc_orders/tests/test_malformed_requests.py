"""What orders answers to requests it may not take: a NUL or a lone surrogate in the path or the query
is a JSON 400 (or 404) that changes nothing, never a 500; a malformed filter is a 400 naming it, never
an empty page."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from orders.models import Order
from saga_testing.malformed import NUL, SURROGATE, assert_refused, without_raising
from tests.test_orders_api import ORDER, place

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/orders/a{NUL}b",
        f"/api/v1/orders/{SURROGATE}",
        f"/api/v1/orders?customer_id=c-1{NUL}",
        f"/api/v1/orders?status={SURROGATE}",
        f"/api/v1/orders?{NUL}=1",
        f"/api/v1/orders?customer_id=c-1&st{NUL}atus=PENDING",
        f"/api/v1/orders?offset={NUL}",
        f"/api/v1/operations/dead-letters?{NUL}",
    ],
)
def test_a_nul_or_surrogate_in_the_url_is_refused(operator_api: APIClient, url: str) -> None:
    assert_refused(without_raising(operator_api).get(url))


def test_a_nul_in_the_query_of_a_change_changes_nothing(api: APIClient) -> None:
    assert_refused(api.post(f"/api/v1/orders?note={NUL}", ORDER, format="json"))
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "LOST"}, "status"),
        ({"status": "pending"}, "status"),
        ({"status": ""}, "status"),
        ({"status": ["PENDING", "APPROVED"]}, "status"),  # given twice: which one did the caller mean?
        ({"customer_id": ""}, "customer_id"),
        ({"customer_id": "x" * 65}, "customer_id"),
        ({"customer_id": ["c-1", "c-2"]}, "customer_id"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(
    operator_api: APIClient, query: dict[str, Any], field: str
) -> None:
    assert_refused(operator_api.get("/api/v1/orders", query), field=field)


def test_valid_filters_still_filter(operator_api: APIClient) -> None:
    place(operator_api)
    place(operator_api, {**ORDER, "customer_id": "c-2"})
    Order.objects.filter(customer_id="c-2").update(status="APPROVED")
    both = {"customer_id": "c-2", "status": "APPROVED"}
    assert [o["customer_id"] for o in operator_api.get("/api/v1/orders", both).json()["results"]] == ["c-2"]
    assert (
        operator_api.get("/api/v1/orders", {"customer_id": "c-1", "status": "APPROVED"}).json()["count"] == 0
    )
