"""A consumer the broker fences for good is replaced by a new one (INBOX_FENCED_REJOINS times in ten
minutes), then stops its worker, instead of polling on and consuming nothing.

Found on Apache Kafka (2026-12-06): two stacks on one broker shared group ids and static member ids;
Kafka fenced the first stack's consumers (a fatal error), which went on polling and never consumed
again, so every order stayed PENDING. Tansu never fences, so the bug had hidden there. Then the brokers
chaos profile: a killed node was the group's coordinator, the orchestrator's session timed out, and
librdkafka's rejoin was fenced by its own earlier join (librdkafka#3437): the worker exited, where a
new consumer would have carried on.
"""

import logging
import os
import threading
import time
from typing import Any

import pytest
from confluent_kafka import Consumer

from saga_common.messaging.consumer import ConsumerFailed, InboxConsumer
from saga_common.messaging.kafka import consumer_config, topic_name
from saga_testing.kafka import committed_offset, kafka_record, produce
from saga_testing.messages import wrap
from shop_contracts import ORDERS_COMMANDS, ApproveOrder
from tests.effects.handlers import HANDLERS

pytestmark = pytest.mark.django_db(transaction=True)


def _fenced(kafka_topics: str, settings: Any, rejoins: int, after: Any = None) -> list[BaseException]:
    """Run a static member, fence it with an intruder under its id (which then leaves), call ``after``
    (the group and topic) and stop; return what the member's run() raised."""
    if os.environ.get("BROKER") == "tansu":  # the default, and make test, run Apache Kafka
        pytest.skip("Tansu does not fence static members")
    settings.KAFKA_GROUP_INSTANCE_ID = "the-one-worker"
    settings.INBOX_FENCED_REJOINS = rejoins
    group = f"{kafka_topics}fenced"
    topic = topic_name(ORDERS_COMMANDS)
    produce(topic, [kafka_record(wrap(ApproveOrder(), order_id="o-1", correlation_id="c"))])
    consumer = InboxConsumer(HANDLERS, group_id=group)
    failures: list[BaseException] = []

    def run() -> None:
        try:
            consumer.run()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        # wait until the first member is in the group and has handled the message (it is steady: a
        # member still joining would fence the intruder instead), then join under the same static id
        deadline = time.monotonic() + 60
        while committed_offset(topic, group) != 1:
            assert time.monotonic() < deadline, "the first member never handled its message"
            time.sleep(0.2)
        intruder = Consumer(consumer_config(group))
        intruder.subscribe([topic])
        for _ in range(300):
            intruder.poll(0.1)
            if not thread.is_alive():
                break
        intruder.close()
        if after is not None:
            after(group, topic, thread)
        thread.join(30 if rejoins == 0 else 0)
    finally:
        consumer.stop()
        thread.join(15)
    return failures


def test_a_fenced_static_member_with_no_rejoin_left_stops_its_consumer_with_an_error(
    kafka_topics: str, settings: Any
) -> None:
    failures = _fenced(kafka_topics, settings, rejoins=0)
    assert len(failures) == 1, failures
    assert isinstance(failures[0], ConsumerFailed), failures
    assert "fenced" in str(failures[0]).lower()


def test_a_fenced_static_member_is_replaced_and_consumes_again(
    kafka_topics: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="saga_common.messaging.consumer")

    def handled_after_the_fencing(group: str, topic: str, thread: threading.Thread) -> None:
        produce(topic, [kafka_record(wrap(ApproveOrder(), order_id="o-2", correlation_id="c"))])
        deadline = time.monotonic() + 60
        while committed_offset(topic, group) != 2:
            assert thread.is_alive(), "the fenced member stopped instead of rejoining"
            assert time.monotonic() < deadline, "the replaced member never handled the next message"
            time.sleep(0.2)

    assert _fenced(kafka_topics, settings, rejoins=1, after=handled_after_the_fencing) == []
    assert "fenced" in caplog.text  # it was fenced, and replaced:
    assert "rejoining with a new consumer" in caplog.text
