"""What an operator (and the metrics) need to see: is anything stuck in the outbox, the topics or the DLQ?

- the outbox backlog: unpublished rows and the age of the oldest (the relay's lag), and the rows the
  relay set aside because the broker refused them for good (they need an operator);
- the consumer lag: per topic, messages not yet committed by this service's consumer group;
- the dead-letter depth: messages in each ``<topic>.dlq`` this service consumes from.
"""

from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from django.conf import settings

from saga_common.inbox import HandlerRegistry
from saga_common.kafka import common_config, dlq_name, topic_name
from saga_common.relay import outbox_backlog, outbox_refused


@dataclass(frozen=True)
class MessagingStatus:
    outbox_backlog: int
    outbox_oldest_age_seconds: float | None
    outbox_refused: int
    consumer_lag: dict[str, int]
    dead_letters: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def consumed_topics(handlers: HandlerRegistry) -> list[str]:
    return sorted({topic_name(cls.topic) for cls in handlers})


def messaging_status(
    handlers: HandlerRegistry, *, group_id: str | None = None, timeout: float = 10.0
) -> MessagingStatus:
    backlog, oldest = outbox_backlog()
    topics = consumed_topics(handlers)
    group = group_id or settings.KAFKA_CONSUMER_GROUP
    # A consumer that never subscribes does not join the group: it only reads the group's offsets.
    probe = Consumer({**common_config(), "group.id": group, "enable.auto.commit": False})
    try:
        lag = {topic: _lag(probe, topic, timeout) for topic in topics}
        dead = {dlq_name(topic): _depth(probe, dlq_name(topic), timeout) for topic in topics}
    finally:
        probe.close()
    return MessagingStatus(backlog, oldest, outbox_refused(), lag, dead)


def _partitions(consumer: Consumer, topic: str, timeout: float) -> list[TopicPartition]:
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return []
    return [TopicPartition(topic, partition) for partition in metadata.partitions]


def _lag(consumer: Consumer, topic: str, timeout: float) -> int:
    total = 0
    for committed in consumer.committed(_partitions(consumer, topic, timeout), timeout=timeout):
        low, high = consumer.get_watermark_offsets(committed, timeout=timeout)
        position = committed.offset if committed.offset >= 0 else low
        total += max(high - position, 0)
    return total


def _depth(consumer: Consumer, topic: str, timeout: float) -> int:
    total = 0
    for partition in _partitions(consumer, topic, timeout):
        low, high = consumer.get_watermark_offsets(partition, timeout=timeout)
        total += high - low
    return total
