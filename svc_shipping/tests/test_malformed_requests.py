"""What shipping answers to requests it may not take: a NUL or a lone surrogate in the path or the query
is a JSON 400 (or 404), never a 500; a malformed filter is a 400 naming it, never an empty page."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from saga_testing.malformed import NUL, SURROGATE, assert_refused, without_raising
from tests.test_shipping import schedule

pytestmark = pytest.mark.django_db

ORDER = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
OTHER = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/shipments?order_id={ORDER}{NUL}",
        f"/api/v1/shipments?order_id={NUL}",
        f"/api/v1/shipments?order_id={SURROGATE}",
        f"/api/v1/shipments?order_id={ORDER}&{NUL}=1",
        f"/api/v1/shipments/{NUL}",
        f"/api/v1/operations/dead-letters/{NUL}/discard",
    ],
)
def test_a_nul_or_surrogate_in_the_url_is_refused(operator_api: APIClient, url: str) -> None:
    assert_refused(without_raising(operator_api).get(url))


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
    assert_refused(operator_api.get("/api/v1/shipments", query), field="order_id")


def test_an_order_id_filters_in_any_spelling_of_its_uuid(operator_api: APIClient) -> None:
    schedule("DE", order_id=ORDER)
    for spelling in (ORDER, ORDER.upper(), ORDER.replace("-", "")):
        (found,) = operator_api.get("/api/v1/shipments", {"order_id": spelling}).json()["results"]
        assert (found["order_id"], found["status"]) == (ORDER, "SCHEDULED")
    assert operator_api.get("/api/v1/shipments", {"order_id": OTHER}).json()["count"] == 0
