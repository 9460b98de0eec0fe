"""The Kafka side of the inbox consumer (``saga_common.messaging.consumer``): a batch polled without
waiting for more, offsets stored (librdkafka commits them), the partitions it is assigned followed,
and how often a fenced consumer may be replaced."""

import logging
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka import Message as KafkaMessage

from saga_common.messaging.progress import topic_partitions

logger = logging.getLogger(__name__)


class Assignments:
    """The partitions the consumer owns, and the next offset to handle in each (``positions``).

    A rebalance callback only notes what was assigned; its committed offsets are read by the loop
    (``read_positions``) before the next batch is handled. A callback must not call the consumer:
    confluent-kafka clears its call state on the way out of a nested call, and the next callback of
    the same poll aborts the process (seen with two of three brokers down: "CallState_get: Assertion
    `cs != NULL' failed").
    """

    def __init__(
        self,
        consumer: Consumer,
        topics: list[str],
        partitions: dict[str, int],
        positions: dict[tuple[str, int], int],
    ) -> None:
        self.consumer, self.topics = consumer, topics
        self.partitions, self.positions = partitions, positions
        self._assigned_since: dict[tuple[str, int], TopicPartition] = {}

    def on_assign(self, _consumer: Consumer, assigned: list[TopicPartition]) -> None:
        self._assigned_since.update({(tp.topic, tp.partition): tp for tp in assigned})

    def on_revoke(self, _consumer: Consumer, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self.positions.pop((tp.topic, tp.partition), None)
            self._assigned_since.pop((tp.topic, tp.partition), None)

    def read_positions(self) -> None:
        if not self._assigned_since:
            return
        assigned = list(self._assigned_since.values())
        self._assigned_since.clear()
        try:
            self.partitions.update(topic_partitions(self.consumer, self.topics))
            committed = self.consumer.committed(assigned, timeout=10)
        except KafkaException as exc:  # progress is then only recorded once messages come
            logger.warning("committed offsets unknown on assignment (%s)", exc)
            return
        self.positions.update({(tp.topic, tp.partition): tp.offset for tp in committed})


class Rejoins:
    """At most ``allowed`` replacements of a fenced consumer in ``window_s``
    (settings.INBOX_FENCED_REJOINS)."""

    def __init__(self, allowed: int, window_s: float = 600.0) -> None:
        self.allowed, self.window_s = allowed, window_s
        self._at: list[float] = []

    def allow(self) -> bool:
        now = time.monotonic()
        self._at = [at for at in self._at if now - at < self.window_s]
        if len(self._at) >= self.allowed:
            return False
        self._at.append(now)
        return True

    def __str__(self) -> str:
        return f"{len(self._at)} of {self.allowed} in {self.window_s / 60:.0f} minutes"


def next_batch(consumer: Consumer, size: int) -> list[KafkaMessage]:
    """Wait for one message, then take what else is already fetched, without waiting.

    ``consume(n, timeout)`` alone waits the whole timeout unless n messages arrive, which at low
    load adds that timeout to every hop of a saga.
    """
    first = consumer.poll(0.2)
    if first is None:
        return []
    return [first, *consumer.consume(size - 1, timeout=0)] if size > 1 else [first]


def store_offset(consumer: Consumer, kafka_message: KafkaMessage) -> bool:
    try:
        consumer.store_offsets(kafka_message)
    except KafkaException as exc:  # the partition was revoked meanwhile: its new owner gets it again
        logger.warning("offset not stored (%s); the message will be redelivered and deduplicated", exc)
        return False
    return True
