"""What payments answers to requests it may not take: a NUL or a lone surrogate in the path or the query
is a JSON 400 (or 404) that changes nothing, never a 500; a malformed filter is a 400 naming it, never
an empty page."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from payments import services
from payments.models import Account
from saga_testing.malformed import NUL, SURROGATE, assert_refused, without_raising

pytestmark = pytest.mark.django_db

ORDER = "3f2c9a4e-1b7d-4c2a-9e5f-0a1b2c3d4e5f"
OTHER = "7d1e0b52-8c3a-4f6e-a2d9-5b4c3a2f1e0d"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/accounts/a{NUL}b",  # was a 500: the database driver refuses a NUL in a string
        f"/api/v1/accounts/{NUL}",
        f"/api/v1/accounts/{SURROGATE}",
        f"/api/v1/accounts/c-1?x={NUL}",
        f"/api/v1/payments?order_id={ORDER}{NUL}",
        f"/api/v1/payments?order_id={SURROGATE}",
        f"/api/v1/payments?order_id={ORDER}&{NUL}=1",
        f"/api/v1/payments?order_id={ORDER}&limit=1{NUL}",
        f"/api/v1/operations/dead-letters?status=PENDING{NUL}",
    ],
)
def test_a_nul_or_surrogate_in_the_url_is_refused(operator_api: APIClient, url: str) -> None:
    services.account_open(customer_id="c-1", currency="EUR", credit_limit=Decimal("100.00"))
    assert_refused(without_raising(operator_api).get(url))


def test_a_nul_in_the_query_of_a_change_changes_nothing(operator_api: APIClient) -> None:
    body = {"customer_id": "c-1", "currency": "EUR", "credit_limit": "100.00"}
    assert_refused(operator_api.post(f"/api/v1/accounts?note={NUL}", body, format="json"))
    assert Account.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        {"order_id": "not-a-uuid"},  # was a 200 with an empty page
        {"order_id": "o-1"},
        {"order_id": ORDER + "0"},
        {"order_id": ""},
        {"order_id": [ORDER, OTHER]},  # given twice: which one did the caller mean?
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(operator_api: APIClient, query: dict[str, Any]) -> None:
    assert_refused(operator_api.get("/api/v1/payments", query), field="order_id")


def test_an_order_id_filters_in_any_spelling_of_its_uuid(operator_api: APIClient) -> None:
    services.account_open(customer_id="c-1", currency="EUR", credit_limit=Decimal("100.00"))
    services.payment_authorize(order_id=ORDER, customer_id="c-1", amount=Decimal("5.00"), currency="EUR")
    for spelling in (ORDER, ORDER.upper(), ORDER.replace("-", "")):
        (found,) = operator_api.get("/api/v1/payments", {"order_id": spelling}).json()["results"]
        assert found["order_id"] == ORDER
    assert operator_api.get("/api/v1/payments", {"order_id": OTHER}).json()["count"] == 0
