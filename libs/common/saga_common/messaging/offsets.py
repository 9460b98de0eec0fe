"""Where partitions begin and end, asked of the broker for many partitions at once.

``Consumer.get_watermark_offsets`` asks for one partition at a time, and librdkafka sends two ListOffsets
requests for it (one for each end), one after the other. A consumer that checks its partitions' ends
every second (``progress``), or a probe that measures lag over every partition (``monitoring``), would
send two requests per partition: with the orchestrator's twelve partitions, 24 round trips a second
with nothing happening, most of what the idle stack cost the broker. ``Consumer.offsets_for_times``
with Kafka's special timestamps (-1: the end, -2: the beginning) sends one ListOffsets request per
leader for all the partitions asked.
"""

from confluent_kafka import Consumer, TopicPartition

LATEST, EARLIEST = -1, -2  # ListOffsets' special timestamps (KIP-79)

Partition = tuple[str, int]


def partition_ends(
    consumer: Consumer, partitions: list[Partition], *, timeout: float, beginnings: bool = True
) -> dict[Partition, tuple[int, int]]:
    """``(low, high)`` watermarks of each partition the broker answered for (a partition it could not
    answer for is left out). With ``beginnings=False`` only ``high`` is asked, and ``low`` is -1.

    Raises ``KafkaException`` when the request as a whole failed (no broker answered in time).
    """
    if not partitions:
        return {}
    highs = _offsets(consumer, partitions, LATEST, timeout)
    lows = _offsets(consumer, list(highs), EARLIEST, timeout) if beginnings else {}
    return {key: (lows.get(key, -1), high) for key, high in highs.items() if not beginnings or key in lows}


def _offsets(
    consumer: Consumer, partitions: list[Partition], spec: int, timeout: float
) -> dict[Partition, int]:
    if not partitions:
        return {}
    asked = [TopicPartition(topic, partition, spec) for topic, partition in partitions]
    answered = consumer.offsets_for_times(asked, timeout=timeout)
    return {(tp.topic, tp.partition): tp.offset for tp in answered if tp.error is None and tp.offset >= 0}
