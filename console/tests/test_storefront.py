"""The storefront: account, placing an order, and the orders as they are decided."""

import httpx
import respx
from django.test import Client

from tests.conftest import account_json, order_json, page

ORDER = "5b0c9f8e-0000-4000-8000-000000000001"


def test_the_storefront_shows_the_account_and_each_order_with_its_payment_and_shipment(
    customer: Client, apis: respx.MockRouter
) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(
        json=page(
            [
                order_json(ORDER, "APPROVED"),
                order_json(ORDER.replace("1", "2"), "REJECTED", "credit limit exceeded"),
            ]
        )
    )
    apis.get("http://payments.test/api/v1/payments").respond(
        json=page(
            [{"id": ORDER, "order_id": ORDER, "amount": "25.00", "currency": "EUR", "status": "CAPTURED"}]
        )
    )
    apis.get("http://shipping.test/api/v1/shipments").respond(
        json=page([{"id": ORDER, "order_id": ORDER, "status": "SCHEDULED", "country": "DE"}])
    )
    html = customer.get("/shop").content.decode()
    assert "475.00 EUR" in html
    assert "500.00 EUR" in html
    assert "APPROVED" in html
    assert "CAPTURED" in html
    assert "SCHEDULED" in html
    assert "credit limit exceeded" in html
    assert 'hx-trigger="orders-changed from:body"' in html  # nothing pending: no polling, only on a cancel


def test_orders_poll_while_one_is_pending(customer: Client, apis: respx.MockRouter) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page([order_json(ORDER)]))
    apis.get("http://payments.test/api/v1/payments").respond(json=page([]))
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([]))
    html = customer.get("/shop").content.decode()
    assert 'hx-trigger="every 2s, orders-changed from:body"' in html
    fragment = customer.get("/shop/orders/live", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<section class="card" id="orders"')
    assert "PENDING" in fragment


def test_a_customer_only_lists_their_own_orders(customer: Client, apis: respx.MockRouter) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    orders = apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    customer.get("/shop")
    assert orders.calls.last.request.url.params["customer_id"] == "alice"


def test_placing_an_order_sends_it_with_an_idempotency_key_and_shows_it(
    customer: Client, apis: respx.MockRouter
) -> None:
    placed = apis.post("http://orders.test/api/v1/orders").respond(201, json=order_json(ORDER))
    response = customer.post(
        "/shop/orders",
        {
            "sku_0": "BOOK-1", "quantity_0": "2", "unit_price_0": "12.50",
            "sku_1": "", "quantity_1": "", "unit_price_1": "",
            "currency": "EUR", "name": "Ada", "line1": "1 Main St", "line2": "", "city": "Berlin",
            "postal_code": "10115", "country": "de",
        },
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == f"/shop?placed={ORDER}"
    request = placed.calls.last.request
    assert request.headers["Idempotency-Key"]
    body = httpx.Response(200, content=request.content).json()
    assert body["items"] == [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}]
    assert body["shipping_address"]["country"] == "DE"


def test_an_order_the_service_refuses_shows_why_and_keeps_the_form(
    customer: Client, apis: respx.MockRouter
) -> None:
    apis.post("http://orders.test/api/v1/orders").respond(
        400, json={"shipping_address": {"country": ["bad"]}}
    )
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    response = customer.post(
        "/shop/orders",
        {"sku_0": "BOOK-1", "quantity_0": "1", "unit_price_0": "1.00", "currency": "EUR", "name": "Ada",
         "line1": "x", "city": "y", "postal_code": "1", "country": "ZZ"},
    )  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "shipping address: country: bad" in html
    assert 'value="ZZ"' in html


def test_a_form_that_is_not_a_number_is_refused_before_any_call(
    customer: Client, apis: respx.MockRouter
) -> None:
    placed = apis.post("http://orders.test/api/v1/orders").respond(201, json=order_json(ORDER))
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    response = customer.post("/shop/orders", {"sku_0": "BOOK-1", "quantity_0": "many", "unit_price_0": "1"})
    assert response.status_code == 400
    assert b"whole number" in response.content
    assert not placed.called


def test_a_service_that_is_down_is_a_banner_and_the_rest_of_the_page_works(
    customer: Client, apis: respx.MockRouter
) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").mock(side_effect=httpx.ConnectError("refused"))
    apis.get("http://payments.test/api/v1/payments").mock(side_effect=httpx.ConnectError("refused"))
    apis.get("http://orders.test/api/v1/orders").respond(json=page([order_json(ORDER, "APPROVED")]))
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([]))
    response = customer.get("/shop")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("The payments service is not answering") == 1
    assert "APPROVED" in html  # the orders still show
    assert "Traceback" not in html


def test_a_customer_without_an_account_is_told_so(customer: Client, apis: respx.MockRouter) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(404, json={"detail": "Not found."})
    apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    assert b"You have no account yet" in customer.get("/shop").content


def test_pressing_place_order_again_after_a_timeout_sends_the_same_key(
    customer: Client, apis: respx.MockRouter
) -> None:
    placed = apis.post("http://orders.test/api/v1/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    form = customer.get("/shop").content.decode()
    key = form.split('name="idempotency_key" value="')[1].split('"')[0]
    body = {
        "sku_0": "BOOK-1",
        "quantity_0": "1",
        "unit_price_0": "1.00",
        "currency": "EUR",
        "name": "Ada",
        "line1": "x",
        "city": "y",
        "postal_code": "1",
        "country": "DE",
        "idempotency_key": key,
    }
    first = customer.post("/shop/orders", body)
    assert first.status_code == 400
    assert b"Press Place order again" in first.content
    assert f'name="idempotency_key" value="{key}"'.encode() in first.content  # kept for the next press
    placed.mock(side_effect=None, return_value=httpx.Response(201, json=order_json(ORDER)))
    again = customer.post("/shop/orders", body)
    assert again.status_code == 302
    assert [call.request.headers["Idempotency-Key"] for call in placed.calls] == [key, key]


def test_a_refused_order_gets_a_new_key_for_the_corrected_form(
    customer: Client, apis: respx.MockRouter
) -> None:
    apis.post("http://orders.test/api/v1/orders").respond(400, json={"items": ["bad"]})
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    body = {
        "sku_0": "BOOK-1",
        "quantity_0": "1",
        "unit_price_0": "1.00",
        "currency": "EUR",
        "name": "Ada",
        "line1": "x",
        "city": "y",
        "postal_code": "1",
        "country": "DE",
        "idempotency_key": "old-key",
    }
    response = customer.post("/shop/orders", body)
    assert b'name="idempotency_key" value="old-key"' not in response.content
    assert b'name="idempotency_key" value="' in response.content


def test_field_errors_read_as_a_person_would_say_them() -> None:
    from console.display import error_text

    assert (
        error_text({"items": {"0": {"unit_price": ["too many digits"]}}})
        == "items: item 1: unit price: too many digits"
    )


def test_the_account_card_refreshes_with_the_orders_once_an_order_is_decided(
    customer: Client, apis: respx.MockRouter
) -> None:
    # given the storefront loaded while an order of 12.50 was pending, before its payment
    account = apis.get("http://payments.test/api/v1/accounts/alice").respond(
        json={**account_json(), "credit_limit": "100.00", "available": "100.00"}
    )
    orders = apis.get("http://orders.test/api/v1/orders").respond(json=page([order_json(ORDER)]))
    apis.get("http://payments.test/api/v1/payments").respond(json=page([]))
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([]))
    html = customer.get("/shop").content.decode()
    assert '<dd data-testid="available">100.00 EUR</dd>' in html
    assert 'hx-swap-oob="true"' not in html  # the full page has the card in its place
    # when the order is approved and its payment captured
    account.respond(json={**account_json(), "credit_limit": "100.00", "available": "87.50"})
    orders.respond(json=page([order_json(ORDER, "APPROVED")]))
    asked_before = len(apis.calls)
    fragment = customer.get("/shop/orders/live", HTTP_HX_REQUEST="true").content.decode()
    # then the orders' refresh (its last: nothing is pending) carries the account card, out of band
    assert fragment.lstrip().startswith('<section class="card" id="orders"')
    assert 'hx-trigger="orders-changed from:body"' in fragment  # polling no more
    assert '<section class="card" id="account" hx-swap-oob="true">' in fragment
    assert '<dd data-testid="available">87.50 EUR</dd>' in fragment
    # read after the orders, so it is never older than the decision it shows with
    asked = [call.request.url.path for call in apis.calls[asked_before:]]
    assert asked.index("/api/v1/accounts/alice") > asked.index("/api/v1/orders")
