"""Sign-in, sessions, roles, and what every response carries (CSP, cookies, no token in the page)."""

import re
from typing import Any

import respx
from django.test import Client

from saga_common.web.tokens import CUSTOMER, OPERATOR, mint_token
from tests.conftest import SIGNING_KEY, account_json, page


def test_signing_in_as_a_customer_sets_an_httponly_samesite_session_and_lands_on_the_storefront() -> None:
    client = Client()
    response = client.post("/signin", {"role": CUSTOMER, "customer_id": "alice"})
    assert response.status_code == 302
    assert response["Location"] == "/shop"
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_a_customer_id_the_services_would_refuse_is_refused_at_sign_in() -> None:
    response = Client().post("/signin", {"role": CUSTOMER, "customer_id": "no spaces <here>"})
    assert response.status_code == 400
    assert b"A customer id is" in response.content
    assert "sessionid" not in response.cookies


def test_sign_in_goes_back_to_the_page_asked_for_but_never_to_another_site() -> None:
    here = Client().post("/signin", {"role": OPERATOR, "next": "/ops/messaging"})
    assert here["Location"] == "/ops/messaging"
    elsewhere = Client().post("/signin", {"role": OPERATOR, "next": "https://evil.example/"})
    assert elsewhere["Location"] == "/ops/sagas"


def test_forms_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    refused = client.post("/signin", {"role": CUSTOMER, "customer_id": "alice"})
    assert refused.status_code == 403
    assert b"This form expired" in refused.content
    form = client.get("/signin")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form.content)
    assert token is not None
    accepted = client.post(
        "/signin", {"role": CUSTOMER, "customer_id": "alice", "csrfmiddlewaretoken": token.group(1).decode()}
    )
    assert accepted.status_code == 302
    assert form.cookies["csrftoken"]["httponly"] is True


def test_pages_carry_a_strict_content_security_policy_and_no_inline_code(
    customer: Client, apis: respx.MockRouter
) -> None:
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    response = customer.get("/shop")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    html = response.content.decode()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # every script is a file
    assert " style=" not in html
    assert "<style" not in html


def test_the_token_never_reaches_the_page(apis: respx.MockRouter) -> None:
    client = Client()
    client.post("/signin", {"role": CUSTOMER, "customer_id": "alice"})
    apis.get("http://payments.test/api/v1/accounts/alice").respond(json=account_json())
    orders = apis.get("http://orders.test/api/v1/orders").respond(json=page([]))
    html = client.get("/shop").content.decode()
    token = orders.calls.last.request.headers["Authorization"].removeprefix("Bearer ")
    assert token.count(".") == 2  # the APIs got the signed-in person's token...
    assert token not in html  # ...and the page did not


def test_a_customer_cannot_reach_operator_pages(customer: Client) -> None:
    for url in ("/ops/sagas", "/ops/messaging", "/ops/dead-letters", "/ops/accounts"):
        response = customer.get(url)
        assert response.status_code == 403, url
        assert b"needs the operator role" in response.content


def test_an_operator_action_by_a_customer_is_refused_before_any_api_call(
    customer: Client, apis: respx.MockRouter
) -> None:
    retry = apis.post(url__regex=r".*/retry").respond(json={})
    response = customer.post("/ops/sagas/5b0c9f8e-0000-4000-8000-000000000001/retry")
    assert response.status_code == 403
    assert not retry.called


def test_nobody_signed_in_is_sent_to_sign_in_and_a_live_fragment_redirects_the_whole_page() -> None:
    response = Client().get("/ops/sagas")
    assert response.status_code == 302
    assert response["Location"] == "/signin?next=%2Fops%2Fsagas"
    fragment = Client().get("/ops/sagas/table", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 401
    assert fragment["HX-Redirect"].startswith("/signin")


def test_a_session_with_a_token_signed_by_another_key_counts_as_nobody() -> None:
    client = Client()
    session = client.session
    session["access_token"] = mint_token("some-other-key-entirely-0123456789", "mallory", [OPERATOR])
    session.save()
    client.cookies["sessionid"] = session.session_key or ""
    assert client.get("/ops/sagas").status_code == 302


def test_sign_out_ends_the_session(operator: Client) -> None:
    assert operator.post("/signout").status_code == 302
    assert operator.get("/ops/sagas").status_code == 302


def test_behind_a_proxy_the_token_comes_from_its_header_and_nothing_is_minted(
    settings: Any, apis: respx.MockRouter
) -> None:
    settings.CONSOLE_DEV_SIGN_IN = False
    signin = Client().post("/signin", {"role": OPERATOR})
    assert signin.status_code == 200
    assert b"identity provider" in signin.content
    assert "sessionid" not in signin.cookies
    token = mint_token(SIGNING_KEY, "ops-team", [OPERATOR])
    apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([]))
    apis.get("http://orchestrator.test/api/v1/sagas/counts").respond(json={"counts": {}, "total": 0})
    response = Client().get("/ops/sagas", HTTP_X_FORWARDED_ACCESS_TOKEN=token)
    assert response.status_code == 200
    assert b"ops-team" in response.content
    assert Client().get("/ops/sagas").status_code == 302  # no header, nobody


def test_health_probes_answer_without_calling_any_api(apis: respx.MockRouter) -> None:
    for path in ("/healthz/live", "/healthz/ready"):
        response = Client().get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    assert not apis.calls


def test_unknown_pages_are_a_plain_404_page() -> None:
    response = Client().get("/no/such/page")
    assert response.status_code == 404
    assert b"There is no such page" in response.content


def test_a_body_too_large_for_django_is_the_console_s_own_400_page(customer: Client) -> None:
    response = customer.post("/shop/orders", {"sku_0": "A" * (3 * 1024 * 1024)})
    assert response.status_code == 400
    assert b"That request was refused" in response.content
