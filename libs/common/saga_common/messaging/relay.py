"""The outbox relay: publish committed outbox rows to Kafka, oldest first, marking them only once acked.

Guarantees:
- only committed rows are seen (the relay reads in its own transaction);
- a row is marked published only after the broker acknowledged it (at-least-once);
- per-order order is kept: rows are produced oldest first with the order id as key, through an
  idempotent producer, so retries neither reorder nor duplicate within a partition;
- one relay per database publishes at a time: each batch runs under a transaction-scoped
  PostgreSQL advisory lock, so extra relay processes are hot standbys, not rivals;
- broker outages are waited out (rows stay scheduled and are retried with backoff);
- a row the broker or the client refuses for good (too large, an invalid or unknown topic) is set
  aside (status FAILED, a log line, ``outbox_refused_total``, counted by ``messaging_status``) and
  the rest of its batch is published: one bad row must not block every row after it;
- a committed row is picked up at once: the relay sleeps on PostgreSQL ``LISTEN`` and a trigger
  (migration ``saga_common.0001_outbox_relay``) notifies on commit (``commits``); polling stays the
  fallback;
- SIGTERM (``stop()``) lets the current batch finish, flush and be marked before exiting;
- the marks commit without waiting for the disk (``_lead``): a crash of PostgreSQL itself can lose
  the last ones, and those rows go out again, as after a relay killed between produce and mark. The
  inboxes skip what they took; a message that was dead-lettered has no inbox row and is handled again.

A raw row (``outbox.enqueue_raw``, an operator's replay) goes out as the record it holds, byte for byte.
Each row is produced in a ``send <Type>`` span (``saga_common.messaging.spans``) whose context the
message carries.
"""

import logging
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.conf import settings
from django.db import connection, transaction
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from opentelemetry.trace import Span

from saga_common.faults import crash_point
from saga_common.messaging import spans
from saga_common.messaging.commits import CommitSignal
from saga_common.messaging.envelope import KAFKA_HEADERS, PARTITION_KEY
from saga_common.messaging.kafka import producer_config
from saga_common.messaging.outbox import RAW_RECORD
from saga_common.messaging.records import record_from_text
from saga_common.observability.metrics import OUTBOX_PUBLISHED, OUTBOX_REFUSED

logger = logging.getLogger(__name__)

# Any constant works: the lock is per database, and each service has its own database.
RELAY_LOCK_KEY = 0x6F7574626F78  # "outbox"
_FIRST_BACKOFF, _MAX_BACKOFF = 0.1, 5.0  # seconds, after a failed batch
# The rows as they go out: the body's JSON text, the key and the header values straight from
# PostgreSQL, so no JSON is parsed and serialised again in Python (the relay's main cost per message).
# The id is renamed: named "id", the text would be what ORDER BY sorts by, and the partial index would
# go unused.
_SCHEDULED_ROWS = f"""
    SELECT id::text AS row_id, destination, body::text, headers->>'{PARTITION_KEY}', headers ? '{RAW_RECORD}',
           {", ".join(f"headers->>'{name}'" for name in KAFKA_HEADERS)}
    FROM {Published._meta.db_table}
    WHERE status = %s
    ORDER BY added, id
    LIMIT %s
"""
_MARK = f"UPDATE {Published._meta.db_table} SET status = %s WHERE id = ANY(%s::uuid[])"
# Errors that say this row can never be published as it is (whatever the broker's health): the row is
# set aside. Everything else (timeouts, a broker away, fencing) is a fault, and the row is retried.
# UNKNOWN_TOPIC_OR_PART is left out (brokers send it while a partition's leader moves), and so is
# TOPIC_AUTHORIZATION_FAILED (a missing ACL is fixed, not worked around). A row set aside by mistake is
# sent again with `manage.py requeue_refused`.
REFUSALS = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.TOPIC_EXCEPTION,  # an invalid topic name
        KafkaError._UNKNOWN_TOPIC,  # the cluster's metadata says there is no such topic
        KafkaError._UNKNOWN_PARTITION,
        KafkaError.INVALID_RECORD,
        KafkaError.POLICY_VIOLATION,
        KafkaError._INVALID_ARG,
    }
)
Row = tuple[Any, ...]  # row id, destination, body, key, raw or not, then the value of each of KAFKA_HEADERS


class RelayDeliveryError(RuntimeError):
    """Some rows of a batch were not acknowledged; they stay scheduled and are retried."""


class OutboxRelay:
    """Publish the outbox of this service's database to Kafka."""

    def __init__(
        self,
        *,
        batch_size: int | None = None,
        poll_interval: float | None = None,
        stop_event: threading.Event | None = None,
        producer_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.batch_size = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
        self.poll_interval = (
            poll_interval if poll_interval is not None else settings.OUTBOX_RELAY_POLL_INTERVAL
        )
        self.stop_event = stop_event or threading.Event()
        self._producer_config = producer_config(**(producer_overrides or {}))
        self._producer: Producer | None = None
        self._commits = CommitSignal()
        self._alone = 0  # rows still to send one per batch, to find the one a broker refused
        self._drained = True  # the last batch read fewer rows than it asked for (or none)
        self._refused_before_sending: set[str] = set()
        self._spans: dict[str, Span] = {}  # row id -> its send span, ended once the batch is settled
        self._unacknowledged: set[str] = set()  # rows sent but not acknowledged: sent again, a re-publish

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Publish until stopped; back off on broker or database errors."""
        backoff = _FIRST_BACKOFF
        logger.info("outbox relay started")
        try:
            while not self.stop_event.is_set():
                try:
                    self.publish_batch()
                    backoff = _FIRST_BACKOFF
                except Exception:
                    logger.exception("outbox relay batch failed; retrying in %.1fs", backoff)
                    connection.close()  # a broken connection is reopened on next use
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, _MAX_BACKOFF)
                    continue
                # Sleep until a commit notifies once a batch read fewer rows than it asked for (the
                # outbox is drained, or another relay leads). Counting rows read, not delivered: a
                # full batch with a refused row leaves a backlog, and rows sent one at a time to find
                # the refused one are batches of the one row asked.
                if self._drained:
                    self._commits.wait(self.poll_interval, self.stop_event)
        finally:
            if self._producer is not None:
                self._producer.flush(10)
            self._commits.close()
            connection.close()
            logger.info("outbox relay stopped")

    def publish_batch(self) -> int:
        """Publish one batch of the oldest scheduled rows; return how many were acknowledged."""
        with transaction.atomic():
            self._drained = True
            if not self._lead():
                self._alone = 0  # the leader finds the refused row now
                return 0
            size = 1 if self._alone > 0 else self.batch_size
            with connection.cursor() as cursor:
                cursor.execute(_SCHEDULED_ROWS, [StatusChoice.SCHEDULE, size])
                rows: list[Row] = cursor.fetchall()
            if not rows:
                self._alone = 0
                return 0
            self._drained = len(rows) < size
            self._alone = max(0, self._alone - 1)
            self._refused_before_sending.clear()
            outcomes = self._produce(rows)
            crash_point("relay.after_produce")
            delivered = [row_id for row_id, error in outcomes.items() if error is None]
            # The client refuses a row on its own before sending it; the broker refuses a whole
            # request, innocent rows with it. So a broker's refusal sets a row aside only when it was
            # sent alone: otherwise the rows are sent again one by one, and the culprit is found.
            refused = {
                row_id: e
                for row_id, e in outcomes.items()
                if e is not None
                and e.code() in REFUSALS
                and (len(rows) == 1 or row_id in self._refused_before_sending)
            }
            if any(e is not None and e.code() in REFUSALS and r not in refused for r, e in outcomes.items()):
                self._alone = len(rows)
            spans.end_sends(self._spans, outcomes, refused)
            with connection.cursor() as cursor:
                if delivered:
                    cursor.execute(_MARK, [StatusChoice.SUCCEEDED, delivered])
                if refused:
                    cursor.execute(_MARK, [StatusChoice.FAILED, list(refused)])
            OUTBOX_PUBLISHED.inc(len(delivered))
            _report_refused(rows, refused)
        failed = {row_id: e for row_id, e in outcomes.items() if e is not None and row_id not in refused}
        self._unacknowledged = (self._unacknowledged - outcomes.keys()) | failed.keys()
        if failed:
            raise RelayDeliveryError(
                f"{len(failed)} of {len(rows)} rows not acknowledged: {next(iter(failed.values()))}"
            )
        return len(delivered)

    def _lead(self) -> bool:
        with connection.cursor() as cursor:
            # Sorting is off for this transaction so the batch is read in order from the partial index
            # on scheduled rows: with stale statistics (a backlog that grew since the last ANALYZE),
            # PostgreSQL otherwise reads and sorts every scheduled row for each batch (270 ms instead
            # of 4 ms at 100,000 rows).
            # Its commit does not wait for the disk (synchronous_commit off): all it writes is which
            # rows the broker acknowledged, and if PostgreSQL itself crashes before that reaches the
            # disk (at most three wal_writer_delay later) the rows are published again, which the
            # consumers' inboxes skip. At low load this was a flush per message, on the path of the
            # next batch.
            cursor.execute(
                "SET LOCAL enable_sort = off; SET LOCAL synchronous_commit = off; "
                "SELECT pg_try_advisory_xact_lock(%s)",
                [RELAY_LOCK_KEY],
            )
            (locked,) = cursor.fetchone()
        return bool(locked)

    def _produce(self, rows: list[Row]) -> dict[str, KafkaError | None]:
        spans.end_sends(self._spans, {}, ())  # those of a batch that failed before it was settled
        producer = self._get_producer()
        outcomes: dict[str, KafkaError | None] = {}

        def on_delivery(row_id: str) -> Any:
            def record(error: KafkaError | None, _message: Message) -> None:
                outcomes[row_id] = error

            return record

        for row in rows:
            row_id, destination = row[0], row[1]
            try:
                key, value, sent_headers = _outgoing(row)
            except ValueError as exc:  # a raw row that holds no record: set aside, never retried
                outcomes[row_id] = KafkaError(KafkaError._INVALID_ARG, str(exc))
                self._refused_before_sending.add(row_id)
                continue
            span, sent_headers = spans.start_send(
                row_id, destination, key, sent_headers, raw=row[4], again=row_id in self._unacknowledged
            )
            if span is not None:
                self._spans[row_id] = span
            while True:
                try:
                    producer.produce(
                        destination,
                        value=value,
                        key=key,
                        headers=sent_headers,
                        on_delivery=on_delivery(row_id),
                    )
                    break
                except BufferError:  # local queue full: let deliveries drain, then try again
                    producer.poll(0.1)
                except KafkaException as exc:  # refused before sending (too large, say): no delivery report
                    outcomes[row_id] = exc.args[0]
                    self._refused_before_sending.add(row_id)
                    break
        while len(outcomes) < len(rows):
            producer.flush(1.0)
        if any(error is not None and error.code() not in REFUSALS for error in outcomes.values()):
            # Start the retry with a fresh producer (a new producer id): after delivery timeouts the
            # old one may be fenced by the broker (Tansu does so after a pause, for good), and a new
            # id also rules out its stale sequence numbers reordering what is retried.
            self._producer = None
        return outcomes

    def _get_producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self._producer_config)
        return self._producer


def _outgoing(row: Row) -> tuple[Any, Any, list[tuple[str, str | bytes | None]]]:
    """The key, value and headers a row goes out with (a raw row's: its record; ValueError if none)."""
    _row_id, _destination, body, order_id, raw, *values = row
    if raw:
        key, value, headers = record_from_text(body)
        return key, value, [*headers]
    # str values go out as UTF-8: the client encodes them, faster than .encode() here
    return order_id, body, [(n, v) for n, v in zip(KAFKA_HEADERS, values, strict=True) if v is not None]


def _report_refused(rows: list[Row], refused: dict[str, KafkaError]) -> None:
    for row_id, destination, body, order_id, *_ in rows:
        error = refused.get(row_id)
        if error is not None:
            logger.error(
                "outbox row %s (%s bytes for %s, order %s) refused for good and set aside: %s",
                row_id,
                len(body),
                destination,
                order_id,
                error,
            )
            OUTBOX_REFUSED.labels(error.name()).inc()
