"""Where partitions begin and end, asked of the broker for many partitions at once.

``Consumer.get_watermark_offsets`` asks for one partition at a time, and librdkafka sends two ListOffsets
requests for it (one for each end), one after the other. A consumer that checks its partitions' ends
every second (``progress``), or a probe that measures lag over every partition (``monitoring``), would
send two requests per partition: with the orchestrator's twelve partitions, 24 round trips a second
with nothing happening. ``Consumer.offsets_for_times``
with Kafka's special timestamps (-1: the end, -2: the beginning) sends one ListOffsets request per
leader for all the partitions asked.
"""

import contextlib
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

LATEST, EARLIEST = -1, -2  # ListOffsets' special timestamps (KIP-79)
_UNREACHABLE = {KafkaError._TIMED_OUT, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN}

Partition = tuple[str, int]


def partition_ends(
    consumer: Consumer, partitions: list[Partition], *, timeout: float, beginnings: bool = True
) -> dict[Partition, tuple[int, int]]:
    """``(low, high)`` watermarks of each partition the broker answered for, within about ``timeout``
    in all (each request gets at least 0.1 s); a partition it could not answer for is left out.
    With ``beginnings=False`` only ``high`` is asked, and ``low`` is -1."""
    deadline = time.monotonic() + timeout
    highs = _offsets(consumer, partitions, LATEST, deadline)
    lows = _offsets(consumer, list(highs), EARLIEST, deadline) if beginnings else {}
    return {key: (lows.get(key, -1), high) for key, high in highs.items() if not beginnings or key in lows}


def _offsets(
    consumer: Consumer, partitions: list[Partition], spec: int, deadline: float
) -> dict[Partition, int]:
    """One request per leader for all ``partitions``. librdkafka fails the whole lookup when one
    partition's answer is an error (a leader that moved, say), so then the client's metadata of those
    topics is refreshed (a client that never subscribes learns of a moved leader only when asked) and
    each partition is asked alone, while time is left: only the one at fault is left out. A broker
    that did not answer at all is not asked again."""
    if not partitions:
        return {}
    try:
        answered = consumer.offsets_for_times(_asked(partitions, spec), timeout=_left(deadline))
    except KafkaException as exc:
        if exc.args and exc.args[0].code() in _UNREACHABLE:
            return {}
        answered = []
        for topic in sorted({topic for topic, _ in partitions}):
            with contextlib.suppress(KafkaException):
                consumer.list_topics(topic, timeout=_left(deadline))
        for partition in partitions:
            if time.monotonic() >= deadline:
                break
            with contextlib.suppress(KafkaException):
                answered += consumer.offsets_for_times(_asked([partition], spec), timeout=_left(deadline))
    return {(tp.topic, tp.partition): tp.offset for tp in answered if tp.error is None and tp.offset >= 0}


def _asked(partitions: list[Partition], spec: int) -> list[TopicPartition]:
    return [TopicPartition(topic, partition, spec) for topic, partition in partitions]


def _left(deadline: float) -> float:
    return max(0.1, deadline - time.monotonic())
