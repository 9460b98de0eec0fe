"""Read what landed on a topic, without joining a consumer group (no rebalance wait)."""

import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka import Message as KafkaMessage
from django.conf import settings

from saga_common.envelope import Envelope


def read_topic(topic: str, *, expected: int, timeout: float = 15.0) -> list[KafkaMessage]:
    """Return the messages of every partition of ``topic`` once ``expected`` arrived (or the timeout hit)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 20,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        messages: list[KafkaMessage] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            messages += [m for m in consumer.consume(100, timeout=0.2) if m.error() is None]
        # A short extra read catches anything beyond what was expected (a duplicate, say).
        messages += [m for m in consumer.consume(100, timeout=0.5) if m.error() is None]
        return messages
    finally:
        consumer.close()


def read_envelopes(topic: str, *, expected: int, timeout: float = 15.0) -> list[Envelope]:
    return [
        Envelope.from_kafka(m.value(), m.headers())
        for m in read_topic(topic, expected=expected, timeout=timeout)
    ]


def headers_of(message: KafkaMessage) -> dict[str, bytes]:
    """A Kafka record's headers as a dict of raw values."""
    pairs: list[tuple[str, str | bytes | None]] = list(message.headers() or [])  # type: ignore[arg-type]
    return {name: value for name, value in pairs if isinstance(value, bytes)}
