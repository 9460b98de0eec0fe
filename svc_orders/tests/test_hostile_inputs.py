"""Inputs that once got a 500 or were misread: deeply nested JSON, huge page numbers, chunked bodies.

Each answer must be a JSON 4xx (or, for a valid chunked order, the order), never a 500.
"""

import io
import json
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from orders.models import Order
from saga_common.web.pagination import MAX_LIMIT
from saga_common.web.parsers import MAX_JSON_DEPTH
from tests.test_orders_api import ORDER

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"  # beyond a 64-bit integer


def post_raw(api: APIClient, body: bytes) -> Any:
    return api.generic("POST", "/api/v1/orders", body.decode(), content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [b"[" * 5000 + b"]" * 5000, b'{"a":' * 5000 + b"1" + b"}" * 5000],
    ids=["arrays", "objects"],
)
def test_json_nested_thousands_deep_is_a_400(api: APIClient, body: bytes) -> None:
    response = post_raw(api, body)
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert f"nested more than {MAX_JSON_DEPTH} levels deep" in response.json()["detail"]


def test_nesting_is_capped_just_past_the_limit(api: APIClient) -> None:
    too_deep = post_raw(api, b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert too_deep.status_code == 400
    assert "nested" in too_deep.json()["detail"]
    # At the limit the body is parsed (and refused only because it is not an order).
    at_limit = post_raw(api, b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert at_limit.status_code == 400
    assert "nested" not in json.dumps(at_limit.json())
    # Brackets inside strings are text, not nesting.
    order = {**ORDER, "shipping_address": {**ORDER["shipping_address"], "line2": "[{" * 100}}
    assert post_raw(api, json.dumps(order).encode()).status_code == 201


@pytest.mark.parametrize(
    "query",
    [
        f"limit={HUGE}",
        f"offset={HUGE}",
        f"limit={MAX_LIMIT + 1}",
        "limit=0",
        "limit=-1",
        "limit=ten",
        "offset=-1",
        "limit=",
    ],
)
def test_out_of_range_pages_are_a_400(api: APIClient, query: str) -> None:
    response = api.get(f"/api/v1/orders?{query}")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    name = query.split("=")[0]
    assert name in response.json()


def test_pages_within_range_are_served(api: APIClient) -> None:
    api.post("/api/v1/orders", ORDER, format="json")
    page = api.get(f"/api/v1/orders?limit={MAX_LIMIT}&offset=0").json()
    assert (page["count"], len(page["results"])) == (1, 1)
    assert api.get("/api/v1/orders?offset=5").json()["results"] == []


def test_the_schema_documents_the_page_limits(api: APIClient) -> None:
    schema = api.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}).json()
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/orders"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}
    assert parameters["offset"]["minimum"] == 0


def chunked(api: APIClient, body: bytes) -> Any:
    """A request as gunicorn hands it over with ``Transfer-Encoding: chunked``: the body de-chunked in
    wsgi.input, and no Content-Length."""
    environ: dict[str, Any] = {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }
    return api.generic("POST", "/api/v1/orders", content_type="application/json", **environ)


def test_a_chunked_order_is_read(api: APIClient) -> None:
    response = chunked(api, json.dumps(ORDER).encode())
    assert response.status_code == 201, response.content
    assert str(Order.objects.get().total) == response.json()["total"] == "25.99"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_chunked_body_over_the_limit_is_a_413(api: APIClient) -> None:
    response = chunked(api, b"[" + b" " * 2048 + b"]")
    assert (response.status_code, response["Content-Type"]) == (413, "application/json")
    assert response.json() == {"detail": "request body is larger than 1024 bytes"}
    assert Order.objects.count() == 0
