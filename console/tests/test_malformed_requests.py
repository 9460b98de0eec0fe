"""What the console answers to requests it may not take, before asking any API: a NUL or a lone
surrogate in the path or the query is a 400 (or 404), never a 500; a malformed filter is a 400 naming
it, neither dropped (the page then showed everything, as if filtered) nor passed on (the API's 400 then
showed as the service not answering)."""

import pytest
import respx
from django.test import Client

from saga_testing.malformed import NUL, SURROGATE
from tests.conftest import page

SAGA = "0d7a4c1e-0000-4000-8000-00000000000a"
LETTER = "9c3f2b1a-0000-4000-8000-0000000000dd"


@pytest.fixture
def any_api(apis: respx.MockRouter) -> respx.Route:
    """Every API call, answered with an empty page: a refused request must make none."""
    return apis.route().respond(json=page([]))


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", f"/ops/accounts?customer_id=a{NUL}b"),  # the payments API answered it with a 500
        ("get", f"/ops/accounts?customer_id={SURROGATE}"),
        ("get", f"/ops/sagas?order_id={NUL}"),
        ("get", f"/ops/sagas/table?type=place_order{NUL}"),
        ("get", f"/ops/sagas?{NUL}=1"),
        ("get", f"/ops/dead-letters?status=PENDING{NUL}"),
        ("get", f"/ops/sagas/{NUL}"),
        ("get", f"/ops/sagas/{SAGA}?x={NUL}"),
        ("post", f"/ops/sagas/{SAGA}/retry?x={NUL}"),
        ("post", f"/ops/dead-letters/pay{NUL}ments/{LETTER}/replay"),
        ("post", f"/ops/dead-letters/payments/{LETTER}/discard?status=PENDING{NUL}"),
    ],
)
def test_a_nul_or_surrogate_in_the_url_is_refused_and_asks_no_api(
    operator: Client, any_api: respx.Route, method: str, url: str
) -> None:
    operator.raise_request_exception = False
    response = getattr(operator, method)(url)
    assert response.status_code in (400, 404), (response.status_code, response.content[:300])
    assert not any_api.called


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("get", "/ops/sagas?order_id=abc", "order_id"),  # the orchestrator refuses it: a banner
        ("get", f"/ops/sagas?order_id={SAGA[:-1]}", "order_id"),
        ("get", "/ops/sagas/table?order_id=x%26state%3DFAILED", "order_id"),
        ("get", "/ops/sagas?state=LOST", "state"),  # was dropped: every saga, as if filtered
        ("get", "/ops/sagas?state=%3Cscript%3E", "state"),
        ("get", "/ops/sagas/table?state=FAILED&state=RUNNING", "state"),
        ("get", "/ops/sagas?type=refund_order", "type"),
        ("get", "/ops/dead-letters?status=LOST", "status"),  # was every PENDING one
        ("get", "/ops/dead-letters/live?status=pending", "status"),
        ("post", f"/ops/dead-letters/payments/{LETTER}/replay?status=LOST", "status"),  # not replayed
    ],
)
def test_a_malformed_filter_is_a_400_naming_it_and_asks_no_api(
    operator: Client, any_api: respx.Route, method: str, url: str, field: str
) -> None:
    response = getattr(operator, method)(url)
    assert response.status_code == 400, response.status_code
    assert f"{field}: must be" in response.content.decode()
    assert not any_api.called


def test_valid_filters_are_passed_on_as_the_api_reads_them(operator: Client, any_api: respx.Route) -> None:
    filtered = operator.get(f"/ops/sagas?state=FAILED&type=place_order&order_id=%20{SAGA.upper()}%20")
    assert filtered.status_code == 200
    params = any_api.calls[0].request.url.params
    assert (params["state"], params["type"], params["order_id"]) == ("FAILED", "place_order", SAGA)
    any_api.reset()
    assert operator.get("/ops/sagas/table?state=&type=&order_id=").status_code == 200  # the form's "any"
    assert "order_id" not in any_api.calls[0].request.url.params
    any_api.reset()
    assert operator.get("/ops/dead-letters?status=DISCARDED").status_code == 200
    assert {call.request.url.params["status"] for call in any_api.calls} == {"DISCARDED"}
