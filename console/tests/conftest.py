"""View tests of the console: the four APIs are faked at the HTTP layer (respx), so the typed client and
its decoding run for real; only the network is not there."""

from collections.abc import Iterator
from typing import Any

import pytest
import respx
from django.test import Client

from console import api
from saga_common.web.tokens import CUSTOMER, OPERATOR

URLS = {
    "orders": "http://orders.test",
    "payments": "http://payments.test",
    "shipping": "http://shipping.test",
    "orchestrator": "http://orchestrator.test",
}
SIGNING_KEY = "console-tests-signing-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _console_settings(settings: Any) -> Iterator[None]:
    settings.CONSOLE_API_URLS = URLS
    settings.CONSOLE_DEV_SIGN_IN = True
    settings.JWT_SIGNING_KEY = SIGNING_KEY
    settings.CONSOLE_API_TIMEOUT_SECONDS = 0.5
    api.reset_client()
    yield
    api.reset_client()


@pytest.fixture
def apis() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        # a saga's page draws its definition: none described unless a test says (routes["definitions"])
        router.get(f"{URLS['orchestrator']}/api/v1/sagas/definitions", name="definitions").respond(json=[])
        yield router


@pytest.fixture
def customer() -> Client:
    return sign_in_through_page(CUSTOMER, "alice")


@pytest.fixture
def operator() -> Client:
    return sign_in_through_page(OPERATOR, "operator")


def sign_in_through_page(role: str, subject: str) -> Client:
    client = Client()
    response = client.post("/signin", {"role": role, "customer_id": subject})
    assert response.status_code == 302, response.content
    return client


def page(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"count": len(results), "next": None, "previous": None, "results": results}


def order_json(order_id: str, status: str = "PENDING", reason: str = "") -> dict[str, Any]:
    return {
        "id": order_id,
        "customer_id": "alice",
        "status": status,
        "total": "25.00",
        "currency": "EUR",
        "items": [{"sku": "BOOK-1", "quantity": 2, "unit_price": "12.50"}],
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "1 Main St",
            "line2": "",
            "city": "Berlin",
            "postal_code": "10115",
            "country": "DE",
        },
        "rejection_reason": reason,
        "created_at": "2026-12-03T10:00:00Z",
        "updated_at": "2026-12-03T10:00:01Z",
    }


def account_json(customer_id: str = "alice") -> dict[str, Any]:
    return {"customer_id": customer_id, "currency": "EUR", "credit_limit": "500.00", "available": "475.00"}


def step_json(name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "status": status,
        "kind": "FORWARD",
        "participant": "payments",
        "attempts": 2,
        "max_attempts": 5,
        "started_at": "2026-12-03T10:00:00Z",
        "finished_at": None,
        "deadline_at": "2026-12-03T10:00:30Z",
        "command_type": "AuthorizePayment",
        "reply_type": "",
        **extra,
    }


def saga_json(
    saga_id: str, state: str = "RUNNING", steps: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": saga_id,
        "type": "place_order",
        "version": 2,
        "order_id": "5b0c9f8e-0000-4000-8000-000000000001",
        "state": state,
        "current_step": "authorize_payment",
        "steps": steps if steps is not None else [step_json("authorize_payment", "STARTED")],
        "history": [
            {
                "at": "2026-12-03T10:00:00Z",
                "event": "STEP_STARTED",
                "message_type": "AuthorizePayment",
                "message_id": "7e1d1a52-0000-4000-8000-00000000abcd",
                "detail": "",
            }
        ],
        "created_at": "2026-12-03T10:00:00Z",
        "updated_at": "2026-12-03T10:00:01Z",
    }


def health_json(service: str, dead: int = 0) -> dict[str, Any]:
    return {
        "service": service,
        "observed_at": "2026-12-03T10:00:00Z",
        "outbox_backlog": 3,
        "outbox_oldest_age_seconds": 1.5,
        "consumer_lag": [{"topic": f"{service}.commands", "lag": 7}],
        "dead_letters_pending": dead,
        "dead_letters_by_topic": [{"topic": f"{service}.commands", "pending": dead}] if dead else [],
    }


def dead_letter_json(letter_id: str, status: str = "PENDING", **record: Any) -> dict[str, Any]:
    """A dead letter as a service answers it; ``record`` overrides its key, headers and payload."""
    return {
        "id": letter_id,
        "topic": "payments.commands",
        "message_id": "0b6c5a77-0000-4000-8000-000000000042",
        "message_type": "AuthorizePayment",
        "key": "5b0c9f8e-0000-4000-8000-000000000001",
        "order_id": "5b0c9f8e-0000-4000-8000-000000000001",
        "headers": [
            {"name": "ce_id", "value": "0b6c5a77-0000-4000-8000-000000000042"},
            {"name": "ce_type", "value": "sagaref.payments.AuthorizePayment.v1"},
        ],
        "payload": '{"amount": "12.50", "currency": "EUR"}',
        "payload_truncated": False,
        "payload_size": 38,
        **record,
        "error": "RuntimeError('the handler failed on purpose')",
        "attempts": 5,
        "received_at": "2026-12-03T10:00:00Z",
        "status": status,
        "acted_by": None if status == "PENDING" else "operator",
        "acted_at": None if status == "PENDING" else "2026-12-03T10:01:00Z",
    }


def action_json(name: str, command: str, participant: str) -> dict[str, Any]:
    return {"name": name, "command": command, "participant": participant, "replies": [], "reply_hooks": []}


def place_order_v2_json() -> dict[str, Any]:
    """PlaceOrder version 2 as the orchestrator describes it (GET /api/v1/sagas/definitions)."""

    def step(index: int, name: str, command: str, who: str, group: int, **more: Any) -> dict[str, Any]:
        return {
            **action_json(name, command, who),
            "index": index,
            "group": group,
            "parallel": group == 0,
            "pivot": False,
            "compensation": None,
            **more,
        }

    return {
        "type": "place_order",
        "version": 2,
        "starts_new_sagas": True,
        "unfinished": 1,
        "steps": [
            step(
                0,
                "authorize_payment",
                "AuthorizePayment",
                "payments",
                0,
                compensation=action_json("void_payment", "VoidPayment", "payments"),
            ),
            step(
                1,
                "schedule_held_shipment",
                "ScheduleShipment",
                "shipping",
                0,
                compensation=action_json("cancel_shipment", "CancelShipment", "shipping"),
            ),
            step(2, "capture_payment", "CapturePayment", "payments", 1, pivot=True),
            step(3, "approve_order", "ApproveOrder", "orders", 2),
            step(4, "release_shipment", "ReleaseShipment", "shipping", 3),
        ],
        "groups": [[0, 1], [2], [3], [4]],
        "pivot": 2,
        "on_compensated": action_json("reject_order", "RejectOrder", "orders"),
        "mermaid": "flowchart TD\n",
    }
