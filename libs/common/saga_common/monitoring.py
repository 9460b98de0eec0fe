"""What an operator (and the metrics) need to see: is anything stuck in the outbox, the topics or the DLQ?

- the outbox backlog: unpublished rows and the age of the oldest (the relay's lag), and the rows the
  relay set aside because the broker refused them for good (they need an operator);
- the consumer lag: per topic, messages not yet committed by this service's consumer group;
- the dead-letter depth: messages in each ``<topic>.dlq`` this service consumes from;
- in the orchestrator's worker, its sagas: how many in each state, the oldest one still running, and
  how many run longer than their steps' attempts allow (``saga_gauges``);
- in every worker, the size of each of the service's tables (``saga_common.storage``).

Gauges of all of them are computed when Prometheus scrapes (``MessagingCollector``), so they are never
stale; each process serves its metrics at ``/metrics`` on ``METRICS_PORT`` (``serve_metrics``), never
on the public API port. Their names start with ``sagaref_`` like every metric of the project.
"""

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from django.apps import apps
from django.conf import settings
from django.db import connection
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from saga_common.messaging.inbox import HandlerRegistry
from saga_common.messaging.kafka import dlq_name, offsets_probe_config, topic_name
from saga_common.messaging.offsets import Partition, partition_ends
from saga_common.observability.metrics import NAMESPACE
from saga_common.saga_metrics import saga_gauges
from saga_common.storage import table_gauges

logger = logging.getLogger(__name__)


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
    probe = offsets_probe(group_id)
    try:
        lag = consumer_lag(probe, topics, timeout)
        dead = dead_letter_depths(probe, [dlq_name(topic) for topic in topics], timeout)
    finally:
        probe.close()
    return MessagingStatus(backlog, oldest, outbox_refused(), lag, dead)


def offsets_probe(group_id: str | None = None) -> Consumer:
    """A client that reads the consumer group's committed offsets (``group_id``, default this service's).

    It never subscribes, so it does not join the group: the group's members are not disturbed.
    """
    return Consumer(offsets_probe_config(group_id or settings.KAFKA_CONSUMER_GROUP))


def consumer_lag(probe: Consumer, topics: list[str], timeout: float) -> dict[str, int]:
    """Per topic, the messages the probe's group has not committed yet (asks the broker: one request
    for the committed offsets, two for the partitions' ends, whatever the number of partitions)."""
    partitions = [tp for topic in topics for tp in _partitions(probe, topic, timeout)]
    committed = probe.committed(partitions, timeout=timeout) if partitions else []
    ends = _ends(probe, partitions, timeout)
    lag = dict.fromkeys(topics, 0)
    for tp in committed:
        low, high = ends[(tp.topic, tp.partition)]
        position = tp.offset if tp.offset >= 0 else low
        lag[tp.topic] += max(high - position, 0)
    return lag


def _partitions(consumer: Consumer, topic: str, timeout: float) -> list[TopicPartition]:
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        return []
    return [TopicPartition(topic, partition) for partition in metadata.partitions]


def _ends(
    consumer: Consumer, partitions: list[TopicPartition], timeout: float
) -> dict[Partition, tuple[int, int]]:
    """Every partition's watermarks, or ``KafkaException`` if the broker could not say for one (a
    figure missing a partition would understate the lag)."""
    asked = [(tp.topic, tp.partition) for tp in partitions]
    ends = partition_ends(consumer, asked, timeout=timeout)
    missing = [key for key in asked if key not in ends]
    if missing:
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"no watermarks for {missing}"))
    return ends


def dead_letter_depths(probe: Consumer, topics: list[str], timeout: float) -> dict[str, int]:
    """Per dead-letter topic, the records it holds."""
    partitions = [tp for topic in topics for tp in _partitions(probe, topic, timeout)]
    depth = dict.fromkeys(topics, 0)
    for (topic, _), (low, high) in _ends(probe, partitions, timeout).items():
        depth[topic] += high - low
    return depth


def outbox_refused() -> int:
    """Return how many rows of this service's outbox the relay set aside as refused for good."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM {Published._meta.db_table} WHERE status = %s", [StatusChoice.FAILED]
        )
        (count,) = cursor.fetchone()
    return int(count)


def outbox_backlog() -> tuple[int, float | None]:
    """Return (scheduled rows, age in seconds of the oldest) for this service's outbox."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), extract(epoch FROM now() - min(added)) FROM {Published._meta.db_table} "
            "WHERE status = %s",
            [StatusChoice.SCHEDULE],
        )
        count, age = cursor.fetchone()
    # now() is the transaction's start: in a transaction that wrote the row, the age is just below 0
    return int(count), (max(0.0, float(age)) if age is not None else None)


def _gauge(name: str, documentation: str, **kwargs: Any) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", documentation, **kwargs)


class MessagingCollector(Collector):
    """Outbox backlog and oldest row's age; with handlers (a worker), also the tables' sizes, consumer
    lag and dead letters, and in the orchestrator its sagas."""

    def __init__(self, handlers: Any = None) -> None:
        self.handlers = handlers

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # without it, registering would call collect(), i.e. query the database at import

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            yield from self._collect()
        finally:
            # Each scrape runs in a thread of its own (prometheus_client's server), whose connection
            # would otherwise stay open until garbage collection: a busy Prometheus would exhaust
            # PostgreSQL's connections. (Not inside a transaction: a test's.)
            if not connection.in_atomic_block:
                connection.close()

    def _collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog, oldest = outbox_backlog()
        except Exception:  # a scrape must not fail because the database is briefly away
            logger.warning("outbox backlog unavailable for metrics", exc_info=True)
            return
        yield _gauge("outbox_backlog_rows", "Unpublished outbox rows", value=backlog)
        yield _gauge(
            "outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", value=oldest or 0.0
        )
        try:
            yield _gauge(
                "outbox_refused_rows", "Outbox rows set aside as refused for good", value=outbox_refused()
            )
        except Exception:
            logger.warning("refused outbox rows unavailable for metrics", exc_info=True)
        if self.handlers is None:
            return
        if apps.is_installed("saga_common.sagas"):
            try:
                yield from list(saga_gauges())
            except Exception:
                logger.warning("sagas unavailable for metrics", exc_info=True)
        try:  # the web's scrapes would only repeat the same database's sizes
            yield from list(table_gauges())
        except Exception:
            logger.warning("table sizes unavailable for metrics", exc_info=True)
        try:
            status = messaging_status(self.handlers, timeout=3.0)
        except Exception:
            logger.warning("consumer lag unavailable for metrics", exc_info=True)
            return
        lag = _gauge("consumer_lag_messages", "Messages not yet committed", labels=["topic"])
        for topic, value in status.consumer_lag.items():
            lag.add_metric([topic], value)
        yield lag
        dead = _gauge("dead_letter_messages", "Messages in a dead-letter topic", labels=["topic"])
        for topic, value in status.dead_letters.items():
            dead.add_metric([topic], value)
        yield dead


_collector = MessagingCollector()
_registered = False


def register_collector() -> None:
    """Register the scrape-time collector once per process (the app's ``ready`` does it)."""
    global _registered
    if not _registered:
        REGISTRY.register(_collector)
        _registered = True


def serve_metrics(port: int) -> None:
    """Expose this process's metrics on ``port`` (0: do not), in a thread of their own."""
    register_collector()
    if port:
        start_http_server(port)
        logger.info("metrics on :%d/metrics", port)


def serve_worker_metrics(port: int, handlers: Any) -> None:
    """Expose this worker's metrics on ``port`` (0: do not), consumer lag of ``handlers`` included."""
    register_collector()
    _collector.handlers = handlers
    serve_metrics(port)
