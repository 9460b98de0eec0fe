"""What the orchestrator answers to requests it may not take: a NUL or a lone surrogate in the path or
the query is a JSON 400 (or 404) that changes nothing, never a 500; a malformed filter is a 400 naming
it, never an empty page."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from saga_testing.malformed import NUL, SURROGATE, assert_refused, without_raising
from saga_testing.messages import outbox_messages
from tests.test_orchestrator import ORDER_ID, deliver, order_created, saga

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_place_order_v1")]

OTHER = "2b9e4c1d-6a3f-4e8b-b7c5-9d0e1f2a3b4c"


@pytest.fixture
def api(operator_api: APIClient) -> APIClient:
    return operator_api


@pytest.mark.parametrize(
    "url",
    [
        f"/api/v1/sagas/a{NUL}b",
        f"/api/v1/sagas/{SURROGATE}",
        f"/api/v1/sagas/{ORDER_ID}?x={NUL}",
        f"/api/v1/sagas?order_id={ORDER_ID}{NUL}",
        f"/api/v1/sagas?order_id={SURROGATE}",
        f"/api/v1/sagas?type=place_order{NUL}",
        f"/api/v1/sagas?{NUL}=1",
        f"/api/v1/sagas/counts?type={NUL}",
        f"/api/v1/sagas/counts?type=place_order&{SURROGATE}{NUL}=1",
    ],
)
def test_a_nul_or_surrogate_in_the_url_is_refused(api: APIClient, url: str) -> None:
    assert_refused(without_raising(api).get(url))


def test_a_nul_in_the_query_of_an_action_changes_nothing(api: APIClient) -> None:
    deliver(order_created())
    saga_id = saga(api)["id"]
    assert_refused(api.post(f"/api/v1/sagas/{saga_id}/compensate?reason={NUL}"))
    assert (saga(api)["state"], len(outbox_messages())) == ("RUNNING", 1)


@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/api/v1/sagas", {"order_id": "not-a-uuid"}, "order_id"),  # was a 200 with an empty page
        ("/api/v1/sagas", {"order_id": ORDER_ID[:-1]}, "order_id"),
        ("/api/v1/sagas", {"order_id": ""}, "order_id"),
        ("/api/v1/sagas", {"order_id": [ORDER_ID, OTHER]}, "order_id"),  # given twice
        ("/api/v1/sagas", {"state": "LOST"}, "state"),
        ("/api/v1/sagas", {"state": "running"}, "state"),
        ("/api/v1/sagas", {"state": ["RUNNING", "FAILED"]}, "state"),
        ("/api/v1/sagas", {"type": ""}, "type"),
        ("/api/v1/sagas", {"type": "x" * 65}, "type"),
        ("/api/v1/sagas/counts", {"type": ""}, "type"),
        ("/api/v1/sagas/counts", {"type": ["place_order", "refund_order"]}, "type"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(
    api: APIClient, url: str, query: dict[str, Any], field: str
) -> None:
    assert_refused(api.get(url, query), field=field)


def test_valid_filters_still_filter(api: APIClient) -> None:
    deliver(order_created())
    for spelling in (ORDER_ID, ORDER_ID.upper()):
        (found,) = api.get("/api/v1/sagas", {"order_id": spelling, "state": "RUNNING"}).json()["results"]
        assert (found["order_id"], found["type"]) == (ORDER_ID, "place_order")
    assert api.get("/api/v1/sagas", {"order_id": OTHER}).json()["count"] == 0
    assert api.get("/api/v1/sagas", {"order_id": ORDER_ID, "state": "FAILED"}).json()["count"] == 0
    assert api.get("/api/v1/sagas/counts", {"type": "place_order"}).json()["total"] == 1
