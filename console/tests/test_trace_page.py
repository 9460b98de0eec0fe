"""The console's trace page (/ops/traces/<id>): Jaeger's spans of one trace as a waterfall, parents
before children, each with its service, start, duration and failure; and what it says when Jaeger is
not configured, does not answer, or has no span of the trace yet."""

from typing import Any

import httpx
import respx
from django.test import Client

from console import traces

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
JAEGER = "http://jaeger.test:16686"


def span(span_id: str, operation: str, process: str, start: int, duration: int, parent: str | None = None,
         tags: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    references = [{"refType": "CHILD_OF", "traceID": TRACE, "spanID": parent}] if parent else []
    return {
        "traceID": TRACE,
        "spanID": span_id,
        "operationName": operation,
        "references": references,
        "startTime": start,
        "duration": duration,
        "processID": process,
        "tags": tags or [],
    }


TRACE_JSON = {
    "traceID": TRACE,
    "processes": {
        "p1": {"serviceName": "orders-web"},
        "p2": {"serviceName": "orchestrator-worker"},
        "p3": {"serviceName": "payments-worker"},
    },
    "spans": [
        # out of order on purpose: Jaeger lists spans as they were stored
        span("c", "handle AuthorizePayment", "p3", 1_030_000, 5_000, parent="b",
             tags=[{"key": "error", "type": "bool", "value": True}]),
        span("b", "handle OrderCreated", "p2", 1_010_000, 30_000, parent="a",
             tags=[{"key": "span.kind", "type": "string", "value": "consumer"}]),
        span("a", "POST api/v1/orders", "p1", 1_000_000, 10_000,
             tags=[{"key": "span.kind", "type": "string", "value": "server"}]),
        span("d", "send OrderCreated", "p1", 1_008_000, 1_000, parent="a"),
    ],
}  # fmt: skip


def test_rows_put_parents_before_children_and_siblings_by_start() -> None:
    rows = traces.rows(TRACE_JSON)
    assert [(r.span_id, r.depth) for r in rows] == [("a", 0), ("d", 1), ("b", 1), ("c", 2)]
    first, _, consumer, failed = rows
    assert (first.service, first.kind, first.offset_ms, first.duration_ms) == ("orders-web", "server", 0, 10)
    assert (consumer.kind, consumer.offset_ms) == ("consumer", 10)
    assert failed.failed
    assert not first.failed
    # bars on the trace's length: 1.000 s to 1.040 s
    assert (first.left_percent, first.width_percent) == (0, 25)
    assert (failed.left_percent, failed.width_percent) == (75, 12.5)
    assert traces.services(rows) == ["orders-web", "orchestrator-worker", "payments-worker"]


def test_a_trace_deeper_than_pythons_stack() -> None:
    chain = [
        span(f"s{n}", f"op {n}", "p1", 1_000_000 + n, 1, parent=f"s{n - 1}" if n else None)
        for n in range(3000)
    ]
    rows = traces.rows({**TRACE_JSON, "spans": chain})
    assert [r.depth for r in rows] == list(range(3000))


def test_a_span_whose_parent_is_missing_or_circular_still_shows() -> None:
    orphan = span("e", "late span", "p1", 1_050_000, 1_000, parent="gone")
    loop = [span("x", "x", "p1", 1_060_000, 1, parent="y"), span("y", "y", "p1", 1_061_000, 1, parent="x")]
    rows = traces.rows({**TRACE_JSON, "spans": [*TRACE_JSON["spans"], orphan, *loop]})
    assert {r.span_id for r in rows} == {"a", "b", "c", "d", "e", "x", "y"}
    assert next(r for r in rows if r.span_id == "e").depth == 0
    assert traces.rows({"spans": []}) == []


def test_the_page_draws_the_trace_from_jaeger(
    operator: Client, apis: respx.MockRouter, settings: Any
) -> None:
    settings.TRACE_QUERY_URL = JAEGER
    apis.get(f"{JAEGER}/api/traces/{TRACE}").respond(json={"data": [TRACE_JSON]})
    response = operator.get(f"/ops/traces/{TRACE}")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span data-testid="trace-span-count">4</span>' in html
    assert "orders-web, orchestrator-worker, payments-worker" in html
    assert (
        html.index("POST api/v1/orders")
        < html.index("handle OrderCreated")
        < html.index("handle AuthorizePayment")
    )
    assert f'href="{JAEGER}/api/traces/{TRACE}"' in html
    # the failed span marked, children indented under their parents
    assert html.count('<span class="status failed">error</span>') == 1
    assert '<td class="depth-2">handle AuthorizePayment' in html


def test_the_page_says_why_there_is_no_trace(operator: Client, apis: respx.MockRouter, settings: Any) -> None:
    settings.TRACE_QUERY_URL = ""
    assert operator.get(f"/ops/traces/{TRACE}").status_code == 404
    settings.TRACE_QUERY_URL = JAEGER
    route = apis.get(f"{JAEGER}/api/traces/{TRACE}")
    route.respond(status_code=404, json={"errors": [{"code": 404, "msg": "trace not found"}]})
    missing = operator.get(f"/ops/traces/{TRACE}")
    assert missing.status_code == 404
    assert b"no span of this trace (yet)" in missing.content
    assert b'http-equiv="refresh" content="2; url=?waited=1"' in missing.content
    # it looks again for a while, not for ever
    assert b"url=?waited=4" in operator.get(f"/ops/traces/{TRACE}?waited=3").content
    assert b"http-equiv" not in operator.get(f"/ops/traces/{TRACE}?waited=15").content
    route.respond(json=["not", "a", "trace"])
    assert operator.get(f"/ops/traces/{TRACE}").status_code == 502
    route.side_effect = httpx.ConnectError("refused")
    away = operator.get(f"/ops/traces/{TRACE}")
    assert away.status_code == 502
    assert b"does not answer" in away.content


def test_only_operators_and_only_trace_ids(customer: Client, operator: Client) -> None:
    assert customer.get(f"/ops/traces/{TRACE}").status_code == 403
    assert operator.get("/ops/traces/not-a-trace-id").status_code == 404
    assert operator.get(f"/ops/traces/{TRACE.upper()}").status_code == 404
