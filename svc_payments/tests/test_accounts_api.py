"""Accounts and payments over REST."""

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from payments import services
from payments.models import Account

pytestmark = pytest.mark.django_db

ORDER = "4e2a7c1b-9d3f-4b8e-a6c5-1f0e9d8c7b6a"  # an order id, as the orders service makes them
OTHER_ORDER = "c8b7a6f5-e4d3-4c2b-9a1f-0e9d8c7b6a5f"


@pytest.fixture
def api(operator_api: APIClient) -> APIClient:
    """Opening accounts is an operator's job: these tests act as one."""
    return operator_api


def open_account(api: APIClient, **fields: str) -> Any:
    body = {"customer_id": "c-1", "currency": "EUR", "credit_limit": "100.00", **fields}
    return api.post("/api/v1/accounts", body, format="json")


def test_open_account_and_read_it(api: APIClient) -> None:
    created = open_account(api)
    assert created.status_code == 201
    assert created.json() == {
        "customer_id": "c-1",
        "currency": "EUR",
        "credit_limit": "100.00",
        "available": "100.00",
    }
    assert api.get("/api/v1/accounts/c-1").json()["available"] == "100.00"


def test_available_is_limit_minus_open_authorizations_minus_captures(api: APIClient) -> None:
    open_account(api)
    services.payment_authorize(order_id="o-1", customer_id="c-1", amount=Decimal("10.10"), currency="EUR")
    services.payment_authorize(order_id="o-2", customer_id="c-1", amount=Decimal("20.20"), currency="EUR")
    services.payment_authorize(order_id="o-3", customer_id="c-1", amount=Decimal("30.30"), currency="EUR")
    services.payment_capture(order_id="o-2")
    services.payment_void(order_id="o-3")
    assert api.get("/api/v1/accounts/c-1").json()["available"] == "69.70"


def test_second_account_for_a_customer_is_409(api: APIClient) -> None:
    open_account(api)
    response = open_account(api, credit_limit="5.00")
    assert (response.status_code, "already has an account" in response.json()["detail"]) == (409, True)
    assert Account.objects.get().credit_limit == Decimal("100.00")


@pytest.mark.parametrize(
    "fields",
    [
        {"credit_limit": "-1.00"},
        {"credit_limit": "1.001"},
        {"credit_limit": "lots"},
        {"currency": "eur"},
        {"customer_id": ""},
        {"customer_id": "c/1"},
        {"credit_limit": "1" * 20},
    ],
)
def test_bad_account_gets_400_and_creates_nothing(api: APIClient, fields: dict[str, str]) -> None:
    response = open_account(api, **fields)
    assert response.status_code == 400
    assert Account.objects.count() == 0


def test_unknown_account_is_404_json(api: APIClient) -> None:
    response = api.get("/api/v1/accounts/nobody")
    assert (response.status_code, response.json()) == (404, {"detail": "No Account matches the given query."})


def test_payments_are_listed_by_order(api: APIClient) -> None:
    open_account(api)
    payment = services.payment_authorize(
        order_id=ORDER, customer_id="c-1", amount=Decimal("5.00"), currency="EUR"
    )
    listed = api.get("/api/v1/payments", {"order_id": ORDER}).json()
    assert listed == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": str(payment.id),
                "order_id": ORDER,
                "amount": "5.00",
                "currency": "EUR",
                "status": "AUTHORIZED",
            }
        ],
    }
    assert api.get("/api/v1/payments", {"order_id": OTHER_ORDER}).json()["results"] == []
    assert api.get("/api/v1/payments").status_code == 400


def test_only_operators_open_accounts_and_customers_read_only_their_own(client_for: Any) -> None:
    customer = client_for("c-1")
    refused = open_account(customer)
    assert (refused.status_code, refused.json()["detail"]) == (403, "this endpoint needs an operator token")
    assert Account.objects.count() == 0
    assert open_account(client_for("ops", operator=True)).status_code == 201
    services.payment_authorize(order_id=ORDER, customer_id="c-1", amount=Decimal("5.00"), currency="EUR")
    assert customer.get("/api/v1/accounts/c-1").status_code == 200
    stranger = client_for("c-2")
    assert stranger.get("/api/v1/accounts/c-1").status_code == 404
    assert stranger.get("/api/v1/payments", {"order_id": ORDER}).json()["count"] == 0
    assert customer.get("/api/v1/payments", {"order_id": ORDER}).json()["count"] == 1


def test_payments_are_paged_like_every_list(api: APIClient) -> None:
    open_account(api)
    services.payment_authorize(order_id=ORDER, customer_id="c-1", amount=Decimal("1.00"), currency="EUR")
    first = api.get("/api/v1/payments", {"order_id": ORDER, "limit": "1"}).json()
    assert (first["count"], len(first["results"]), first["next"]) == (1, 1, None)
    past = api.get("/api/v1/payments", {"order_id": ORDER, "limit": "1", "offset": "1"}).json()
    assert (past["results"], f"order_id={ORDER}" in past["previous"]) == ([], True)
    assert api.get("/api/v1/payments", {"order_id": ORDER, "limit": str(10**30)}).status_code == 400
