"""Who may do what with orders (bearer tokens), hostile requests, and concurrent Idempotency-Keys."""

import threading
import time
import uuid
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django_outbox_pattern.models import Published
from prometheus_client import REGISTRY, generate_latest
from rest_framework.test import APIClient

from orders.models import Order
from saga_testing.messages import outbox_messages
from tests.test_orders_api import ORDER, place

pytestmark = pytest.mark.django_db

KEY = settings.SIMPLE_JWT["SIGNING_KEY"]


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    valid = {"token_type": "access", "jti": uuid.uuid4().hex, "sub": "c-1", "roles": ["customer"]}
    return valid | {"iat": now, "exp": now + 60} | overrides


BAD_TOKENS = {
    "forged (another key)": jwt.encode(
        claims(), "another-key-of-the-recommended-length-32+", algorithm="HS256"
    ),
    "expired": jwt.encode(claims(exp=int(time.time()) - 5), KEY, algorithm="HS256"),
    "alg none": jwt.encode(claims(), "", algorithm="none"),  # "": no key (None does not type-check)
    "another algorithm": jwt.encode(claims(), KEY * 2, algorithm="HS512"),
    "a refresh token": jwt.encode(claims(token_type="refresh"), KEY, algorithm="HS256"),
    "no subject": jwt.encode({k: v for k, v in claims().items() if k != "sub"}, KEY, algorithm="HS256"),
    "garbage": "not.a.jwt",
    "a subject no customer id can be": jwt.encode(claims(sub="c" * 65), KEY, algorithm="HS256"),
    "a subject with a NUL": jwt.encode(claims(sub="c\x00"), KEY, algorithm="HS256"),
    "a subject that is not text": jwt.encode(claims(sub=7), KEY, algorithm="HS256"),
}


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_tokens_get_a_json_401_and_change_nothing(token: str) -> None:
    response = place(bearer(token))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert (Order.objects.count(), Published.objects.count()) == (0, 0)


def test_no_token_is_401_with_a_bearer_challenge(client_for: Any) -> None:
    anonymous = client_for(None)
    for response in (place(anonymous), anonymous.get("/api/v1/orders")):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Order.objects.count() == 0


def test_a_token_without_a_known_role_is_403() -> None:
    response = place(bearer(jwt.encode(claims(roles=["admin"]), KEY, algorithm="HS256")))
    assert response.status_code == 403


def test_probes_and_schema_need_no_token(client_for: Any) -> None:
    anonymous = client_for(None)
    assert anonymous.get("/healthz/live").status_code == 200
    assert anonymous.get("/api/schema/").status_code == 200


def test_a_customer_orders_for_itself_only(client_for: Any) -> None:
    mine = place(client_for("c-1"), {k: v for k, v in ORDER.items() if k != "customer_id"})
    assert (mine.status_code, mine.json()["customer_id"]) == (201, "c-1")
    theirs = place(client_for("c-1"), {**ORDER, "customer_id": "c-2"})
    assert (theirs.status_code, theirs.json()["detail"]) == (403, "a customer can only place its own orders")
    assert list(Order.objects.values_list("customer_id", flat=True)) == ["c-1"]
    assert Published.objects.count() == 1


def test_an_operator_orders_for_a_named_customer(client_for: Any) -> None:
    operator = client_for("ops", operator=True)
    assert place(operator, {**ORDER, "customer_id": "c-9"}).json()["customer_id"] == "c-9"
    unnamed = place(operator, {k: v for k, v in ORDER.items() if k != "customer_id"})
    assert (unnamed.status_code, "customer_id" in unnamed.json()) == (400, True)


def test_another_customers_order_is_404_and_missing_from_lists(client_for: Any) -> None:
    order_id = place(client_for("c-1")).json()["id"]
    stranger = client_for("c-2")
    assert stranger.get(f"/api/v1/orders/{order_id}").status_code == 404
    assert stranger.get("/api/v1/orders").json()["count"] == 0
    assert stranger.get("/api/v1/orders", {"customer_id": "c-1"}).json()["count"] == 0
    assert client_for("c-1").get(f"/api/v1/orders/{order_id}").status_code == 200
    assert client_for("ops", operator=True).get(f"/api/v1/orders/{order_id}").status_code == 200


def test_idempotency_keys_belong_to_their_customer(client_for: Any) -> None:
    headers = {"Idempotency-Key": "same-key"}
    first = place(client_for("c-1"), {**ORDER, "customer_id": "c-1"}, headers)
    second = place(client_for("c-2"), {**ORDER, "customer_id": "c-2"}, headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


def test_an_oversized_body_is_a_json_413_and_creates_nothing(api: APIClient) -> None:
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = place(api, {**ORDER, "shipping_address": {**ORDER["shipping_address"], "name": padding}})
    assert (response.status_code, response["Content-Type"]) == (413, "application/json")
    assert "larger than" in response.json()["detail"]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("items.0.sku", "SKU\x001"),
        ("shipping_address.city", "Ber\x00lin"),
        ("shipping_address.name", "x" * 201),
        ("items.0.quantity", 10_001),
        ("items.0.unit_price", "0.00"),
        ("items.0.unit_price", "-1.00"),
        ("items.0.unit_price", "1.001"),
    ],
)
def test_nul_bytes_bounds_and_amounts_are_refused(api: APIClient, field: str, value: Any) -> None:
    from tests.test_orders_api import with_change

    response = place(api, with_change(field, value))
    assert response.status_code == 400
    assert Order.objects.count() == 0


@pytest.mark.django_db(transaction=True)  # each thread commits through its own connection
def test_concurrent_requests_with_one_key_create_one_order(client_for: Any) -> None:
    token_client = client_for("c-1")
    headers = {"Idempotency-Key": "concurrent-1"}
    responses: list[Any] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        try:
            client = APIClient()
            client.credentials(**token_client._credentials)
            barrier.wait()
            responses.append(place(client, ORDER, headers))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert Order.objects.count() == 1
    assert Published.objects.count() == 1
    order_id = str(Order.objects.get().id)
    assert len(responses) == 6
    for response in responses:  # each waited for the first, and got its answer
        assert response.status_code == 201
        assert response.json()["id"] == order_id


def test_metrics_and_correlation_ids(api: APIClient, client_for: Any) -> None:
    response = place(api, headers={"X-Correlation-ID": "trace-me-1"})
    assert response["X-Correlation-ID"] == "trace-me-1"
    (event,) = outbox_messages()
    assert event.correlation_id == "trace-me-1"  # the request's id travels with its messages
    assert place(api)["X-Correlation-ID"]  # one is made up when the caller sends none
    # What the metrics port serves (saga_common.web.gunicorn_conf); the public API port has no /metrics.
    text = generate_latest(REGISTRY).decode()
    assert 'sagaref_django_http_responses_total_by_status_total{status="201"}' in text
    assert "sagaref_outbox_backlog_rows 2.0" in text
    public = client_for(None).get("/metrics")
    assert (public.status_code, public.json()) == (404, {"detail": "Not found."})
