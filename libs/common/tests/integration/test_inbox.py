"""The inbox consumer against the real PostgreSQL and the real broker."""

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_outbox_pattern.models import Received

from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_batch, handle_once
from saga_common.messaging.kafka import dlq_name, topic_name
from saga_common.monitoring import messaging_status
from saga_testing.kafka import (
    Record,
    committed_offset,
    headers_of,
    kafka_record,
    produce,
    read_topic,
    run_until,
)
from saga_testing.messages import wrap
from shop_contracts import ORDERS_COMMANDS, ApproveOrder, RejectOrder
from tests.effects.handlers import HANDLERS, HandlerBroke, record_effect, record_effect_then_fail
from tests.effects.models import Effect

pytestmark = pytest.mark.django_db(transaction=True)


def approve(order_id: str = "o-1") -> Envelope:
    return wrap(ApproveOrder(), order_id=order_id, correlation_id="corr")


def test_inbox_drops_a_redelivered_message() -> None:
    # given a message handled once
    message = approve()
    assert handle_once(message, record_effect) is True
    # when the same message id arrives again
    assert handle_once(message, record_effect) is False
    # then its effect happened once and the inbox holds one row
    assert Effect.objects.filter(message_id=message.id).count() == 1
    assert Received.objects.filter(msg_id=message.id).count() == 1


def test_handler_failure_rolls_back_its_effect_and_its_inbox_row() -> None:
    message = approve()
    with pytest.raises(HandlerBroke):
        handle_once(message, record_effect_then_fail)
    assert Effect.objects.count() == 0
    assert Received.objects.count() == 0
    # and a later successful attempt is not mistaken for a duplicate
    assert handle_once(message, record_effect) is True


def test_a_batch_is_recorded_in_one_statement_and_skips_duplicates_within_it() -> None:
    first, second = approve("o-1"), approve("o-2")
    with CaptureQueriesContext(connection) as queries:
        outcomes = handle_batch([(first, record_effect), (first, record_effect), (second, record_effect)])
    assert outcomes == [True, False, True]
    inbox_inserts = [q for q in queries.captured_queries if "INSERT INTO received" in q["sql"]]
    assert len(inbox_inserts) == 1
    assert sorted(Effect.objects.values_list("message_id", flat=True)) == sorted([first.id, second.id])
    # and a later batch carrying one of them again skips just that one
    third = approve("o-3")
    assert handle_batch([(second, record_effect), (third, record_effect)]) == [False, True]
    assert Effect.objects.count() == 3


def test_one_failing_handler_rolls_back_the_whole_batch() -> None:
    good, bad = approve("o-1"), approve("o-2")
    with pytest.raises(HandlerBroke):
        handle_batch([(good, record_effect), (bad, record_effect_then_fail)])
    assert (Effect.objects.count(), Received.objects.count()) == (0, 0)


def test_consumer_handles_once_dead_letters_poison_and_commits_after_the_transaction(
    kafka_topics: str,
) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    # given a message, its duplicate, a poison message, a message whose handler always fails, and a good one
    first, last, failing = (
        approve(),
        approve("o-2"),
        wrap(RejectOrder(reason="x"), order_id="o-3", correlation_id="c"),
    )
    produce(
        topic,
        [
            kafka_record(first),
            kafka_record(first),
            Record(b"o-9", b"{not json", []),
            kafka_record(failing),
            kafka_record(last),
        ],
    )
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}inbox", max_attempts=2)
    assert messaging_status(HANDLERS, group_id=consumer.group_id).consumer_lag == {topic: 5}
    # when the consumer runs until it committed past all five
    run_until(consumer, lambda: committed_offset(topic, consumer.group_id) == 5)
    # then the lag is back to zero and the dead-letter topic holds the two bad messages
    status = messaging_status(HANDLERS, group_id=consumer.group_id)
    assert (status.consumer_lag, status.dead_letters) == ({topic: 0}, {dlq_name(topic): 2})
    # then each good message had its effect once, the two bad ones went to the DLQ with their error
    assert sorted(Effect.objects.values_list("message_id", flat=True)) == sorted([first.id, last.id])
    assert Received.objects.count() == 2
    dead = read_topic(dlq_name(topic), expected=2)
    assert [m.value() for m in dead] == [b"{not json", kafka_record(failing).value]
    errors = [headers_of(m)["dlq-error"].decode() for m in dead]
    assert "not a CloudEvents 1.0 event" in errors[0]
    assert "HandlerBroke" in errors[1]
    assert headers_of(dead[1])["dlq-attempts"] == b"2"


def test_a_batch_with_a_failing_handler_is_handled_message_by_message(kafka_topics: str) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    # given good, failing, good on the topic before the consumer starts (so they come as one batch)
    good, failing, later = (
        approve("o-1"),
        wrap(RejectOrder(reason="x"), order_id="o-2", correlation_id="c"),
        approve("o-3"),
    )
    produce(topic, [kafka_record(good), kafka_record(failing), kafka_record(later)])
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}batch", max_attempts=2)
    run_until(consumer, lambda: committed_offset(topic, consumer.group_id) == 3)
    # then the good ones took effect once each, despite the batch's rollback, and the other was dead-lettered
    assert sorted(Effect.objects.values_list("message_id", flat=True)) == sorted([good.id, later.id])
    assert [m.value() for m in read_topic(dlq_name(topic), expected=1)] == [kafka_record(failing).value]


def test_consumer_resumes_after_the_last_committed_offset(kafka_topics: str) -> None:
    topic = topic_name(ORDERS_COMMANDS)
    group = f"{kafka_topics}resume"
    produce(topic, [kafka_record(approve("o-1"))])
    run_until(InboxConsumer(HANDLERS, group_id=group), lambda: Effect.objects.count() == 1)
    # given a restart of the consumer after a new message arrived
    produce(topic, [kafka_record(approve("o-2"))])
    run_until(InboxConsumer(HANDLERS, group_id=group), lambda: Effect.objects.count() >= 2)
    # then only the new message was handled by the second run
    assert sorted(Effect.objects.values_list("order_id", flat=True)) == ["o-1", "o-2"]
    assert committed_offset(topic, group) == 2


def test_settings_point_the_consumer_at_the_test_topics(kafka_topics: str) -> None:
    assert InboxConsumer(HANDLERS).topics == [f"{settings.KAFKA_TOPIC_PREFIX}orders.commands"]


def test_a_message_nested_thousands_deep_is_dead_lettered_and_the_consumer_goes_on(kafka_topics: str) -> None:
    # given a value of 5,000 nested arrays (json.loads would raise RecursionError) and a good message
    topic = topic_name(ORDERS_COMMANDS)
    deep, good = b"[" * 5000 + b"]" * 5000, approve("o-2")
    produce(topic, [kafka_record(approve("o-1"))._replace(value=deep), kafka_record(good)])
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}deep", max_attempts=2)
    # when the consumer runs, then it neither crashes nor retries it: the good one takes effect
    run_until(consumer, lambda: committed_offset(topic, consumer.group_id) == 2)
    assert list(Effect.objects.values_list("message_id", flat=True)) == [good.id]
    (dead,) = read_topic(dlq_name(topic), expected=1)
    assert "nests more than 32 levels deep" in headers_of(dead)["dlq-error"].decode()
    assert headers_of(dead)["dlq-attempts"] == b"1"
