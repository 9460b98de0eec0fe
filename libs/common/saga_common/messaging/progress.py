"""How far each partition has been handled, persisted, so deadlines are judged against handled replies.

A step's deadline passing means "no reply came" only if every reply sent before the deadline has been
handled. Replies for one order always land on one partition (the order id is the key), so the question
is per partition: up to when has the consumer group handled it? After each batch the inbox consumer
records, for each partition it owns:
- the broker timestamp of the last message it handled there, while more may be waiting; or
- "caught up as of the batch's poll" (less a safety margin) when it has read to the partition's end.

The row only moves forward (GREATEST), and only after the messages were handled: a worker that dies
stops moving its partitions, so their sagas are not given up while their replies wait unread; the
worker that takes a partition over moves it again.

A record's timestamp is input like any other (whoever produced it set it): one before the epoch, out
of ``datetime``'s range, or further ahead of this consumer's clock than
``INBOX_PROGRESS_CLOCK_TOLERANCE_SECONDS`` counts as no progress at all, and never raises; one ahead
by less (a producer's clock a little fast) counts as this consumer's "now". So no record can stop a
worker here, and none can carry a partition's progress into the future, where ``GREATEST`` would
keep it and switch the deadline guard off. A row already carried there (written before this rule) is
reset by the next write.
"""

import logging
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaException
from confluent_kafka import Message as KafkaMessage
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction

from saga_common.messaging.offsets import partition_ends
from saga_common.models import ConsumerProgress

logger = logging.getLogger(__name__)

_UPSERT = f"""
    INSERT INTO {ConsumerProgress._meta.db_table} AS p
        ("group", topic, partition, partitions, handled_up_to, updated_at)
    VALUES {{values}}
    ON CONFLICT ("group", topic, partition) DO UPDATE
        SET handled_up_to = CASE
                WHEN p.handled_up_to > EXCLUDED.updated_at THEN EXCLUDED.handled_up_to
                ELSE GREATEST(p.handled_up_to, EXCLUDED.handled_up_to)
            END,
            partitions = EXCLUDED.partitions,
            updated_at = EXCLUDED.updated_at
"""


def partition_for(key: str, partitions: int) -> int:
    """The partition librdkafka's ``consistent_random`` partitioner puts ``key`` on (CRC-32 of the key).

    ``saga_common.messaging.kafka.producer_config`` names that partitioner, so every producer agrees.
    """
    return zlib.crc32(key.encode()) % partitions


def progress_after(
    ends_probe: Consumer,
    batch: list[KafkaMessage],
    positions: dict[tuple[str, int], int],
    *,
    check_ends: bool,
) -> dict[tuple[str, int], datetime]:
    """Up to when each partition the consumer owns is handled, once ``batch`` has been handled.

    ``positions`` holds, for every partition the consumer owns, the next offset it will handle (the
    committed offset on assignment, negative if none; this function moves it past ``batch``). Every
    moment is taken less ``INBOX_PROGRESS_MARGIN_SECONDS``, which covers messages produced before it
    that reach the partition a little later (producer clocks and delivery):
    - a partition in the batch is handled up to its last message's timestamp;
    - with ``check_ends``, the partitions' ends are asked of the broker through ``ends_probe`` (a
      client apart from the consumer: ``kafka.offsets_probe_config``; never the client's cached
      watermarks, which can be stale after a partition came back or while fetching stalls), and a
      partition whose position is at its end is handled up to the moment just before asking.
    """
    margin = timedelta(seconds=settings.INBOX_PROGRESS_MARGIN_SECONDS)
    now = datetime.now(UTC)
    up_to: dict[tuple[str, int], datetime] = {}
    for message in batch:
        topic = message.topic()
        if message.error() is not None or topic is None:
            continue
        key = (topic, message.partition() or 0)
        positions[key] = (message.offset() or 0) + 1
        produced = produced_at(message, now)
        if produced is not None:
            up_to[key] = produced - margin
    if not check_ends:
        return up_to
    asked_at = datetime.now(UTC)
    never_committed = any(position < 0 for position in positions.values())
    try:  # one request for every partition (two if some never had an offset committed)
        ends = partition_ends(ends_probe, list(positions), timeout=2.0, beginnings=never_committed)
    except KafkaException:
        return up_to  # the ends are unknown: claim nothing
    for key, position in positions.items():
        if key not in ends:
            continue  # the broker did not answer for it: claim nothing
        low, high = ends[key]
        if position >= high or (position < 0 and low == high):  # at the end, or nothing ever there
            up_to[key] = max(up_to.get(key, asked_at - margin), asked_at - margin)
    return up_to


def produced_at(message: KafkaMessage, now: datetime) -> datetime | None:
    """When ``message`` was produced, as far as it may count for progress; None: it may not count.

    No timestamp, one before the epoch, one ``datetime`` cannot hold, or one further ahead of ``now``
    than the tolerance: None. Ahead by less: ``now`` (never ahead of this consumer's clock).
    """
    kind, millis = message.timestamp()
    if kind == TIMESTAMP_NOT_AVAILABLE or millis < 0:
        return None
    tolerance = timedelta(seconds=settings.INBOX_PROGRESS_CLOCK_TOLERANCE_SECONDS)
    if millis > (now + tolerance).timestamp() * 1000:  # compared as numbers: no conversion can fail
        return None
    return min(datetime.fromtimestamp(millis / 1000, UTC), now)


def record_progress(group: str, up_to: dict[tuple[str, int], datetime], partitions: dict[str, int]) -> None:
    """Move the group's recorded progress forward (one statement); ``partitions``: count per topic."""
    rows = [(t, p, moment) for (t, p), moment in up_to.items() if t in partitions]
    if not rows:
        return
    now = datetime.now(UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT.format(values=", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))),
            [v for t, p, moment in rows for v in (group, t, p, partitions[t], moment, now)],
        )


def record_with_batch(
    group: str,
    consumer: Consumer,
    batch: list[KafkaMessage],
    positions: dict[tuple[str, int], int],
    partitions: dict[str, int],
) -> None:
    """Record the progress ``batch`` makes, in the batch's own transaction (no commit of its own). A
    failure only leaves the progress behind (a savepoint undoes it): it must not cost the batch."""
    up_to = progress_after(consumer, batch, positions, check_ends=False)
    try:
        with transaction.atomic():
            record_progress(group, up_to, partitions)
    except (OperationalError, InterfaceError):
        raise  # the connection is gone: the batch cannot commit either
    except Exception as exc:
        logger.warning("consumer progress not recorded (%r); deadlines wait for the next batch", exc)


def record_after_batch(
    group: str, up_to: dict[tuple[str, int], datetime], partitions: dict[str, int]
) -> None:
    """Record progress in a transaction of its own; a failure only leaves it behind. Its commit does
    not wait for the disk: progress lost in a crash of PostgreSQL only makes deadlines wait longer."""
    if not up_to:
        return
    own_transaction = not connection.in_atomic_block  # never make a caller's transaction asynchronous
    try:
        with transaction.atomic():
            if own_transaction:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            record_progress(group, up_to, partitions)
    except Exception as exc:
        logger.warning("consumer progress not recorded (%r); deadlines wait for the next batch", exc)
        connection.close()


def handled_until(group: str, topic: str) -> Callable[[str], datetime | None]:
    """Return ``key -> up to when the partition carrying key's messages is handled`` (None: unknown)."""
    rows = list(
        ConsumerProgress.objects.filter(group=group, topic=topic).values_list(
            "partition", "partitions", "handled_up_to"
        )
    )
    if not rows:
        return lambda key: None
    partitions = max(count for _, count, _ in rows)
    up_to = {partition: moment for partition, count, moment in rows if count == partitions}
    return lambda key: up_to.get(partition_for(key, partitions))


def topic_partitions(consumer: Consumer, topics: list[str], timeout: float = 10.0) -> dict[str, int]:
    """How many partitions each topic has, from the broker's metadata."""
    counts = {}
    for topic in topics:
        metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if metadata is not None and metadata.error is None:
            counts[topic] = len(metadata.partitions)
    return counts
