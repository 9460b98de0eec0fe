"""The relay against the real PostgreSQL and the real broker."""

import contextlib
import threading
import time
import uuid

import psycopg2
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from saga_common.messaging import outbox
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.relay import RELAY_LOCK_KEY, OutboxRelay, RelayDeliveryError
from saga_common.monitoring import outbox_backlog, outbox_refused
from saga_testing.kafka import headers_of, read_envelopes, read_topic
from shop_contracts import ORDERS_COMMANDS, ApproveOrder, RejectOrder

pytestmark = pytest.mark.django_db(transaction=True)


def event_headers(order_id: str) -> dict[str, str]:
    """An outbox row's headers as the outbox writes them (a CloudEvent's, and its key)."""
    return {"ce_specversion": "1.0", "ce_id": str(uuid.uuid4()), "partitionkey": order_id}


def send_approve(order_id: str) -> str:
    return outbox.send(ApproveOrder(), order_id=order_id, correlation_id="corr").id


def write_then_fail(order_id: str) -> None:
    with transaction.atomic():
        send_approve(order_id)
        raise RuntimeError("the business change failed")


def test_relay_publishes_exactly_the_committed_rows(kafka_topics: str) -> None:
    # given three committed rows and one whose transaction rolled back
    with transaction.atomic():
        committed = [send_approve("o-1"), send_approve("o-2"), send_approve("o-1")]
    with pytest.raises(RuntimeError, match="business change failed"):
        write_then_fail("o-3")
    # when the relay runs one batch
    published = OutboxRelay().publish_batch()
    # then exactly the committed rows are on the topic, once each, and marked published
    assert published == 3
    received = read_envelopes(topic_name(ORDERS_COMMANDS), expected=3)
    assert sorted(e.id for e in received) == sorted(committed)
    assert set(Published.objects.values_list("status", flat=True)) == {StatusChoice.SUCCEEDED}
    assert outbox_backlog() == (0, None)


def test_relay_keys_by_order_and_keeps_each_orders_order(kafka_topics: str) -> None:
    # given interleaved messages of two orders, written one transaction after the other
    written = []
    for index in range(10):
        with transaction.atomic():
            written.append((f"o-{index % 2}", send_approve(f"o-{index % 2}")))
    # when published in small batches
    relay = OutboxRelay(batch_size=3)
    while relay.publish_batch():
        pass
    # then each key sees its messages in the order they were written
    messages = read_topic(topic_name(ORDERS_COMMANDS), expected=10)
    for order in ("o-0", "o-1"):
        seen = [headers_of(m)["ce_id"].decode() for m in messages if m.key() == order.encode()]
        assert seen == [message_id for key, message_id in written if key == order]


def test_relay_leaves_rows_scheduled_while_the_broker_is_unreachable(kafka_topics: str) -> None:
    # given a committed row and a relay whose broker does not answer
    with transaction.atomic():
        message_id = send_approve("o-1")
    down = OutboxRelay(
        producer_overrides={
            "bootstrap.servers": "127.0.0.1:1",
            "delivery.timeout.ms": 1500,
            "message.timeout.ms": 1500,
        }
    )
    # when it tries to publish
    with pytest.raises(RelayDeliveryError):
        down.publish_batch()
    # then nothing is marked published, and a relay that reaches the broker publishes it afterwards
    assert outbox_backlog()[0] == 1
    assert OutboxRelay().publish_batch() == 1
    assert [e.id for e in read_envelopes(topic_name(ORDERS_COMMANDS), expected=1)] == [message_id]


def test_a_second_relay_stands_by_while_another_holds_the_lock(kafka_topics: str) -> None:
    # given another relay inside its batch (holding the advisory lock)
    with transaction.atomic():
        send_approve("o-1")
    other = psycopg2.connect(
        dbname=settings.DATABASES["default"]["NAME"],
        user="postgres",
        host="127.0.0.1",
        port=settings.DATABASES["default"]["PORT"] or 5432,
    )
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN; SELECT pg_advisory_xact_lock(%s)", [RELAY_LOCK_KEY])
            # when this relay runs a batch, it publishes nothing
            assert OutboxRelay().publish_batch() == 0
            assert outbox_backlog()[0] == 1
        other.rollback()
    finally:
        other.close()
    # then once the lock is free it takes over
    assert OutboxRelay().publish_batch() == 1


def test_stopped_relay_finishes_its_batch_and_exits(kafka_topics: str) -> None:
    # given a running relay loop
    relay = OutboxRelay(poll_interval=0.01)
    thread = threading.Thread(target=relay.run)
    thread.start()
    with transaction.atomic():
        message_id = outbox.send(
            RejectOrder(reason="r"), order_id="o-9", correlation_id="c", message_id=str(uuid.uuid4())
        ).id
    assert [e.id for e in read_envelopes(topic_name(ORDERS_COMMANDS), expected=1)] == [message_id]
    # when asked to stop (what SIGTERM does), it exits promptly
    relay.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert outbox_backlog()[0] == 0


def test_outbox_refuses_rows_outside_a_transaction(kafka_topics: str) -> None:
    with pytest.raises(outbox.OutboxOutsideTransaction):
        send_approve("o-1")
    assert Published.objects.count() == 0


def test_a_row_the_broker_refuses_for_good_is_set_aside_and_the_rest_flows(kafka_topics: str) -> None:
    # given a good row, a row larger than any broker accepts, a row for an invalid topic, a good row
    with transaction.atomic():
        first = send_approve("o-1")
        too_large = str(uuid.uuid4())
        Published.objects.create(
            id=too_large,
            destination=topic_name(ORDERS_COMMANDS),
            body={"reason": "x" * 1_200_000},
            headers=event_headers("o-2"),
        )
        bad_topic = str(uuid.uuid4())
        Published.objects.create(
            id=bad_topic, destination="not a topic!", body={}, headers=event_headers("o-3")
        )
        last = send_approve("o-4")
    # when the relay runs a batch: the client refuses the large row itself (set aside at once); the
    # broker refuses the bad topic's, which could have been any row of the request
    relay = OutboxRelay()
    with pytest.raises(RelayDeliveryError):
        relay.publish_batch()
    # then the good rows are published, and the broker's refusal is found by sending the rest alone
    assert relay.publish_batch() == 0
    assert sorted(e.id for e in read_envelopes(topic_name(ORDERS_COMMANDS), expected=2)) == sorted(
        [first, last]
    )
    statuses = dict(Published.objects.values_list("id", "status"))
    assert statuses[uuid.UUID(too_large)] == statuses[uuid.UUID(bad_topic)] == StatusChoice.FAILED
    assert outbox_backlog() == (0, None)
    assert outbox_refused() == 2
    assert relay.publish_batch() == 0  # the refused rows are not published again and again


def test_innocent_rows_sent_with_a_refused_one_are_published_after_all(kafka_topics: str) -> None:
    # given a row the broker refuses between two good ones
    with transaction.atomic():
        first = send_approve("o-1")
        bad_topic = str(uuid.uuid4())
        Published.objects.create(
            id=bad_topic, destination="not a topic!", body={}, headers=event_headers("o-2")
        )
    with transaction.atomic():
        last = send_approve("o-3")
    relay = OutboxRelay()
    for _ in range(5):  # the first batch fails as a whole; then one row at a time
        with contextlib.suppress(RelayDeliveryError):
            relay.publish_batch()
    assert sorted(e.id for e in read_envelopes(topic_name(ORDERS_COMMANDS), expected=2)) == sorted(
        [first, last]
    )
    assert outbox_refused() == 1
    # and an operator can send it again once the cause is fixed
    call_command("requeue_refused", bad_topic)
    assert outbox_backlog()[0] == 1


def test_the_relay_sleeps_once_a_refusal_is_set_aside_and_a_requeue_wakes_it(kafka_topics: str) -> None:
    # given a good row and one the broker refuses, and a relay loop whose backup poll is far away
    with transaction.atomic():
        send_approve("o-1")
        bad = str(uuid.uuid4())
        Published.objects.create(
            id=bad, destination="not a topic!", body={"reason": "r"}, headers=event_headers("o-2")
        )
    relay = OutboxRelay(poll_interval=60)
    batches: list[float] = []
    publish = relay.publish_batch

    def counted() -> int:
        batches.append(time.monotonic())
        return publish()

    relay.publish_batch = counted  # type: ignore[method-assign]
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while outbox_refused() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert outbox_refused() == 1
        # then, once its last batches after the refusal are done, it sleeps on LISTEN rather than
        # reading the outbox again and again
        settled = -1
        while settled != len(batches) and time.monotonic() < deadline:
            settled = len(batches)
            time.sleep(0.5)
        time.sleep(1.5)
        assert len(batches) == settled
        # and when an operator fixes the row and schedules it again, the notification wakes it at once
        Published.objects.filter(id=bad).update(destination=topic_name(ORDERS_COMMANDS))
        call_command("requeue_refused", bad)
        assert len(read_topic(topic_name(ORDERS_COMMANDS), expected=2, timeout=10)) == 2
        assert outbox_backlog()[0] == 0
    finally:
        relay.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_full_batch_with_a_refused_row_is_followed_at_once_by_the_next(kafka_topics: str) -> None:
    # given a relay asleep on LISTEN (its backup poll far away), batches of two rows
    relay = OutboxRelay(batch_size=2, poll_interval=60)
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        time.sleep(1.0)  # it found the outbox empty and listens
        # when five rows commit at once, the fourth too large for any broker
        with transaction.atomic():
            first, second, third = send_approve("o-1"), send_approve("o-2"), send_approve("o-3")
            Published.objects.create(
                id=str(uuid.uuid4()),
                destination=topic_name(ORDERS_COMMANDS),
                body={"reason": "x" * 1_200_000},
                headers=event_headers("o-4"),
            )
            fifth = send_approve("o-5")
        # then the batch that delivered only one of its two rows is not taken for a drained outbox:
        # the fifth row goes out without waiting for another commit or the poll
        published = read_envelopes(topic_name(ORDERS_COMMANDS), expected=4, timeout=10)
        assert sorted(e.id for e in published) == sorted([first, second, third, fifth])
    finally:
        relay.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_requeue_leaves_rows_of_the_old_envelope_format_alone(kafka_topics: str) -> None:
    old, new = str(uuid.uuid4()), str(uuid.uuid4())
    with transaction.atomic():
        refused = StatusChoice.FAILED
        Published.objects.create(
            id=old, destination="x", body={"id": old}, headers={"id": old}, status=refused
        )
        Published.objects.create(
            id=new, destination="x", body={}, headers=event_headers("o-1"), status=refused
        )
    call_command("requeue_refused")
    assert outbox_backlog()[0] == 1  # only the CloudEvent row goes out again
    assert Published.objects.get(id=old).status == refused
