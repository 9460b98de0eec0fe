"""The bench's load process against a faked orders API (respx; the typed client runs for real): every
answer counted by kind, and every POST the client sent again counted by why (``retried_by_reason``)."""

import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import respx

from bench import load

URL = "http://orders.bench.test"


def an_order(request: httpx.Request) -> httpx.Response:
    sent = json.loads(request.content)
    order = {
        "id": str(uuid.uuid4()),
        "customer_id": "bench-rich",
        "status": "PENDING",
        "total": "1.00",
        "currency": sent["currency"],
        "items": sent["items"],
        "shipping_address": sent["shipping_address"],
        "rejection_reason": "",
        "created_at": "2026-12-07T16:00:00Z",
        "updated_at": "2026-12-07T16:00:00Z",
    }
    return httpx.Response(201, json=order)


def test_the_load_counts_answers_and_the_clients_retries_by_reason(tmp_path: Path) -> None:
    calls = itertools.count()

    def answer(request: httpx.Request) -> Any:
        number = next(calls)
        if number == 0:  # an idle kept-alive connection the server closed as the POST went out
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if number == 3:
            return httpx.Response(503, json={"detail": "restarting"})
        if number == 5:
            return httpx.Response(400, json={"detail": "refused"})  # an answer: counted, never sent again
        return an_order(request)

    out = tmp_path / "load.json"
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post(f"{URL}/api/v1/orders").mock(side_effect=answer)
        load.main(URL, rate=50.0, seconds=0.12, out=out)  # 6 orders
    result = json.loads(out.read_text())
    assert route.call_count == 8  # 6 orders, 2 of them sent twice
    assert (result["offered"], result["acknowledged"], result["errors"]) == (6, 5, 1)
    assert result["errors_by_kind"]["http_status"] == 1
    assert result["error_statuses"] == {"400": 1}
    assert result["retried_by_reason"] == {"HTTP 503": 1, "RemoteProtocolError": 1}
