"""What the dead letters' API says of a letter's record: its key and the order it concerns, its headers
and its payload, as escaped text an operator can read before replaying or discarding it."""

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from saga_common.messaging.records import headers_to_json
from saga_common.models import DeadLetter

pytestmark = pytest.mark.django_db

DEAD_LETTERS = "/api/v1/operations/dead-letters"
ORDER = "5b0c9f8e-0000-4000-8000-000000000001"


def dead_letter(topic: str, **fields: Any) -> DeadLetter:
    """One letter per topic: what else keeps letters apart is not this test's business."""
    defaults: dict[str, Any] = {
        "partition": 0,
        "offset": 7,
        "message_id": str(uuid.uuid4()),
        "message_type": "AuthorizePayment",
        "error": "HandlerBroke('the handler broke')",
        "attempts": 5,
    }
    return DeadLetter.objects.create(topic=topic, **{**defaults, **fields})


def listed(client: APIClient, letter: DeadLetter) -> dict[str, Any]:
    (item,) = [item for item in client.get(DEAD_LETTERS).json()["results"] if item["id"] == str(letter.id)]
    return item


def test_a_dead_letter_shows_its_order_headers_and_payload_escaped(operator_api: APIClient) -> None:
    headers = [
        ("ce_type", b"sagaref.payments.AuthorizePayment.v1"),
        ("ce_sagaid", b"0d7a4c1e-0000-4000-8000-00000000000a"),
        ("x-binary", b"\x00\xff"),
        ("x-empty", None),
    ]
    payload = b'{"amount": "12.50", "note": "\xff\x1b[2J<script>"}'
    letter = dead_letter(
        "payments.commands", key=ORDER.encode(), headers=headers_to_json(headers), payload=payload
    )
    item = listed(operator_api, letter)
    assert (item["key"], item["order_id"]) == (ORDER, ORDER)
    assert item["headers"] == [
        {"name": "ce_type", "value": "sagaref.payments.AuthorizePayment.v1"},
        {"name": "ce_sagaid", "value": "0d7a4c1e-0000-4000-8000-00000000000a"},
        {"name": "x-binary", "value": "\\u0000\\xff"},
        {"name": "x-empty", "value": None},
    ]
    assert item["payload"] == '{"amount": "12.50", "note": "\\xff\\u001b[2J<script>"}'
    assert (item["payload_truncated"], item["payload_size"]) == (False, len(payload))
    # an action answers the same representation
    discarded = operator_api.post(f"{DEAD_LETTERS}/{letter.id}/discard").json()
    assert (discarded["order_id"], discarded["payload"]) == (ORDER, item["payload"])


def test_a_large_payload_is_cut_and_says_so(operator_api: APIClient) -> None:
    payload = b'{"pad": "' + b"x" * 10_000 + b'"}'
    item = listed(operator_api, dead_letter("orders.commands", key=b"o-1", payload=payload))
    assert (item["payload_truncated"], item["payload_size"]) == (True, 10_011)
    assert item["payload"] == '{"pad": "' + "x" * (4096 - 9)


def test_a_record_without_key_payload_or_readable_order_says_null(operator_api: APIClient) -> None:
    bare = listed(operator_api, dead_letter("shipping.commands", key=None, payload=None))
    assert (bare["key"], bare["order_id"], bare["headers"]) == (None, None, [])
    assert (bare["payload"], bare["payload_truncated"], bare["payload_size"]) == (None, False, 0)
    poison = listed(operator_api, dead_letter("orchestrator.replies", key=b"\xfe\n", payload=b""))
    assert (poison["key"], poison["order_id"], poison["payload"]) == ("\\xfe\\n", None, "")
