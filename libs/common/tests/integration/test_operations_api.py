"""The operators' messaging endpoints every service mounts, against the real PostgreSQL: who may call
them, what the messaging health adds up, the dead letters' list, replay and discard; and the worker's
snapshot of its consumer lag against the real broker."""

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from saga_common.messaging import outbox
from saga_common.messaging.kafka import topic_name
from saga_common.models import DeadLetter, DeadLetterStatus, MessagingSnapshot
from saga_common.operations.health import SnapshotLoop, record_snapshot
from saga_testing.kafka import kafka_record, produce
from saga_testing.messages import wrap
from shop_contracts import ORDERS_COMMANDS, ApproveOrder
from tests.effects.handlers import HANDLERS

pytestmark = pytest.mark.django_db

MESSAGING = "/api/v1/operations/messaging"
DEAD_LETTERS = "/api/v1/operations/dead-letters"
ITEM_FIELDS = {
    "id",
    "topic",
    "message_id",
    "message_type",
    "key",
    "order_id",
    "headers",
    "payload",
    "payload_truncated",
    "payload_size",
    "error",
    "attempts",
    "partition",
    "offset",
    "occurrences",
    "received_at",
    "status",
    "acted_by",
    "acted_at",
}


def dead_letter(topic: str = "orders.commands", **fields: Any) -> DeadLetter:
    defaults: dict[str, Any] = {
        "partition": 0,
        "offset": DeadLetter.objects.count(),
        "message_id": str(uuid.uuid4()),
        "identity": f"id:{uuid.uuid4()}",
        "message_type": "ApproveOrder",
        "key": b"o-1",
        "payload": b"{}",
        "error": "HandlerBroke('the handler broke')",
        "attempts": 5,
    }
    return DeadLetter.objects.create(topic=topic, **{**defaults, **fields})


def replay(client: APIClient, letter_id: object) -> Any:
    return client.post(f"{DEAD_LETTERS}/{letter_id}/replay")


def discard(client: APIClient, letter_id: object) -> Any:
    return client.post(f"{DEAD_LETTERS}/{letter_id}/discard")


def test_only_operators_may_call_them(client_for: Any) -> None:
    letter = dead_letter()
    calls = [
        lambda c: c.get(MESSAGING),
        lambda c: c.get(DEAD_LETTERS),
        lambda c: replay(c, letter.id),
        lambda c: discard(c, letter.id),
    ]
    for call in calls:
        anonymous, customer = call(client_for(None)), call(client_for("c-1"))
        assert (anonymous.status_code, customer.status_code) == (401, 403)
        assert "detail" in anonymous.json()
        assert customer.json() == {"detail": "this endpoint needs an operator token"}
    assert DeadLetter.objects.get().status == DeadLetterStatus.PENDING


def test_dead_letters_are_listed_newest_first_and_filtered_by_status(operator_api: APIClient) -> None:
    now = timezone.now()
    old = dead_letter(received_at=now - timedelta(hours=2))
    new = dead_letter(received_at=now, message_id=None, message_type=None)
    middle = dead_letter(received_at=now - timedelta(hours=1), status=DeadLetterStatus.DISCARDED)
    page = operator_api.get(DEAD_LETTERS).json()
    assert (page["count"], page["next"], page["previous"]) == (3, None, None)
    assert [item["id"] for item in page["results"]] == [str(new.id), str(middle.id), str(old.id)]
    first = page["results"][0]
    assert set(first) == ITEM_FIELDS
    assert (first["topic"], first["message_id"], first["message_type"], first["status"]) == (
        "orders.commands",
        None,
        None,
        "PENDING",
    )
    assert (first["attempts"], first["acted_by"], first["acted_at"]) == (5, None, None)
    pending = operator_api.get(DEAD_LETTERS, {"status": "PENDING"}).json()
    assert [item["id"] for item in pending["results"]] == [str(new.id), str(old.id)]
    discarded = operator_api.get(DEAD_LETTERS, {"status": "DISCARDED"}).json()
    assert [item["id"] for item in discarded["results"]] == [str(middle.id)]
    assert operator_api.get(DEAD_LETTERS, {"status": "REPLAYED"}).json()["count"] == 0
    paged = operator_api.get(DEAD_LETTERS, {"limit": 1, "offset": 1}).json()
    assert [item["id"] for item in paged["results"]] == [str(middle.id)]
    for bad in ("pending", ""):
        refused = operator_api.get(DEAD_LETTERS, {"status": bad})
        assert (refused.status_code, list(refused.json())) == (400, ["status"])


def test_replay_answers_the_replayed_dead_letter_once_then_409(operator_api: APIClient) -> None:
    letter = dead_letter(payload=b'{"reason": "x"}', headers=[{"name": "ce_id", "value": "abc"}])
    response = replay(operator_api, letter.id)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ITEM_FIELDS
    assert (body["id"], body["status"], body["acted_by"]) == (str(letter.id), "REPLAYED", "ops")
    assert datetime.fromisoformat(body["acted_at"]) <= timezone.now()
    (row,) = Published.objects.all()
    assert (row.id, row.destination, row.body["value"]) == (
        letter.id,
        "orders.commands",
        "eyJyZWFzb24iOiAieCJ9",
    )
    again = replay(operator_api, letter.id)
    assert again.status_code == 409
    assert "already REPLAYED (by ops" in again.json()["detail"]
    assert discard(operator_api, letter.id).status_code == 409
    assert Published.objects.count() == 1


def test_discard_answers_the_discarded_dead_letter_once_then_409(operator_api: APIClient) -> None:
    letter = dead_letter()
    response = discard(operator_api, letter.id)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["acted_by"]) == ("DISCARDED", "ops")
    for again in (discard(operator_api, letter.id), replay(operator_api, letter.id)):
        assert again.status_code == 409
        assert "already DISCARDED" in again.json()["detail"]
    assert Published.objects.count() == 0


def test_an_unknown_dead_letter_is_a_404(operator_api: APIClient) -> None:
    unknown = uuid.uuid4()
    for response in (replay(operator_api, unknown), discard(operator_api, unknown)):
        assert (response.status_code, response.json()) == (404, {"detail": f"no dead letter {unknown}"})
    assert operator_api.post(f"{DEAD_LETTERS}/not-a-uuid/replay").status_code == 404


def test_messaging_health_without_a_snapshot_or_anything_stuck(operator_api: APIClient) -> None:
    health = operator_api.get(MESSAGING).json()
    assert "saga_dead_letter" in {row["table"] for row in health.pop("tables")}  # test_table_statistics
    assert health == {
        "service": "saga-common-tests",
        "observed_at": None,
        "outbox_backlog": 0,
        "outbox_oldest_age_seconds": None,
        "consumer_lag": [],
        "dead_letters_pending": 0,
        "dead_letters_by_topic": [],
    }


def test_messaging_health_adds_up_the_outbox_the_dead_letters_and_the_snapshot(
    operator_api: APIClient, settings: SettingsWrapper
) -> None:
    # given two unpublished outbox rows, the older two minutes old, and one published row
    with transaction.atomic():
        older, _newer, sent = [
            outbox.send(ApproveOrder(), order_id=f"o-{i}", correlation_id="c") for i in range(3)
        ]
    Published.objects.filter(id=older.id).update(added=timezone.now() - timedelta(minutes=2))
    Published.objects.filter(id=sent.id).update(
        status=StatusChoice.SUCCEEDED, added=timezone.now() - timedelta(hours=1)
    )
    # and three pending dead letters on two topics, and one already replayed
    dead_letter("orders.commands")
    dead_letter("orders.commands")
    dead_letter("payments.commands")
    dead_letter("orders.commands", status=DeadLetterStatus.REPLAYED)
    # and the worker's snapshot of its own group (another group's is not this service's)
    record_snapshot(settings.KAFKA_CONSUMER_GROUP, {"payments.commands": 4, "orders.commands": 0})
    record_snapshot("another-group", {"orders.commands": 99})
    health = operator_api.get(MESSAGING).json()
    assert health["outbox_backlog"] == 2
    assert 110 <= health["outbox_oldest_age_seconds"] < 180  # now() is the test transaction's start
    assert health["dead_letters_pending"] == 3
    assert health["dead_letters_by_topic"] == [
        {"topic": "orders.commands", "pending": 2},
        {"topic": "payments.commands", "pending": 1},
    ]
    assert health["consumer_lag"] == [
        {"topic": "orders.commands", "lag": 0},
        {"topic": "payments.commands", "lag": 4},
    ]
    observed = MessagingSnapshot.objects.get(group=settings.KAFKA_CONSUMER_GROUP).observed_at
    assert datetime.fromisoformat(health["observed_at"]) == observed
    # a newer snapshot replaces the older one
    record_snapshot(settings.KAFKA_CONSUMER_GROUP, {"orders.commands": 7})
    assert operator_api.get(MESSAGING).json()["consumer_lag"] == [{"topic": "orders.commands", "lag": 7}]
    assert MessagingSnapshot.objects.count() == 2


@pytest.mark.django_db(transaction=True)  # the loop's thread must see the rows
def test_the_worker_records_its_consumer_lag_and_a_broker_away_leaves_it_as_it_was(
    kafka_topics: str, settings: SettingsWrapper
) -> None:
    topic, group = topic_name(ORDERS_COMMANDS), f"{kafka_topics}snapshot"
    produce(topic, [kafka_record(wrap(ApproveOrder())), kafka_record(wrap(ApproveOrder()))])
    # the loop, as the worker runs it, records the lag of its group (nothing committed yet: both)
    loop = SnapshotLoop(HANDLERS, group_id=group, interval=0.1)
    thread = threading.Thread(target=loop.run)
    thread.start()
    try:
        deadline = timezone.now() + timedelta(seconds=20)
        while not MessagingSnapshot.objects.filter(group=group).exists():
            assert timezone.now() < deadline, "no snapshot recorded"
            threading.Event().wait(0.1)
    finally:
        loop.stop()
        thread.join(20)
    assert not thread.is_alive()
    snapshot = MessagingSnapshot.objects.get(group=group)
    assert snapshot.consumer_lag == {topic: 2}
    # when the broker cannot be reached, the snapshot is not taken and the last one stays
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"
    assert SnapshotLoop(HANDLERS, group_id=group).take() is False
    assert MessagingSnapshot.objects.get(group=group).observed_at == snapshot.observed_at
