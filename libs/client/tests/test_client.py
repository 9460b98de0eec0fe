"""ShopClient against mocked services (respx): what it sends, what it retries, what it raises, and how
it reads every answer (the bodies are what the services' serializers write)."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest
import respx

from saga_client import (
    Account,
    ApiError,
    BadRequest,
    Conflict,
    DeadLetter,
    Forbidden,
    MessagingHealth,
    NotFound,
    Order,
    OrderItem,
    OrderRequest,
    Page,
    Saga,
    ServerError,
    ServiceUnavailable,
    ShippingAddress,
    ShopClient,
    Unauthorized,
    UnexpectedResponse,
    Unprocessable,
)

URLS = {
    "orders": "http://orders.test",
    "payments": "http://payments.test",
    "shipping": "http://shipping.test",
    "orchestrator": "http://orchestrator.test",
}
ORDER_ID = "283b32aa-1b84-41b7-b33e-f9d6abddb4c7"
SAGA_ID = "0c9e5a43-6f0e-5d5c-9b7e-2a4a1f1d8e11"
LETTER_ID = "5b1f0f0e-8d7c-4b7a-9f1e-3c2d1b0a9e8f"

# What the services answer (their serializers' output, docs/contract.md's REST contract).
ORDER: dict[str, Any] = {
    "id": ORDER_ID,
    "customer_id": "c-1",
    "status": "REJECTED",
    "total": "25.00",
    "currency": "EUR",
    "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}],
    "shipping_address": {
        "name": "Ada",
        "line1": "Main St 1",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DE",
    },
    "rejection_reason": "we do not ship to AQ",
    "created_at": "2026-12-03T13:26:06.136426Z",
    "updated_at": "2026-12-03T13:26:07.001002Z",
}
ACCOUNT = {"customer_id": "c-1", "currency": "EUR", "credit_limit": "100.00", "available": "75.00"}
PAYMENT = {
    "id": "9a7c1f6e-0d3b-4e2a-8c5f-1b2d3e4f5a6b",
    "order_id": ORDER_ID,
    "amount": "25.00",
    "currency": "EUR",
    "status": "VOIDED",
}
SHIPMENT = {
    "id": "1d2c3b4a-5f6e-4d8c-9b0a-1f2e3d4c5b6a",
    "order_id": ORDER_ID,
    "status": "SCHEDULED",
    "country": "DE",
}
STEP = {
    "name": "authorize_payment",
    "status": "SUCCEEDED",
    "started_at": "2026-12-03T13:26:06.300000Z",
    "finished_at": "2026-12-03T13:26:06.420000Z",
    "attempts": 1,
    "kind": "FORWARD",
    "command_type": "AuthorizePayment",
    "reply_type": "PaymentAuthorized",
    "participant": "payments",
    "max_attempts": 5,
    "deadline_at": None,
}
WAITING_STEP = {
    **STEP,
    "name": "schedule_shipment",
    "status": "STARTED",
    "finished_at": None,
    "attempts": 2,
    "command_type": "ScheduleShipment",
    "reply_type": "",
    "participant": "shipping",
    "deadline_at": "2026-12-03T13:26:26.500000Z",
}
SAGA: dict[str, Any] = {
    "id": SAGA_ID,
    "type": "place_order",
    "order_id": ORDER_ID,
    "state": "RUNNING",
    "current_step": "schedule_shipment",
    "steps": [STEP, WAITING_STEP],
    "history": [
        {
            "at": "2026-12-03T13:26:06.299000Z",
            "event": "SagaStarted",
            "message_type": "OrderCreated",
            "message_id": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
            "detail": "",
        },
        {
            "at": "2026-12-03T13:26:16.500000Z",
            "event": "StepRetried",
            "message_type": "",
            "message_id": "",
            "detail": "schedule_shipment (no reply), attempt 2",
        },
    ],
    "created_at": "2026-12-03T13:26:06.299000Z",
    "updated_at": "2026-12-03T13:26:16.500000Z",
}
COUNTS = {
    "counts": {"RUNNING": 3, "COMPENSATING": 0, "COMPLETED": 10, "COMPENSATED": 2, "FAILED": 1},
    "total": 16,
}
HEALTH = {
    "service": "payments",
    "observed_at": "2026-12-03T13:30:00.000000Z",
    "outbox_backlog": 4,
    "outbox_oldest_age_seconds": 1.25,
    "consumer_lag": [{"topic": "payments.commands", "lag": 7}],
    "dead_letters_pending": 2,
    "dead_letters_by_topic": [{"topic": "payments.commands", "pending": 2}],
}
LETTER = {
    "id": LETTER_ID,
    "topic": "payments.commands",
    "message_id": None,
    "message_type": None,
    "error": "not a namespaced, versioned type: 'x'",
    "attempts": 1,
    "received_at": "2026-12-03T13:29:00.000000Z",
    "status": "PENDING",
    "acted_by": None,
    "acted_at": None,
}


def page(*results: dict[str, Any], next: str | None = None) -> dict[str, Any]:
    return {"count": len(results), "next": next, "previous": None, "results": list(results)}


def a_request(customer_id: str | None = None) -> OrderRequest:
    return OrderRequest(
        customer_id=customer_id,
        currency="EUR",
        items=(OrderItem(sku="SKU-1", quantity=2, unit_price=Decimal("12.50")),),
        shipping_address=ShippingAddress(
            name="Ada", line1="Main St 1", city="Berlin", postal_code="10115", country="DE"
        ),
    )


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> Iterator[ShopClient]:
    with ShopClient(URLS, token="tok") as shop:
        yield shop


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff the client waited, without waiting."""
    waited: list[float] = []
    monkeypatch.setattr("saga_client.sending.time.sleep", waited.append)
    return waited


# --- what is sent -------------------------------------------------------------------------------


def test_every_call_carries_the_bearer_token(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.get(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}").respond(json=ORDER)
    client.get_order(ORDER_ID)
    sent = route.calls.last.request
    assert (sent.headers["Authorization"], sent.headers["Accept"]) == ("Bearer tok", "application/json")
    with ShopClient(URLS) as anonymous:
        anonymous.get_order(UUID(ORDER_ID))
    assert "Authorization" not in route.calls.last.request.headers


def test_with_token_acts_for_someone_else_over_the_same_connections(
    mock: respx.MockRouter, client: ShopClient
) -> None:
    route = mock.get(f"{URLS['payments']}/api/v1/accounts/c-2").respond(
        json={**ACCOUNT, "customer_id": "c-2"}
    )
    with client.with_token("other") as customer:
        assert customer.get_account("c-2").customer_id == "c-2"
        assert customer._http["payments"] is client._http["payments"]
    assert route.calls.last.request.headers["Authorization"] == "Bearer other"
    # closing the copy left the connections open for the original
    assert client.get_account("c-2").available == Decimal("75.00")
    assert route.calls.last.request.headers["Authorization"] == "Bearer tok"


def test_one_connection_pool_per_base_url() -> None:
    shared = {**URLS, "shipping": URLS["payments"]}
    with ShopClient(shared) as shop:
        assert shop._http["shipping"] is shop._http["payments"]
        assert len({id(c) for c in shop._http.values()}) == 3
    with pytest.raises(ValueError, match="no URL for service 'console'"):
        shop.messaging_health("console")


def test_place_order_always_sends_an_idempotency_key(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.post(f"{URLS['orders']}/api/v1/orders").respond(201, json={**ORDER, "status": "PENDING"})
    order = client.place_order(a_request())
    assert (order.status, order.total) == ("PENDING", Decimal("25.00"))
    first, second = route.calls.last.request, None
    client.place_order(a_request())
    second = route.calls.last.request
    keys = [first.headers["Idempotency-Key"], second.headers["Idempotency-Key"]]
    assert keys[0] != keys[1]
    assert all(uuid.UUID(key).version == 4 for key in keys)
    # the body: money as decimal strings; customer_id and line2 left out when not given
    assert json.loads(first.content) == {
        "currency": "EUR",
        "items": [{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}],
        "shipping_address": {
            "name": "Ada",
            "line1": "Main St 1",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
    }
    assert first.headers["Content-Type"] == "application/json"


def test_place_order_reuses_the_key_it_is_given(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.post(f"{URLS['orders']}/api/v1/orders").respond(201, json=ORDER)
    client.place_order(a_request("c-1"), idempotency_key="order-7")
    client.place_order(a_request("c-1"), idempotency_key="order-7")
    assert [call.request.headers["Idempotency-Key"] for call in route.calls] == ["order-7", "order-7"]
    assert json.loads(route.calls.last.request.content)["customer_id"] == "c-1"


def test_open_account_sends_the_credit_limit_as_a_decimal_string(
    mock: respx.MockRouter, client: ShopClient
) -> None:
    route = mock.post(f"{URLS['payments']}/api/v1/accounts").respond(201, json=ACCOUNT)
    account = client.open_account("c-1", Decimal("100.00"))
    assert account == Account(
        customer_id="c-1", currency="EUR", credit_limit=Decimal("100.00"), available=Decimal("75.00")
    )
    client.open_account("c-1", "100.00", currency="USD")
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies == [
        {"customer_id": "c-1", "currency": "EUR", "credit_limit": "100.00"},
        {"customer_id": "c-1", "currency": "USD", "credit_limit": "100.00"},
    ]


def test_filters_are_sent_only_when_given(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.get(f"{URLS['orchestrator']}/api/v1/sagas").respond(json=page(SAGA))
    client.list_sagas()
    assert dict(route.calls.last.request.url.params) == {}
    client.list_sagas(state="FAILED", type="place_order", order_id=ORDER_ID, limit=10, offset=20)
    assert dict(route.calls.last.request.url.params) == {
        "state": "FAILED",
        "type": "place_order",
        "order_id": ORDER_ID,
        "limit": "10",
        "offset": "20",
    }
    orders = mock.get(f"{URLS['orders']}/api/v1/orders").respond(json=page(ORDER))
    client.list_orders(customer_id="c-1", status="PENDING", limit=5)
    assert dict(orders.calls.last.request.url.params) == {
        "customer_id": "c-1",
        "status": "PENDING",
        "limit": "5",
    }


def test_path_parameters_are_escaped(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.get(f"{URLS['payments']}/api/v1/accounts/c%3A1%2Fx").respond(json=ACCOUNT)
    client.get_account("c:1/x")
    assert route.called


# --- retries -------------------------------------------------------------------------------------


def test_a_read_is_retried_on_503_then_succeeds(
    mock: respx.MockRouter, client: ShopClient, pauses: list[float]
) -> None:
    route = mock.get(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}")
    route.side_effect = [httpx.Response(503), httpx.Response(502), httpx.Response(200, json=ORDER)]
    assert client.get_order(ORDER_ID).id == UUID(ORDER_ID)
    assert route.call_count == 3
    assert pauses == [0.1, 0.2]  # short, growing


def test_a_read_is_retried_on_a_connection_error(
    mock: respx.MockRouter, client: ShopClient, pauses: list[float]
) -> None:
    route = mock.get(f"{URLS['shipping']}/api/v1/shipments")
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(200, json=page(SHIPMENT))]
    assert [s.status for s in client.shipments_of(ORDER_ID)] == ["SCHEDULED"]
    assert route.call_count == 2


def test_a_read_gives_up_after_its_retries(mock: respx.MockRouter, pauses: list[float]) -> None:
    route = mock.get(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}").respond(504, text="gateway timeout")
    with ShopClient(URLS, retries=2) as shop, pytest.raises(ServerError) as raised:
        shop.get_saga(SAGA_ID)
    assert (route.call_count, raised.value.status, raised.value.detail) == (
        3,
        504,
        {"detail": "gateway timeout"},
    )


def test_a_write_with_an_idempotency_key_is_sent_again_with_the_same_key(
    mock: respx.MockRouter, client: ShopClient, pauses: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    route = mock.post(f"{URLS['orders']}/api/v1/orders")
    # a kept-alive connection the server closed as the request went out, then a restarting worker
    route.side_effect = [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(503, json={"detail": "busy"}),
        httpx.Response(201, json=ORDER),
    ]
    with caplog.at_level("WARNING", logger="saga_client"):
        assert client.place_order(a_request(), idempotency_key="key-1").id == UUID(ORDER_ID)
    assert route.call_count == 3
    assert {call.request.headers["Idempotency-Key"] for call in route.calls} == {"key-1"}
    assert [call.request.content for call in route.calls] == [route.calls[0].request.content] * 3
    assert [getattr(r, "retry_reason", None) for r in caplog.records] == ["RemoteProtocolError", "HTTP 503"]
    assert caplog.records[0].getMessage() == (
        "orders orders_create: RemoteProtocolError: Server disconnected without sending a response.; "
        "sending it again (attempt 2 of 4)"
    )
    # a key it made up itself is kept across the attempts too
    route.side_effect = [httpx.ReadError("reset"), httpx.Response(201, json=ORDER)]
    client.place_order(a_request())
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls[3:]]
    assert len(set(keys)) == 1
    assert len(keys) == 2


def test_a_keyed_write_that_timed_out_or_got_a_504_is_not_sent_again(
    mock: respx.MockRouter, client: ShopClient, pauses: list[float]
) -> None:
    # the first attempt may still be running: the caller decides, with the same key
    route = mock.post(f"{URLS['orders']}/api/v1/orders").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ServiceUnavailable, match="ReadTimeout"):
        client.place_order(a_request(), idempotency_key="key-2")
    assert route.call_count == 1
    route.side_effect = None
    route.return_value = httpx.Response(504, text="gateway timeout")
    with pytest.raises(ServerError):
        client.place_order(a_request(), idempotency_key="key-2")
    assert (route.call_count, pauses) == (2, [])


def test_a_write_without_an_idempotency_key_is_never_sent_again(
    mock: respx.MockRouter, client: ShopClient, pauses: list[float]
) -> None:
    retry = mock.post(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}/retry").respond(502)
    with pytest.raises(ServerError):
        client.retry_saga(SAGA_ID)
    assert retry.call_count == 1
    retry.side_effect = httpx.ConnectError("refused")
    with pytest.raises(ServiceUnavailable):
        client.retry_saga(SAGA_ID)
    assert (retry.call_count, pauses) == (2, [])


def test_a_keyed_write_gives_up_after_its_retries(mock: respx.MockRouter, pauses: list[float]) -> None:
    route = mock.post(f"{URLS['orders']}/api/v1/orders").mock(side_effect=httpx.ConnectError("refused"))
    with ShopClient(URLS, retries=1) as shop, pytest.raises(ServiceUnavailable):
        shop.place_order(a_request())
    assert route.call_count == 2
    with ShopClient(URLS, retries=0) as shop, pytest.raises(ServiceUnavailable):
        shop.place_order(a_request())
    assert route.call_count == 3


def test_a_timeout_is_service_unavailable_naming_the_service(
    mock: respx.MockRouter, client: ShopClient, pauses: list[float]
) -> None:
    route = mock.get(f"{URLS['payments']}/api/v1/payments").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ServiceUnavailable) as raised:
        client.payments_of(ORDER_ID)
    assert route.call_count == 4  # the first try and retries=3 more
    error = raised.value
    assert (error.service, error.operation) == ("payments", "payments_list")
    assert str(error) == "payments payments_list: unavailable: ReadTimeout: slow"
    mock.post(f"{URLS['payments']}/api/v1/accounts").mock(side_effect=httpx.ConnectTimeout("no"))
    with pytest.raises(ServiceUnavailable, match=r"^payments accounts_create: unavailable: ConnectTimeout"):
        client.open_account("c-1", "1.00")


def test_the_timeout_is_given_to_httpx() -> None:
    with ShopClient(URLS, timeout=2.5) as shop:
        assert shop._http["orders"].timeout == httpx.Timeout(2.5)


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (422, Unprocessable),
        (500, ServerError),
        (413, ApiError),
    ],
)
def test_each_error_status_is_its_exception_with_the_json_detail(
    mock: respx.MockRouter, client: ShopClient, status: int, error: type[ApiError], pauses: list[float]
) -> None:
    detail: dict[str, Any] = {"detail": "saga is past its pivot"}
    if status == 400:
        detail = {"items": ["This field is required."]}
    mock.post(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}/compensate").respond(status, json=detail)
    with pytest.raises(error) as raised:
        client.compensate_saga(SAGA_ID)
    assert type(raised.value) is error
    assert (raised.value.status, raised.value.detail) == (status, detail)
    assert (raised.value.service, raised.value.operation) == ("orchestrator", "sagas_compensate")
    assert str(raised.value) == f"orchestrator sagas_compensate: HTTP {status}: {json.dumps(detail)}"


def test_an_error_without_a_json_object_keeps_its_text(mock: respx.MockRouter, client: ShopClient) -> None:
    mock.get(f"{URLS['orders']}/api/v1/orders/x").respond(404, text="<html>Not Found</html>")
    with pytest.raises(NotFound) as raised:
        client.get_order("x")
    assert raised.value.detail == {"detail": "<html>Not Found</html>"}
    mock.get(f"{URLS['orders']}/api/v1/orders/y").respond(400, json=["a list"])
    with pytest.raises(BadRequest) as listed:
        client.get_order("y")
    assert listed.value.detail == {"detail": ["a list"]}


def test_a_success_the_model_cannot_read_is_unexpected(mock: respx.MockRouter, client: ShopClient) -> None:
    mock.get(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}").respond(json={**ORDER, "total": "lots"})
    with pytest.raises(UnexpectedResponse, match="orders orders_retrieve: HTTP 200"):
        client.get_order(ORDER_ID)


# --- reading every answer --------------------------------------------------------------------------


def test_an_order_is_read_with_decimals_datetimes_and_uuids(
    mock: respx.MockRouter, client: ShopClient
) -> None:
    mock.get(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}").respond(json=ORDER)
    order = client.get_order(ORDER_ID)
    assert order == Order(
        id=UUID(ORDER_ID),
        customer_id="c-1",
        status="REJECTED",
        total=Decimal("25.00"),
        currency="EUR",
        items=(OrderItem(sku="SKU-1", quantity=2, unit_price=Decimal("12.50")),),
        shipping_address=ShippingAddress(
            name="Ada", line1="Main St 1", city="Berlin", postal_code="10115", country="DE"
        ),
        rejection_reason="we do not ship to AQ",
        created_at=datetime(2026, 12, 3, 13, 26, 6, 136426, tzinfo=UTC),
        updated_at=datetime(2026, 12, 3, 13, 26, 7, 1002, tzinfo=UTC),
    )
    assert order.shipping_address.line2 == ""
    assert hash(order)  # frozen all the way down


def test_pages_of_orders_payments_and_shipments(mock: respx.MockRouter, client: ShopClient) -> None:
    more = f"{URLS['orders']}/api/v1/orders?limit=1&offset=1"
    mock.get(f"{URLS['orders']}/api/v1/orders").respond(json={**page(ORDER, next=more), "count": 2})
    listed = client.list_orders(limit=1)
    assert (listed.count, listed.next, listed.previous, len(listed.results)) == (2, more, None, 1)
    assert isinstance(listed, Page)
    assert isinstance(listed.results[0], Order)
    mock.get(f"{URLS['payments']}/api/v1/payments").respond(json=page(PAYMENT))
    (payment,) = client.payments_of(ORDER_ID)
    assert (payment.id, payment.order_id, payment.amount, payment.status) == (
        UUID(PAYMENT["id"]),
        ORDER_ID,
        Decimal("25.00"),
        "VOIDED",
    )
    mock.get(f"{URLS['shipping']}/api/v1/shipments").respond(json=page())
    assert client.shipments_of(ORDER_ID) == []


def test_a_saga_with_its_steps_and_history(mock: respx.MockRouter, client: ShopClient) -> None:
    mock.get(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}").respond(json=SAGA)
    saga = client.get_saga(SAGA_ID)
    assert (saga.id, saga.type, saga.state, saga.current_step) == (
        UUID(SAGA_ID),
        "place_order",
        "RUNNING",
        "schedule_shipment",
    )
    done, waiting = saga.steps
    assert (done.participant, done.max_attempts, done.deadline_at, done.reply_type) == (
        "payments",
        5,
        None,
        "PaymentAuthorized",
    )
    assert (waiting.participant, waiting.attempts, waiting.finished_at) == ("shipping", 2, None)
    assert waiting.deadline_at == datetime(2026, 12, 3, 13, 26, 26, 500000, tzinfo=UTC)
    assert [(e.event, e.detail) for e in saga.history] == [
        ("SagaStarted", ""),
        ("StepRetried", "schedule_shipment (no reply), attempt 2"),
    ]


def test_saga_of_an_order_and_none_before_it_started(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.get(f"{URLS['orchestrator']}/api/v1/sagas")
    route.side_effect = [httpx.Response(200, json=page(SAGA)), httpx.Response(200, json=page())]
    found = client.saga_of(ORDER_ID)
    assert isinstance(found, Saga)
    assert found.order_id == ORDER_ID
    assert dict(route.calls.last.request.url.params) == {"order_id": ORDER_ID, "limit": "1"}
    assert client.saga_of(ORDER_ID) is None


def test_saga_counts_and_the_operator_actions(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.get(f"{URLS['orchestrator']}/api/v1/sagas/counts").respond(json=COUNTS)
    counts = client.saga_counts(type="place_order")
    assert (counts.counts["FAILED"], counts.counts["COMPENSATING"], counts.total) == (1, 0, 16)
    assert route.calls.last.request.url.params["type"] == "place_order"
    mock.post(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}/retry").respond(json=SAGA)
    assert client.retry_saga(UUID(SAGA_ID)).id == UUID(SAGA_ID)


def test_messaging_health_and_dead_letters_of_any_service(mock: respx.MockRouter, client: ShopClient) -> None:
    mock.get(f"{URLS['payments']}/api/v1/operations/messaging").respond(json=HEALTH)
    health = client.messaging_health("payments")
    assert health == MessagingHealth(
        service="payments",
        observed_at=datetime(2026, 12, 3, 13, 30, tzinfo=UTC),
        outbox_backlog=4,
        outbox_oldest_age_seconds=1.25,
        consumer_lag=(health.consumer_lag[0],),
        dead_letters_pending=2,
        dead_letters_by_topic=(health.dead_letters_by_topic[0],),
    )
    assert (health.consumer_lag[0].lag, health.dead_letters_by_topic[0].pending) == (7, 2)
    quiet = {**HEALTH, "observed_at": None, "outbox_oldest_age_seconds": None, "consumer_lag": []}
    mock.get(f"{URLS['shipping']}/api/v1/operations/messaging").respond(json=quiet)
    assert client.messaging_health("shipping").observed_at is None
    listed = mock.get(f"{URLS['orders']}/api/v1/operations/dead-letters").respond(json=page(LETTER))
    (letter,) = client.list_dead_letters("orders", status="PENDING", limit=20).results
    assert isinstance(letter, DeadLetter)
    assert (letter.id, letter.message_id, letter.acted_at) == (UUID(LETTER_ID), None, None)
    assert dict(listed.calls.last.request.url.params) == {"status": "PENDING", "limit": "20"}
    acted = {**LETTER, "status": "REPLAYED", "acted_by": "ops", "acted_at": "2026-12-03T13:31:00Z"}
    base = f"{URLS['orders']}/api/v1/operations/dead-letters/{LETTER_ID}"
    mock.post(f"{base}/replay").respond(json=acted)
    mock.post(f"{base}/discard").respond(409, json={"detail": "this dead letter was already REPLAYED"})
    replayed = client.replay_dead_letter("orders", LETTER_ID)
    assert (replayed.status, replayed.acted_by) == ("REPLAYED", "ops")
    with pytest.raises(Conflict, match="already REPLAYED"):
        client.discard_dead_letter("orders", LETTER_ID)


def test_fields_a_newer_server_adds_are_ignored(mock: respx.MockRouter, client: ShopClient) -> None:
    newer = {
        **SAGA,
        "priority": "high",
        "steps": [{**STEP, "cost": 3}],
        "history": [{**SAGA["history"][0], "actor": "ops"}],
    }
    mock.get(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}").respond(json=newer)
    assert client.get_saga(SAGA_ID).steps[0].name == "authorize_payment"
    later = {**ORDER, "channel": "web", "shipping_address": {**ORDER["shipping_address"], "floor": 3}}
    mock.get(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}").respond(json=later)
    assert client.get_order(ORDER_ID).shipping_address.city == "Berlin"
    mock.get(f"{URLS['payments']}/api/v1/accounts/c-1").respond(json={**ACCOUNT, "held": "25.00"})
    assert client.get_account("c-1").available == Decimal("75.00")


def test_ready_is_a_yes_or_no(mock: respx.MockRouter, client: ShopClient) -> None:
    mock.get(f"{URLS['orders']}/healthz/ready").respond(json={"status": "ok", "checks": {"database": True}})
    mock.get(f"{URLS['payments']}/healthz/ready").respond(503, json={"status": "unavailable"})
    mock.get(f"{URLS['shipping']}/healthz/ready").mock(side_effect=httpx.ConnectError("refused"))
    assert [client.ready(s) for s in ("orders", "payments", "shipping")] == [True, False, False]


def test_a_saga_names_its_trace_and_an_older_orchestrator_none(
    mock: respx.MockRouter, client: ShopClient
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    route = mock.get(f"{URLS['orchestrator']}/api/v1/sagas/{SAGA_ID}")
    route.respond(json={**SAGA, "trace_id": trace_id})
    assert client.get_saga(SAGA_ID).trace_id == trace_id
    route.respond(json=SAGA)  # before sagas had traces
    assert client.get_saga(SAGA_ID).trace_id is None


def test_cancel_order_sends_the_reason_and_always_a_key(mock: respx.MockRouter, client: ShopClient) -> None:
    route = mock.post(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}/cancel").respond(
        202, json={**ORDER, "status": "CANCELLING", "cancellation_reason": "too slow"}
    )
    order = client.cancel_order(ORDER_ID, reason="too slow")
    assert (order.status, order.cancellation_reason, order.cancellation_refused_reason) == (
        "CANCELLING",
        "too slow",
        None,
    )
    assert json.loads(route.calls.last.request.content) == {"reason": "too slow"}
    assert uuid.UUID(route.calls.last.request.headers["Idempotency-Key"]).version == 4
    client.cancel_order(ORDER_ID, idempotency_key="cancel-7")
    assert route.calls.last.request.headers["Idempotency-Key"] == "cancel-7"
    mock.post(f"{URLS['orders']}/api/v1/orders/{ORDER_ID}/cancel").respond(
        409, json={"detail": "order is PENDING; only an APPROVED order can be cancelled"}
    )
    with pytest.raises(Conflict, match="only an APPROVED order"):
        client.cancel_order(ORDER_ID)
    assert len(route.calls) == 3  # a refused cancellation is not sent again


def test_dispatch_and_the_saga_definitions(mock: respx.MockRouter, client: ShopClient) -> None:
    shipment_id = "6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    mock.post(f"{URLS['shipping']}/api/v1/shipments/{shipment_id}/dispatch").respond(
        200,
        json={
            "id": shipment_id,
            "order_id": ORDER_ID,
            "status": "DISPATCHED",
            "country": "DE",
            "released": True,
        },
    )
    assert client.dispatch_shipment(shipment_id).status == "DISPATCHED"
    action = {
        "name": "void_payment",
        "command": "VoidPayment",
        "participant": "payments",
        "replies": ["PaymentVoided"],
        "reply_hooks": [],
    }
    definition = {
        "type": "place_order",
        "version": 2,
        "starts_new_sagas": True,
        "unfinished": 3,
        "steps": [
            {
                **action,
                "name": "authorize_payment",
                "index": 0,
                "group": 0,
                "parallel": True,
                "pivot": False,
                "compensation": action,
            }
        ],
        "groups": [[0, 1]],
        "pivot": 2,
        "on_compensated": None,
        "mermaid": "flowchart TD\n",
    }
    mock.get(f"{URLS['orchestrator']}/api/v1/sagas/definitions").respond(200, json=[definition])
    (found,) = client.saga_definitions()
    assert (found.version, found.groups, found.steps[0].compensation.command) == (2, ((0, 1),), "VoidPayment")  # type: ignore[union-attr]
