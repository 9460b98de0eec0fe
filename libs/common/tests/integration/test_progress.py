"""Consumer progress against the real broker: the partition mapping, and what the consumer records."""

import uuid
from datetime import timedelta

import pytest
from confluent_kafka import Producer
from django.conf import settings
from django.utils import timezone

from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.kafka import ensure_topics, producer_config, topic_name
from saga_common.messaging.progress import handled_until, partition_for
from saga_common.models import ConsumerProgress
from saga_testing.kafka import kafka_record, read_topic, run_until
from saga_testing.messages import wrap
from shop_contracts import ORDERS_COMMANDS, ApproveOrder
from tests.effects.handlers import HANDLERS

pytestmark = pytest.mark.django_db(transaction=True)


def three_partition_topic(kafka_topics: str) -> str:
    settings.KAFKA_TOPIC_PREFIX = f"{kafka_topics}p3."
    topic = topic_name(ORDERS_COMMANDS)
    ensure_topics([topic], partitions=3)
    return topic


def test_partition_for_matches_the_producers_partitioner(kafka_topics: str) -> None:
    # given keys produced through the services' producer configuration
    topic = three_partition_topic(kafka_topics)
    keys = [str(uuid.uuid4()) for _ in range(30)]
    producer = Producer(producer_config())
    for key in keys:
        producer.produce(topic, key=key, value=b"x")
    assert producer.flush(10) == 0
    # then each landed where partition_for says
    landed = {m.key().decode(): m.partition() for m in read_topic(topic, expected=30)}  # type: ignore[union-attr]
    assert landed == {key: partition_for(key, 3) for key in keys}
    assert len(set(landed.values())) == 3  # the keys really spread (the check could fail)


def test_the_consumer_records_how_far_it_handled_each_partition(kafka_topics: str) -> None:
    # given messages for several orders on a three-partition topic
    topic = three_partition_topic(kafka_topics)
    orders = [f"o-{i}" for i in range(9)]
    producer = Producer(producer_config())
    for order_id in orders:
        key, value, headers = kafka_record(wrap(ApproveOrder(), order_id=order_id, correlation_id="c"))
        producer.produce(topic, key=key, value=value, headers=headers)
    assert producer.flush(10) == 0
    started = timezone.now()
    # when the consumer has handled them all and found each partition's end
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}progress")
    rows = ConsumerProgress.objects.filter(group=consumer.group_id, topic=topic)
    run_until(consumer, lambda: rows.filter(handled_up_to__gte=started - timedelta(seconds=1)).count() == 3)
    # then every order's partition counts as handled up to about now, for the deadline sweep
    until = handled_until(consumer.group_id, topic)
    for order_id in orders:
        moment = until(order_id)
        assert moment is not None
        assert timezone.now() - timedelta(seconds=5) < moment <= timezone.now()
    assert set(rows.values_list("partitions", flat=True)) == {3}
    assert handled_until("another-group", topic)("o-1") is None
