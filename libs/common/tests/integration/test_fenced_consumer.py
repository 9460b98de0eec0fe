"""A consumer the broker fences for good stops its worker instead of polling on, consuming nothing.

Found on Apache Kafka (2026-12-06): two stacks on one broker shared group ids and static member ids;
Kafka fenced the first stack's consumers (a fatal error), which went on polling and never consumed
again, so every order stayed PENDING. Tansu never fences, so the bug had hidden there.
"""

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


def test_a_fenced_static_member_stops_its_consumer_with_an_error(kafka_topics: str, settings: Any) -> None:
    if os.environ.get("BROKER") == "tansu":  # the default, and make test, run Apache Kafka
        pytest.skip("Tansu does not fence static members")
    settings.KAFKA_GROUP_INSTANCE_ID = "the-one-worker"
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
        thread.join(30)
    finally:
        consumer.stop()
        thread.join(15)
    assert not thread.is_alive()
    assert len(failures) == 1, failures
    assert isinstance(failures[0], ConsumerFailed), failures
    assert "fenced" in str(failures[0]).lower()
