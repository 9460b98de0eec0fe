"""A saga's page names the order's trace, as the orchestrator reports it, and links it to the tracing
tool TRACE_URL_TEMPLATE points at."""

from typing import Any

import respx
from django.test import Client

from tests.conftest import saga_json

SAGA = "0d7a4c1e-0000-4000-8000-00000000000b"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_the_trace_is_shown_and_linked_with_the_template(
    operator: Client, apis: respx.MockRouter, settings: Any
) -> None:
    settings.TRACE_URL_TEMPLATE = "http://jaeger.test:16686/trace/{trace_id}"
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(
        json={**saga_json(SAGA), "trace_id": TRACE}
    )
    for path in (f"/ops/sagas/{SAGA}", f"/ops/sagas/{SAGA}/live"):  # the page and its live fragment
        html = operator.get(path).content.decode()
        assert f'<a href="http://jaeger.test:16686/trace/{TRACE}" rel="noopener">{TRACE}</a>' in html


def test_without_a_template_the_trace_id_is_shown_without_a_link(
    operator: Client, apis: respx.MockRouter, settings: Any
) -> None:
    settings.TRACE_URL_TEMPLATE = ""
    apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(
        json={**saga_json(SAGA), "trace_id": TRACE}
    )
    html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
    assert f'<dd class="mono">{TRACE}</dd>' in html
    assert "jaeger" not in html


def test_a_saga_without_a_trace_shows_none(operator: Client, apis: respx.MockRouter, settings: Any) -> None:
    settings.TRACE_URL_TEMPLATE = "http://jaeger.test:16686/trace/{trace_id}"
    for answer in ({**saga_json(SAGA), "trace_id": None}, saga_json(SAGA)):  # null, or an older orchestrator
        apis.get(f"http://orchestrator.test/api/v1/sagas/{SAGA}").respond(json=answer)
        html = operator.get(f"/ops/sagas/{SAGA}").content.decode()
        assert "<dt>Trace</dt>" not in html
