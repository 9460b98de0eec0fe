"""Messaging health: is anything stuck in the outbox, behind on the topics, or dead-lettered?

The web answers from this service's database alone, so a slow or absent broker never slows an
operator's request: the consumer lag comes from the snapshot the worker records every
``MESSAGING_SNAPSHOT_SECONDS`` (``SnapshotLoop``, a thread of its own, so a broker that does not
answer delays nothing else); the outbox backlog and the pending dead letters are read live, the
tables' sizes from PostgreSQL's catalog (``saga_common.storage``).
"""

import logging
import threading
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from saga_common.messaging.inbox import HandlerRegistry
from saga_common.models import DeadLetter, DeadLetterStatus, MessagingSnapshot
from saga_common.monitoring import consumed_topics, consumer_lag, offsets_probe, outbox_backlog
from saga_common.storage import table_sizes

logger = logging.getLogger(__name__)

# How long one question to the broker may take: short, so that a stopping worker is not held up.
BROKER_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class MessagingHealth:
    service: str
    observed_at: datetime | None  # when the worker measured consumer_lag; None: it never has
    outbox_backlog: int
    outbox_oldest_age_seconds: float | None
    consumer_lag: list[dict[str, Any]]  # [{"topic", "lag"}], by topic
    dead_letters_pending: int
    dead_letters_by_topic: list[dict[str, Any]]  # [{"topic", "pending"}], by topic; none for zero
    tables: list[dict[str, Any]]  # [{"table", "rows", "bytes"}], by table: is pruning keeping up?


def messaging_health(group_id: str | None = None) -> MessagingHealth:
    """This service's messaging health, from its own database (no broker call)."""
    snapshot = MessagingSnapshot.objects.filter(group=group_id or settings.KAFKA_CONSUMER_GROUP).first()
    backlog, oldest_age = outbox_backlog()
    pending = list(
        DeadLetter.objects.filter(status=DeadLetterStatus.PENDING)
        .values("topic")
        .annotate(pending=Count("id"))
        .order_by("topic")
    )
    lag = snapshot.consumer_lag if snapshot is not None else {}
    return MessagingHealth(
        service=settings.SERVICE_NAME,
        observed_at=snapshot.observed_at if snapshot is not None else None,
        outbox_backlog=backlog,
        outbox_oldest_age_seconds=oldest_age,
        consumer_lag=[{"topic": topic, "lag": lag[topic]} for topic in sorted(lag)],
        dead_letters_pending=sum(row["pending"] for row in pending),
        dead_letters_by_topic=pending,
        tables=[asdict(size) for size in table_sizes()],
    )


def record_snapshot(group_id: str, lag: dict[str, int]) -> None:
    """Replace the group's snapshot with ``lag``, observed now (one upsert)."""
    MessagingSnapshot.objects.bulk_create(
        [MessagingSnapshot(group=group_id, consumer_lag=lag, observed_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["group"],
        update_fields=["consumer_lag", "observed_at"],
    )


class SnapshotLoop:
    """The worker's loop: measure the consumer lag at the broker and record it, every interval.

    It never stops the worker: a failed measurement (broker or database away) is logged once per
    outage and tried again next time, while the recorded ``observed_at`` grows old.
    """

    def __init__(
        self,
        handlers: HandlerRegistry,
        *,
        stop_event: threading.Event | None = None,
        group_id: str | None = None,
        interval: float | None = None,
    ) -> None:
        self.topics = consumed_topics(handlers)
        self.group_id = group_id or settings.KAFKA_CONSUMER_GROUP
        self.stop_event = stop_event or threading.Event()
        self.interval = interval if interval is not None else settings.MESSAGING_SNAPSHOT_SECONDS
        self._probe: Consumer | None = None
        self._failing = False

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self.take()
                self.stop_event.wait(self.interval)
        finally:
            self._close_probe()
            connection.close()

    def take(self) -> bool:
        """Measure and record once; False (logged) if either failed."""
        try:
            if self._probe is None:  # one client for the loop's life: not a new connection each time
                self._probe = offsets_probe(self.group_id)
            record_snapshot(self.group_id, consumer_lag(self._probe, self.topics, BROKER_TIMEOUT_SECONDS))
        except Exception as exc:
            if not self._failing:
                logger.warning("messaging snapshot not taken (%r); trying every %.1fs", exc, self.interval)
            self._failing = True
            self._forget_connections()
            return False
        if self._failing:
            logger.info("messaging snapshot taken again")
        self._failing = False
        return True

    def _close_probe(self) -> None:
        if self._probe is not None:
            self._probe.close()
            self._probe = None

    def _forget_connections(self) -> None:
        """Start afresh next time. Closing what already failed may fail too: that must not end the loop
        (an exception out of it would stop the whole worker), so it is only logged."""
        try:
            self._close_probe()
        except Exception as exc:
            logger.debug("closing the offsets probe failed: %r", exc)
        self._probe = None
        try:
            connection.close()
        except Exception as exc:
            logger.debug("closing the database connection failed: %r", exc)
