"""The operators' messaging endpoints as the shipping service serves them (saga_common mounts them in
every service): documented in its schema, operators only, and a dead-lettered ScheduleShipment
replayed through them to a real worker's consumer, taking effect once."""

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from saga_common.faults import arm_fail_point
from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.relay import OutboxRelay
from saga_common.models import DeadLetter
from saga_testing.kafka import committed_offset, kafka_record, produce, run_until
from saga_testing.messages import outbox_messages, wrap
from shipping.handlers import HANDLERS
from shipping.models import Shipment, ShipmentStatus
from shop_contracts import SHIPPING_COMMANDS, ScheduleShipment

MESSAGING = "/api/v1/operations/messaging"
DEAD_LETTERS = "/api/v1/operations/dead-letters"


@pytest.mark.django_db
def test_the_schema_documents_them_for_operators(operator_api: APIClient) -> None:
    schema = operator_api.get("/api/schema/?format=json").json()
    operations = {
        path: {method: op["operationId"] for method, op in methods.items()}
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1/operations/")
    }
    assert operations == {
        MESSAGING: {"get": "operations_messaging"},
        DEAD_LETTERS: {"get": "dead_letters_list"},
        f"{DEAD_LETTERS}/{{dead_letter_id}}/replay": {"post": "dead_letters_replay"},
        f"{DEAD_LETTERS}/{{dead_letter_id}}/discard": {"post": "dead_letters_discard"},
    }
    components = schema["components"]["schemas"]
    assert {"MessagingHealth", "DeadLetter", "PaginatedDeadLetterList"} <= set(components)
    # the shipments' own status enum keeps its name (a second "status" enum would have renamed it)
    assert [name for name in components if name.endswith("Enum")] == ["StatusEnum"]
    assert set(components["MessagingHealth"]["properties"]) == {
        "service",
        "observed_at",
        "outbox_backlog",
        "outbox_oldest_age_seconds",
        "consumer_lag",
        "dead_letters_pending",
        "dead_letters_by_topic",
        "tables",
    }
    replay = schema["paths"][f"{DEAD_LETTERS}/{{dead_letter_id}}/replay"]["post"]
    assert replay["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DeadLetter"
    }
    assert {"401", "403", "404", "409"} <= set(replay["responses"])


@pytest.mark.django_db
def test_customers_and_anonymous_callers_are_refused(client_for: Any) -> None:
    for path in (MESSAGING, DEAD_LETTERS):
        assert client_for(None).get(path).status_code == 401
        refused = client_for("c-1").get(path)
        assert (refused.status_code, refused.json()) == (
            403,
            {"detail": "this endpoint needs an operator token"},
        )


@pytest.mark.django_db(transaction=True)
def test_a_dead_lettered_schedule_is_replayed_by_an_operator_and_takes_effect_once(
    kafka_topics: str, operator_api: APIClient, tmp_path: Path
) -> None:
    topic, group = topic_name(SHIPPING_COMMANDS), f"{kafka_topics}shipping"
    command = wrap(
        ScheduleShipment(country="DE", address={"country": "DE", "city": "x"}, customer_id="c-1"),
        order_id="o-1",
        saga_id="saga-1",
    )
    switch = tmp_path / "fail-schedules"
    switch.touch()
    arm_fail_point({"SAGA_FAIL_TYPES": "ScheduleShipment", "SAGA_FAIL_WHILE": str(switch)})
    try:
        # given a ScheduleShipment the worker's consumer dead-lettered (it failed on purpose)
        produce(topic, [kafka_record(command)])
        run_until(
            InboxConsumer(HANDLERS, group_id=group, max_attempts=2),
            lambda: committed_offset(topic, group) == 1,
        )
        switch.unlink()
        health = operator_api.get(MESSAGING).json()
        assert (health["service"], health["dead_letters_pending"]) == ("shipping", 1)
        assert health["dead_letters_by_topic"] == [{"topic": topic, "pending": 1}]
        (listed,) = operator_api.get(DEAD_LETTERS, {"status": "PENDING"}).json()["results"]
        assert (listed["message_id"], listed["message_type"], listed["attempts"]) == (
            command.id,
            "ScheduleShipment",
            2,
        )
        assert Shipment.objects.count() == 0
        # when an operator replays it (twice: the second is refused)
        replayed = operator_api.post(f"{DEAD_LETTERS}/{listed['id']}/replay")
        assert (replayed.status_code, replayed.json()["status"]) == (200, "REPLAYED")
        assert operator_api.post(f"{DEAD_LETTERS}/{listed['id']}/replay").status_code == 409
        assert operator_api.get(MESSAGING).json()["outbox_backlog"] == 1
        # then the relay puts it back on shipping.commands, and the consumer schedules the shipment once
        assert OutboxRelay().publish_batch() == 1
        run_until(InboxConsumer(HANDLERS, group_id=group), lambda: committed_offset(topic, group) == 2)
        shipment = Shipment.objects.get()
        assert (shipment.order_id, shipment.status) == ("o-1", ShipmentStatus.SCHEDULED)
        (reply,) = [m for m in outbox_messages() if m.causation_id == command.id]
        assert reply.type == "ShipmentScheduled"
        assert DeadLetter.objects.get().status == "REPLAYED"
        assert operator_api.get(MESSAGING).json()["dead_letters_pending"] == 0
    finally:
        arm_fail_point({})
