"""The dead-letter page says which order a letter concerns, links to its saga, and shows the record it
kept (key, headers, payload) as text: escaped, never markup."""

import respx
from django.test import Client

from tests.conftest import dead_letter_json, order_json, page, saga_json

LETTER = "9c3f2b1a-0000-4000-8000-0000000000dd"
ORDER = "5b0c9f8e-0000-4000-8000-000000000001"
SAGA = "0d7a4c1e-0000-4000-8000-00000000000a"


def dead_letters_page(operator: Client, apis: respx.MockRouter, *letters: dict[str, object]) -> str:
    apis.get("http://payments.test/api/v1/operations/dead-letters").respond(json=page(list(letters)))
    for service in ("orders", "shipping", "orchestrator"):
        apis.get(f"http://{service}.test/api/v1/operations/dead-letters").respond(json=page([]))
    return operator.get("/ops/dead-letters").content.decode()


def test_a_dead_letter_links_its_order_to_the_saga_and_shows_its_record(
    operator: Client, apis: respx.MockRouter
) -> None:
    letter = dead_letter_json(
        LETTER,
        headers=[
            {"name": "ce_type", "value": "sagaref.payments.AuthorizePayment.v1"},
            {"name": "x-note", "value": "<script>alert(1)</script>"},
            {"name": "x-empty", "value": None},
        ],
        payload='{"amount": "12.50", "note": "\\xff<img src=x onerror=alert(2)>"}',
        payload_truncated=True,
        payload_size=10_011,
    )
    html = dead_letters_page(operator, apis, letter)
    assert (
        f'<a class="mono order-link" href="/ops/orders/{ORDER}" title="Order {ORDER} and its sagas">' in html
    )
    assert f'Key: <span class="mono">{ORDER}</span>' in html
    assert "sagaref.payments.AuthorizePayment.v1" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the header as text
    assert '<span class="hint">no value</span>' in html
    assert "\\xff&lt;img src=x onerror=alert(2)&gt;" in html  # the payload as text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "Only its beginning is shown: the payload is 10011 bytes." in html
    assert f'id="record-payments-{LETTER}" hx-preserve="true"' in html  # stays open while the list refreshes


def test_the_order_link_shows_the_order_with_its_sagas(operator: Client, apis: respx.MockRouter) -> None:
    apis.get(f"http://orders.test/api/v1/orders/{ORDER}").respond(json=order_json(ORDER, "APPROVED"))
    apis.get("http://payments.test/api/v1/payments").respond(json=page([]))
    apis.get("http://shipping.test/api/v1/shipments").respond(json=page([]))
    apis.get("http://orchestrator.test/api/v1/sagas").respond(json=page([saga_json(SAGA)]))
    response = operator.get(f"/ops/orders/{ORDER}")
    assert response.status_code == 200
    assert f'href="/ops/sagas/{SAGA}"' in response.content.decode()


def test_a_letter_that_names_no_order_says_so(operator: Client, apis: respx.MockRouter) -> None:
    poison = dead_letter_json(LETTER, key="\\xfe\\n", order_id=None, headers=[], payload=None, payload_size=0)
    other = dead_letter_json(LETTER.replace("d", "e"), key="o-1", order_id="o-1")
    html = dead_letters_page(operator, apis, poison, other)
    assert "\\xfe\\n" in html
    assert "Record: no payload, 0 headers" in html
    assert '<td data-label="Order"><span class="hint">none</span></td>' in html
    assert '<td data-label="Order"><span class="mono">o-1</span></td>' in html  # not a uuid: no saga to link
