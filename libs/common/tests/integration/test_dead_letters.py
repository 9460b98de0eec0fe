"""Dead letters against the real PostgreSQL and the real broker: kept by the consumer byte for byte,
once per record; replayed through the outbox exactly once; discarded; and the fail point that makes a
real consumer dead-letter on demand."""

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Message as KafkaMessage
from django.core.management import call_command
from django.db import InterfaceError, connection, transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from saga_common.errors import Conflict, DomainError, NotFound
from saga_common.faults import arm_fail_point
from saga_common.messaging import consumer as consumer_module
from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.dead_letters import record_dead_letter
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.kafka import dlq_name, topic_name
from saga_common.messaging.outbox import RAW_RECORD, send
from saga_common.messaging.records import RawRecord, headers_from_json, raw_headers, record_to_json
from saga_common.messaging.relay import OutboxRelay
from saga_common.models import DeadLetter, DeadLetterStatus
from saga_common.operations import dead_letters as actions
from saga_common.operations.dead_letters import dead_letter_discard, dead_letter_replay
from saga_testing.kafka import Record, committed_offset, kafka_record, produce, read_topic, run_until
from saga_testing.messages import wrap
from shop_contracts import ORDERS_COMMANDS, ApproveOrder, RejectOrder
from tests.effects.handlers import HANDLERS, HandlerBroke
from tests.effects.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)

# A record no envelope could be: a binary key, a value that is neither JSON nor UTF-8, an unreadable
# ce_id, a header without a value and a header name given twice.
AWKWARD = Record(
    b"\xff\x00o-9",
    b"\x00\xfe{not json",
    [("ce_id", b"\xff"), ("x", None), ("x", b"dup"), ("bin", b"\x00\x01")],
)


def approve(order_id: str = "o-1") -> Envelope:
    return wrap(ApproveOrder(), order_id=order_id, correlation_id="corr")


def broken(order_id: str = "o-3") -> Envelope:
    """A message whose handler always fails (``record_effect_then_fail``)."""
    return wrap(RejectOrder(reason="x"), order_id=order_id, correlation_id="c")


def on_the_topic(record: Record) -> KafkaMessage:
    """``record`` produced to orders.commands and read back, as a consumer gets it."""
    topic = topic_name(ORDERS_COMMANDS)
    produce(topic, [record])
    (message,) = read_topic(topic, expected=1)
    return message


def stored(column: bytes | memoryview | None) -> bytes | None:
    """A binary column as bytes (PostgreSQL gives a memoryview back)."""
    return None if column is None else bytes(column)


def pending(**fields: Any) -> DeadLetter:
    defaults: dict[str, Any] = {
        "topic": "orders.commands",
        "partition": 0,
        "offset": DeadLetter.objects.count(),
        "identity": f"id:{uuid.uuid4()}",
        "key": b"o-1",
        "payload": b"{}",
        "error": "HandlerBroke()",
        "attempts": 5,
    }
    return DeadLetter.objects.create(**{**defaults, **fields})


def test_the_consumer_keeps_what_it_dead_letters_byte_for_byte_and_why(kafka_topics: str) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    failing = broken()
    produce(topic, [AWKWARD, kafka_record(failing), kafka_record(approve())])
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}dead", max_attempts=2)
    run_until(consumer, lambda: committed_offset(topic, consumer.group_id) == 3)
    # then both bad records are kept, with where they came from, and the good one is not
    poison, refused = DeadLetter.objects.order_by("offset")
    assert (poison.topic, poison.partition, poison.offset, poison.status) == (topic, 0, 0, "PENDING")
    assert (poison.message_id, poison.message_type, poison.attempts) == (None, None, 1)
    assert (stored(poison.key), stored(poison.payload)) == (AWKWARD.key, AWKWARD.value)
    assert headers_from_json(poison.headers) == raw_headers(AWKWARD.headers)
    assert "not a CloudEvents 1.0 event" in poison.error
    assert (refused.offset, refused.message_id, refused.message_type, refused.attempts) == (
        1,
        failing.id,
        "RejectOrder",
        2,
    )
    assert stored(refused.payload) == failing.data
    assert "HandlerBroke" in refused.error
    assert (refused.acted_by, refused.acted_at) == (None, None)
    # and each still went to the dead-letter topic as before
    assert [m.value() for m in read_topic(dlq_name(topic), expected=2)] == [AWKWARD.value, failing.data]


def test_a_record_delivered_again_after_a_crash_is_kept_once(kafka_topics: str) -> None:
    message = on_the_topic(kafka_record(broken()))
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}again", max_attempts=1)
    # the worker dead-lettered it, died before committing the offset, and got the record again
    consumer.dead_letter(message, HandlerBroke("first time"), 1)
    consumer.dead_letter(message, HandlerBroke("second time"), 1)
    (letter,) = DeadLetter.objects.all()
    assert "first time" in letter.error
    assert record_dead_letter(message, HandlerBroke("third time"), 1) is False
    assert len(read_topic(dlq_name(topic_name(ORDERS_COMMANDS)), expected=2)) == 2  # the copy: at least once


def test_a_dead_letter_row_that_cannot_be_written_never_stops_the_consumer(
    kafka_topics: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = on_the_topic(kafka_record(broken()))
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}unwritable", max_attempts=1)

    def database_away(*_args: Any) -> bool:
        raise InterfaceError("connection already closed")

    # a database that is away is retried by the consumer (the error reaches it)...
    monkeypatch.setattr(consumer_module, "record_dead_letter", database_away)
    with pytest.raises(InterfaceError):
        consumer.dead_letter(message, HandlerBroke("x"), 1)

    def refuses(*_args: Any) -> bool:
        raise ValueError("a row the database refuses")

    # ...while a row that can never be written is logged and the .dlq copy still sent
    monkeypatch.setattr(consumer_module, "record_dead_letter", refuses)
    consumer.dead_letter(message, HandlerBroke("x"), 1)
    assert len(read_topic(dlq_name(topic_name(ORDERS_COMMANDS)), expected=1)) == 1


def test_a_replay_enqueues_the_record_once_and_the_relay_sends_it_byte_for_byte(kafka_topics: str) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    assert record_dead_letter(on_the_topic(AWKWARD), HandlerBroke("x"), 5) is True
    letter = DeadLetter.objects.get()
    # when an operator replays it
    replayed = dead_letter_replay(dead_letter_id=letter.id, operator="ops")
    assert (replayed.status, replayed.acted_by) == (DeadLetterStatus.REPLAYED, "ops")
    assert replayed.acted_at is not None
    # then one outbox row holds the record, bound for the original topic
    (row,) = Published.objects.all()
    assert (row.id, row.destination, row.status) == (letter.id, topic, StatusChoice.SCHEDULE)
    # and a second replay is refused, enqueueing nothing
    with pytest.raises(
        Conflict, match=r"already REPLAYED \(by ops at .*only a PENDING dead letter can be replayed"
    ):
        dead_letter_replay(dead_letter_id=letter.id, operator="someone else")
    assert Published.objects.count() == 1
    assert DeadLetter.objects.get().acted_by == "ops"
    # when the relay publishes it, the topic gets the very same record again
    assert OutboxRelay().publish_batch() == 1
    original, again = read_topic(topic, expected=2)
    assert again.key() == original.key() == AWKWARD.key
    assert again.value() == original.value() == AWKWARD.value
    assert again.headers() == original.headers()
    assert raw_headers(again.headers()) == raw_headers(AWKWARD.headers)


def test_a_message_failed_on_purpose_is_dead_lettered_and_its_replay_handled_once(
    kafka_topics: str, tmp_path: Path
) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    group = f"{kafka_topics}replay"
    switch = tmp_path / "fail-approve"
    switch.touch()
    arm_fail_point({"SAGA_FAIL_TYPES": "ApproveOrder", "SAGA_FAIL_WHILE": str(switch)})
    try:
        # given an ApproveOrder that fails on purpose while the switch file exists
        message = approve()
        produce(topic, [kafka_record(message)])
        run_until(
            InboxConsumer(HANDLERS, group_id=group, max_attempts=2),
            lambda: committed_offset(topic, group) == 1,
        )
        letter = DeadLetter.objects.get()
        assert (letter.message_id, letter.message_type, letter.attempts) == (message.id, "ApproveOrder", 2)
        assert "InjectedFailure" in letter.error
        assert Effect.objects.count() == 0
        # when the switch is off again and the operator replays it
        switch.unlink()
        dead_letter_replay(dead_letter_id=letter.id, operator="ops")
        assert OutboxRelay().publish_batch() == 1
        run_until(InboxConsumer(HANDLERS, group_id=group), lambda: committed_offset(topic, group) == 2)
        # then it took effect once, under its own message id
        assert list(Effect.objects.values_list("message_id", flat=True)) == [message.id]
        # and another copy of it (the relay publishes at least once) is dropped by the inbox
        produce(topic, [kafka_record(message)])
        run_until(InboxConsumer(HANDLERS, group_id=group), lambda: committed_offset(topic, group) == 3)
        assert Effect.objects.count() == 1
    finally:
        arm_fail_point({})


def test_only_a_pending_dead_letter_is_replayed_or_discarded() -> None:
    letter = pending()
    discarded = dead_letter_discard(dead_letter_id=letter.id, operator="ops")
    assert (discarded.status, discarded.acted_by) == (DeadLetterStatus.DISCARDED, "ops")
    with pytest.raises(Conflict, match=r"already DISCARDED .*only a PENDING dead letter can be replayed"):
        dead_letter_replay(dead_letter_id=letter.id, operator="ops")
    with pytest.raises(Conflict, match=r"already DISCARDED .*can be discarded"):
        dead_letter_discard(dead_letter_id=letter.id, operator="ops")
    assert Published.objects.count() == 0
    replayed = pending()
    dead_letter_replay(dead_letter_id=replayed.id, operator="ops")
    with pytest.raises(Conflict, match="already REPLAYED"):
        dead_letter_discard(dead_letter_id=replayed.id, operator="ops")
    with pytest.raises(NotFound, match="no dead letter"):
        dead_letter_replay(dead_letter_id=uuid.uuid4(), operator="ops")
    with pytest.raises(NotFound):
        dead_letter_discard(dead_letter_id=uuid.uuid4(), operator="ops")


def test_a_replay_that_fails_midway_enqueues_nothing_and_stays_pending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    letter = pending()

    def mark_fails(*_args: Any) -> None:
        raise RuntimeError("the mark failed after the outbox row was written")

    monkeypatch.setattr(actions, "_mark", mark_fails)
    with pytest.raises(RuntimeError):
        dead_letter_replay(dead_letter_id=letter.id, operator="ops")
    assert Published.objects.count() == 0
    assert DeadLetter.objects.get().status == DeadLetterStatus.PENDING


def test_two_operators_replaying_at_once_enqueue_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    letter = pending()
    enqueue = actions.enqueue_raw

    def slow_enqueue(*args: Any, **kwargs: Any) -> None:
        enqueue(*args, **kwargs)
        time.sleep(0.3)  # hold the row lock while the other operator arrives

    monkeypatch.setattr(actions, "enqueue_raw", slow_enqueue)
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def operator(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = dead_letter_replay(dead_letter_id=letter.id, operator=f"ops-{i}")
        except DomainError as refusal:
            outcomes[i] = refusal
        except Exception as failure:  # reported by the assertion below
            outcomes[i] = failure
        finally:
            connection.close()

    threads = [threading.Thread(target=operator, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "DeadLetter"], outcomes
    assert Published.objects.count() == 1


def test_a_raw_row_that_holds_no_record_is_set_aside_and_the_rest_flows(kafka_topics: str) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    # bulk_create: Published.save would rewrite the headers
    Published.objects.bulk_create(
        [Published(id=uuid.uuid4(), destination=topic, body={"not": "a record"}, headers={RAW_RECORD: "1"})]
    )
    with transaction.atomic():
        good = send(ApproveOrder(), order_id="o-1", correlation_id="c")
    assert OutboxRelay().publish_batch() == 1
    assert [m.value() for m in read_topic(topic, expected=1)] == [good.data]
    assert Published.objects.get(status=StatusChoice.FAILED).body == {"not": "a record"}


def test_a_refused_raw_row_can_be_requeued() -> None:
    record = record_to_json(RawRecord(b"o-1", b"{}", []))
    Published.objects.bulk_create(
        [
            Published(
                id=uuid.uuid4(),
                destination="orders.commands",
                body=record,
                headers={RAW_RECORD: "1"},
                status=StatusChoice.FAILED,
            )
        ]
    )
    call_command("requeue_refused")
    assert Published.objects.get().status == StatusChoice.SCHEDULE
