"""The operator console: sagas, one saga's timeline and actions, messaging health, dead letters, accounts."""

from typing import Any

import httpx
import pytest
import respx
from django.test import Client

from tests.conftest import account_json, dead_letter_json, health_json, page, saga_json, step_json

SAGA = "0d7a4c1e-0000-4000-8000-00000000000a"
LETTER = "9c3f2b1a-0000-4000-8000-0000000000dd"
ORDER = "5b0c9f8e-0000-4000-8000-000000000001"


def test_the_saga_list_has_counts_per_state_and_passes_the_filters_on(
    operator: Client, apis: respx.MockRouter
) -> None:
    sagas = apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([saga_json(SAGA, "FAILED")]))
    apis.get("http://orchestrator.test/api/v1/sagas/counts").respond(
        json={"counts": {"RUNNING": 2, "FAILED": 1, "COMPLETED": 40}, "total": 43}
    )
    html = operator.get(f"/ops/sagas?state=FAILED&type=place_order&order_id={ORDER}&junk=1").content.decode()
    assert "FAILED <b>1</b>" in html
    assert "COMPLETED <b>40</b>" in html
    assert "COMPENSATED <b>0</b>" in html
    assert f'href="/ops/sagas/{SAGA}"' in html
    params = sagas.calls.last.request.url.params
    assert (params["state"], params["type"], params["order_id"]) == ("FAILED", "place_order", ORDER)
    assert f'hx-get="/ops/sagas/table?state=FAILED&amp;type=place_order&amp;order_id={ORDER}"' in html


def test_a_filter_the_api_would_refuse_is_refused_not_dropped(
    operator: Client, apis: respx.MockRouter
) -> None:
    sagas = apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([]))
    assert operator.get("/ops/sagas?state=<script>").status_code == 400  # tests/test_malformed_requests.py
    assert not sagas.called


def test_a_waiting_step_says_on_whom_for_how_long_and_the_next_try(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA))
    html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert "waiting on payments for" in html
    assert "attempt 2 of 5, next try at 10:00:30 UTC" in html
    assert "7e1d1a52-0000-4000-8000-00000000abcd" in html  # the history's message id
    assert f'hx-get="/ops/sagas/{SAGA}/live"' in html  # live while running


def test_an_ended_saga_stops_polling(operator: Client, apis: respx.MockRouter) -> None:
    done = step_json(
        "authorize_payment",
        "SUCCEEDED",
        finished_at="2026-12-03T10:00:00.250Z",
        reply_type="PaymentAuthorized",
    )
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(
        json=saga_json(SAGA, "COMPLETED", [done])
    )
    html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert "250 ms" in html
    assert "PaymentAuthorized" in html
    assert "/live" not in html


def test_a_refused_retry_shows_the_engine_reason(operator: Client, apis: respx.MockRouter) -> None:
    apis.post(f"http://orchestrator.test/api/v1/sagas/{SAGA}/retry").respond(
        409, json={"detail": "only a FAILED saga can be retried; this one is RUNNING"}
    )
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA))
    hx = operator.post(f"/ops/sagas/{SAGA}/retry", HTTP_HX_REQUEST="true")
    assert hx.status_code == 200  # htmx swaps only 2xx answers
    assert b"Retry refused: only a FAILED saga can be retried; this one is RUNNING" in hx.content
    assert hx["HX-Trigger"] == "saga-changed"
    plain = operator.post(f"/ops/sagas/{SAGA}/retry")
    assert plain.status_code == 409
    assert b"Retry refused" in plain.content


def test_an_accepted_compensate_says_so(operator: Client, apis: respx.MockRouter) -> None:
    action = apis.post(f"http://orchestrator.test/api/v1/sagas/{SAGA}/compensate").respond(
        json=saga_json(SAGA, "COMPENSATING")
    )
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA, "COMPENSATING"))
    response = operator.post(f"/ops/sagas/{SAGA}/compensate", HTTP_HX_REQUEST="true")
    assert b"Compensate accepted" in response.content
    assert action.called


def test_an_unknown_saga_is_said_plainly(operator: Client, apis: respx.MockRouter) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(404, json={"detail": "Not found."})
    response = operator.get(f"/ops/sagas/{SAGA}")
    assert response.status_code == 200
    assert f"There is no saga {SAGA}".encode() in response.content


def test_messaging_health_per_service_with_one_service_down(operator: Client, apis: respx.MockRouter) -> None:
    for service in ("orders", "payments", "orchestrator"):
        apis.get(f"http://{service}.test/api/v1/operations/messaging").respond(
            json=health_json(service, dead=1)
        )
    apis.get("http://shipping.test/api/v1/operations/messaging").mock(
        side_effect=httpx.ConnectTimeout("slow")
    )
    response = operator.get("/ops/messaging")
    assert response.status_code == 200
    html = response.content.decode()
    assert "The shipping service is not answering" in html
    assert "payments.commands" in html
    assert "1.5 s" in html
    assert html.count('class="card service"') == 4


def test_a_server_error_from_an_api_is_a_banner_too(operator: Client, apis: respx.MockRouter) -> None:
    apis.get(url__regex=r".*/api/v1/operations/messaging").respond(500, json={"detail": "boom"})
    html = operator.get("/ops/messaging").content.decode()
    assert "The orders service is not answering (it answered 500)" in html
    assert "boom" not in html


def test_dead_letters_are_listed_across_services_and_replayed(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.get("http://payments.test/api/v1/operations/dead-letters").respond(
        json=page([dead_letter_json(LETTER)])
    )
    for service in ("orders", "shipping", "orchestrator"):
        apis.get(f"http://{service}.test/api/v1/operations/dead-letters").respond(json=page([]))
    html = operator.get("/ops/dead-letters").content.decode()
    assert "AuthorizePayment" in html
    assert "the handler failed on purpose" in html
    assert f"/ops/dead-letters/payments/{LETTER}/replay" in html
    replay = apis.post(f"http://payments.test/api/v1/operations/dead-letters/{LETTER}/replay").respond(
        json=dead_letter_json(LETTER, "REPLAYED")
    )
    response = operator.post(f"/ops/dead-letters/payments/{LETTER}/replay", HTTP_HX_REQUEST="true")
    assert replay.call_count == 1
    assert f"Replayed dead letter {LETTER} of payments".encode() in response.content
    assert response["HX-Trigger"] == "dead-letters-changed"


def test_a_second_replay_shows_the_refusal(operator: Client, apis: respx.MockRouter) -> None:
    apis.post(f"http://payments.test/api/v1/operations/dead-letters/{LETTER}/replay").respond(
        409, json={"detail": "dead letter is REPLAYED, not PENDING"}
    )
    response = operator.post(f"/ops/dead-letters/payments/{LETTER}/replay", HTTP_HX_REQUEST="true")
    assert b"Replay refused: dead letter is REPLAYED, not PENDING" in response.content


def test_a_dead_letter_of_an_unknown_service_is_a_404(operator: Client, apis: respx.MockRouter) -> None:
    assert operator.post(f"/ops/dead-letters/nowhere/{LETTER}/replay").status_code == 404
    assert not apis.calls


def test_an_operator_opens_an_account(operator: Client, apis: respx.MockRouter) -> None:
    opened = apis.post("http://payments.test/api/v1/accounts").respond(201, json=account_json("bob"))
    response = operator.post(
        "/ops/accounts", {"customer_id": "bob", "credit_limit": "500.00", "currency": "EUR"}
    )
    assert response.status_code == 200
    assert b"Opened the account of bob" in response.content
    body: Any = httpx.Response(200, content=opened.calls.last.request.content).json()
    assert body == {"customer_id": "bob", "credit_limit": "500.00", "currency": "EUR"}


def test_an_account_that_exists_is_refused_with_the_reason(operator: Client, apis: respx.MockRouter) -> None:
    apis.post("http://payments.test/api/v1/accounts").respond(
        409, json={"detail": "bob already has an account"}
    )
    response = operator.post("/ops/accounts", {"customer_id": "bob", "credit_limit": "5", "currency": "EUR"})
    assert response.status_code == 400
    assert b"Not opened: bob already has an account" in response.content


def test_a_crash_inside_a_page_is_a_plain_error_page(
    operator: Client, apis: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=saga_json(SAGA))

    def broken(*args: Any) -> None:
        raise RuntimeError("a bug in the console")

    monkeypatch.setattr("console.views.sagas.step_rows", broken)
    operator.raise_request_exception = False
    response = operator.get(f"/ops/sagas/{SAGA}")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"Traceback" not in response.content
    assert b"a bug in the console" not in response.content


def test_an_answer_the_client_cannot_read_is_a_banner(operator: Client, apis: respx.MockRouter) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(200, content=b"{not json")
    response = operator.get(f"/ops/sagas/{SAGA}")
    assert response.status_code == 200
    assert b"The orchestrator service is not answering (its answer could not be read)" in response.content


def test_a_token_the_api_refuses_means_signing_in_again(operator: Client, apis: respx.MockRouter) -> None:
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(401, json={"detail": "token expired"})
    response = operator.get(f"/ops/sagas/{SAGA}")
    assert response.status_code == 302
    assert response["Location"] == f"/signin?next=%2Fops%2Fsagas%2F{SAGA}"
    assert operator.get("/ops/sagas").status_code == 302  # the session is over


def test_a_live_fragment_sends_the_page_it_sits_in_back_to_sign_in(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.get("http://orchestrator.test/api/v1/sagas").respond(401, json={"detail": "token expired"})
    response = operator.get(
        "/ops/sagas/table?state=FAILED",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://console.example/ops/sagas?state=FAILED",
    )
    assert response.status_code == 401
    assert response["HX-Redirect"] == "/signin?next=%2Fops%2Fsagas%3Fstate%3DFAILED"


def test_a_filter_with_url_characters_is_refused_never_split_in_two(
    operator: Client, apis: respx.MockRouter
) -> None:
    sagas = apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([]))
    assert operator.get("/ops/sagas", {"order_id": "x&state=FAILED#y"}).status_code == 400
    assert operator.get("/ops/sagas/table?order_id=x%26state%3DFAILED%23y").status_code == 400
    assert not sagas.called


def test_the_services_are_asked_side_by_side_and_never_retried(
    operator: Client, apis: respx.MockRouter
) -> None:
    route = apis.get(url__regex=r".*/api/v1/operations/messaging").mock(
        side_effect=httpx.ConnectTimeout("slow")
    )
    html = operator.get("/ops/messaging").content.decode()
    assert route.call_count == 4  # one per service: no retries behind the page's back
    assert html.count("is not answering") == 4


def test_operator_buttons_need_the_csrf_token_which_htmx_sends_as_a_header(apis: respx.MockRouter) -> None:
    client = Client(enforce_csrf_checks=True)
    form = client.get("/signin").content.decode()
    token = form.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    client.post("/signin", {"role": "operator", "csrfmiddlewaretoken": token})
    retry = apis.post(f"http://orchestrator.test/api/v1/sagas/{SAGA}/retry").respond(json=saga_json(SAGA))
    assert client.post(f"/ops/sagas/{SAGA}/retry", HTTP_HX_REQUEST="true").status_code == 403
    assert not retry.called
    page_html = client.get("/ops/accounts").content.decode()
    header_token = page_html.split('"X-CSRFToken": "')[1].split('"')[0]
    response = client.post(f"/ops/sagas/{SAGA}/retry", HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=header_token)
    assert response.status_code == 200
    assert retry.call_count == 1


def test_account_lookup(operator: Client, apis: respx.MockRouter) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    assert b"475.00 EUR" in operator.get("/ops/accounts?customer_id=alice").content


def test_an_action_while_the_service_is_down_says_so_and_claims_nothing(
    operator: Client, apis: respx.MockRouter
) -> None:
    apis.post(f"http://orchestrator.test/api/v1/sagas/{SAGA}/retry").mock(
        side_effect=httpx.ConnectError("down")
    )
    response = operator.post(f"/ops/sagas/{SAGA}/retry", HTTP_HX_REQUEST="true")
    assert b"The orchestrator service is not answering" in response.content
    assert b"accepted" not in response.content
