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

from confluent_kafka import Consumer, TopicPartition
from django.apps import apps
from django.conf import settings
from django.db import connection
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from saga_common.messaging.inbox import HandlerRegistry
from saga_common.messaging.kafka import common_config, dlq_name, topic_name
from saga_common.observability.metrics import NAMESPACE
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
        dead = {dlq_name(topic): _depth(probe, dlq_name(topic), timeout) for topic in topics}
    finally:
        probe.close()
    return MessagingStatus(backlog, oldest, outbox_refused(), lag, dead)


def offsets_probe(group_id: str | None = None) -> Consumer:
    """A client that reads the consumer group's committed offsets (``group_id``, default this service's).

    It never subscribes, so it does not join the group: the group's members are not disturbed.
    """
    group = group_id or settings.KAFKA_CONSUMER_GROUP
    return Consumer({**common_config(), "group.id": group, "enable.auto.commit": False})


def consumer_lag(probe: Consumer, topics: list[str], timeout: float) -> dict[str, int]:
    """Per topic, the messages the probe's group has not committed yet (asks the broker)."""
    return {topic: _lag(probe, topic, timeout) for topic in topics}


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


def step_allowance_seconds() -> float:
    """How long one step may take through all of its attempts under the settings' retry policy (the
    waits of ``saga_common.sagas.definition.RetryPolicy``: doubling from the timeout, capped)."""
    timeout, cap = settings.SAGA_STEP_TIMEOUT_SECONDS, settings.SAGA_STEP_MAX_WAIT_SECONDS
    return float(sum(min(timeout * 2**attempt, cap) for attempt in range(settings.SAGA_STEP_MAX_ATTEMPTS)))


# The sagas still running or waiting for an operator, counted: few, read from their partial index
# (saga_instance_unfinished, saga_common.sagas.models, where these states are UNFINISHED_STATES).
_UNFINISHED = ("RUNNING", "COMPENSATING", "FAILED")
_UNFINISHED_SAGAS = "SELECT saga_type, state, count(*) FROM {instances} WHERE state IN %s GROUP BY 1, 2"
# The sagas that ended, estimated: most of the table, which counting would read whole at every scrape.
# Its rows as of the last ANALYZE (autovacuum's), times the shares of the type and of the state there;
# none before the first. Their rate is sagaref_saga_finished_total's.
_FINISHED_SAGAS = """
    WITH share AS (
        SELECT attname, unnest(most_common_vals::text::text[]) AS value, unnest(most_common_freqs) AS freq
        FROM pg_stats WHERE schemaname = current_schema() AND tablename = %(table)s AND NOT inherited
    )
    SELECT kind.value, state.value, round(greatest(c.reltuples, 0) * kind.freq * state.freq)
    FROM share kind, share state, pg_class c
    WHERE kind.attname = 'saga_type' AND state.attname = 'state' AND state.value NOT IN %(unfinished)s
      AND c.oid = %(table)s::regclass
"""
# The saga types there are (every one keeps its series), by a loose scan of the (saga_type, order_id)
# index: one LIMIT 1 probe per type.
_SAGA_TYPES = """WITH RECURSIVE kind AS ((SELECT saga_type FROM {instances} ORDER BY 1 LIMIT 1) UNION ALL
    SELECT (SELECT i.saga_type FROM {instances} i WHERE i.saga_type > kind.saga_type ORDER BY 1 LIMIT 1)
    FROM kind WHERE kind.saga_type IS NOT NULL) SELECT saga_type FROM kind WHERE saga_type IS NOT NULL"""
# Per saga type: the oldest running saga's age, and how many have run longer than their steps allow.
_RUNNING_SAGAS = """
    SELECT saga_type, max(age), count(*) FILTER (WHERE age > %s * greatest(taken, 1)) FROM (
        SELECT i.saga_type, extract(epoch FROM now() - i.created_at) AS age,
               (SELECT count(*) FROM {steps} s WHERE s.saga_id = i.id) AS taken
        FROM {instances} i WHERE i.state IN ('RUNNING', 'COMPENSATING')
    ) AS running GROUP BY saga_type
"""


def saga_gauges() -> Iterator[GaugeMetricFamily]:
    """The orchestrator's sagas: by type and state; per type the oldest one still running (or
    compensating) and how many of those run longer than their steps' attempts allow (each step taken
    so far its whole ``step_allowance_seconds``), which the deadline sweep should have prevented.

    The sagas still running or FAILED are counted; those that ended are PostgreSQL's estimate."""
    instances = apps.get_model("sagas", "SagaInstance")._meta.db_table
    steps = apps.get_model("sagas", "SagaStep")._meta.db_table
    states = [value for value, _ in apps.get_model("sagas", "SagaInstance")._meta.get_field("state").choices]
    with connection.cursor() as cursor:
        cursor.execute(_FINISHED_SAGAS, {"table": instances, "unfinished": _UNFINISHED})
        counts = {(saga, state): int(count) for saga, state, count in cursor.fetchall()}
        cursor.execute(_UNFINISHED_SAGAS.format(instances=instances), [_UNFINISHED])
        counts.update({(saga, state): count for saga, state, count in cursor.fetchall()})
        cursor.execute(_RUNNING_SAGAS.format(instances=instances, steps=steps), [step_allowance_seconds()])
        running = {saga: (float(oldest), overdue) for saga, oldest, overdue in cursor.fetchall()}
        cursor.execute(_SAGA_TYPES.format(instances=instances))
        known = {saga for (saga,) in cursor.fetchall()}
    types = sorted(known | {saga for saga, _ in counts})
    by_state = _gauge(
        "sagas",
        "Sagas in each state (FAILED ones wait for an operator; those that ended are estimated)",
        labels=["saga", "state"],
    )
    oldest = _gauge(
        "saga_oldest_running_age_seconds",
        "Age of the oldest saga still running or compensating",
        labels=["saga"],
    )
    overdue = _gauge(
        "sagas_overdue", "Sagas running longer than their steps' attempts allow", labels=["saga"]
    )
    for saga in types:
        for state in states:
            by_state.add_metric([saga, state], counts.get((saga, state), 0))
        age, late = running.get(saga, (0.0, 0))
        oldest.add_metric([saga], max(age, 0.0))
        overdue.add_metric([saga], late)
    yield from (by_state, oldest, overdue)


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
