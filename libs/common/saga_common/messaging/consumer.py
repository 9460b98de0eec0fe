"""The inbox consumer: consume this service's topics and apply each message once (``inbox``).

For every message the consumer, in one transaction, records the message id in django-outbox-pattern's
``Received`` table (``INSERT ... ON CONFLICT DO NOTHING``) and runs the handler registered for the
message type; a redelivered id inserts nothing and the handler is skipped. Offsets are committed to
Kafka only after that transaction committed (stored, then committed every second by librdkafka), so a
crash in between means a redelivery, which the inbox absorbs.

What the consumer has fetched is applied as one batch: one transaction (one commit, one inbox
INSERT, one outbox INSERT, and the partitions' progress) for all its messages, in order, inside the
service's batch scope if it has one (the orchestrator's loads and writes its sagas set-based). If
anything in the batch fails, that transaction rolls back as a whole and its messages are handled one
by one, each in its own transaction, as described next; so a batch never applies half, and a failing
message costs only its own retries.

Failures are sorted into two kinds:
- retryable (the database is unreachable): retried with backoff, without limit, never dead-lettered;
- terminal (unparseable message, unknown type, handler raising): the transaction rolls back the effect
  and the inbox row; after ``INBOX_MAX_ATTEMPTS`` the message is kept as a dead letter in this
  service's database (``saga_common.messaging.dead_letters``: an operator replays or discards it), goes
  to ``<topic>.dlq`` with the error, and the consumer moves on.
"""

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka import Message as KafkaMessage
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from saga_common.messaging import spans
from saga_common.messaging.dead_letters import DeadLetterTopic, DeadLetterUnavailable, record_dead_letter
from saga_common.messaging.envelope import Envelope, EnvelopeError
from saga_common.messaging.inbox import BatchScope, Handler, HandlerRegistry, handle_batch, handle_once
from saga_common.messaging.kafka import (
    consumer_config,
    offsets_probe_config,
    topic_name,
    wait_for_topics,
)
from saga_common.messaging.polling import Assignments, Rejoins, next_batch, store_offset
from saga_common.messaging.progress import (
    progress_after,
    record_after_batch,
    record_with_batch,
    topic_partitions,
)
from saga_common.observability.metrics import INBOX_MESSAGES

logger = logging.getLogger(__name__)


class ConsumerFailed(RuntimeError):
    """The Kafka consumer reported a fatal error: it cannot consume again, the worker must restart."""


_RETRYABLE = (OperationalError, InterfaceError)


class NoHandler(Exception):
    """A message on one of our topics that no handler here takes: a contract mismatch."""


class InboxConsumer:
    """Consume this service's topics and dispatch each message to its handler, once."""

    def __init__(
        self,
        handlers: HandlerRegistry,
        *,
        group_id: str | None = None,
        stop_event: threading.Event | None = None,
        max_attempts: int | None = None,
        consumer_overrides: dict[str, object] | None = None,
        batch_scope: BatchScope | None = None,
    ) -> None:
        self.handlers = {cls.type_name(): handler for cls, handler in handlers.items()}
        self.topics = sorted({topic_name(cls.topic) for cls in handlers})
        self.group_id = group_id or settings.KAFKA_CONSUMER_GROUP
        self.stop_event = stop_event or threading.Event()
        self.max_attempts = max_attempts or settings.INBOX_MAX_ATTEMPTS
        self._consumer_config = consumer_config(self.group_id, **(consumer_overrides or {}))
        self._dlq = DeadLetterTopic(self.group_id)
        self.batch_scope = batch_scope

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Consume until stopped. Offsets of handled messages are stored after each batch (and committed
        every ``KAFKA_AUTO_COMMIT_INTERVAL_MS``, in a rebalance and on close). A consumer
        fenced for good is replaced, up to ``INBOX_FENCED_REJOINS`` times in ten minutes (settings)."""
        wait_for_topics(self.topics)
        rejoins = Rejoins(settings.INBOX_FENCED_REJOINS)
        while True:
            try:
                self._consume()
                return
            except ConsumerFailed as failure:
                if self.stop_event.is_set():
                    return
                if not rejoins.allow():
                    raise
                # After a session's length: a member fenced by another process under its id (a
                # misconfiguration) then does not fence it straight back.
                backoff = settings.KAFKA_SESSION_TIMEOUT_MS / 1000
                logger.warning("%s; rejoining with a new consumer in %.0fs (%s)", failure, backoff, rejoins)
                if self.stop_event.wait(backoff):
                    return

    def _consume(self) -> None:
        consumer = Consumer(self._consumer_config)
        # Where the partitions end is asked on connections of its own (kafka.offsets_probe_config).
        ends_probe = Consumer(offsets_probe_config(self.group_id))
        try:
            self._consume_with(consumer, ends_probe)
        finally:
            try:
                consumer.close()
            except KafkaException as exc:  # a fenced consumer may refuse to leave: it is gone anyway
                logger.info("closing the consumer: %s", exc)
            ends_probe.close()
            self._dlq.close()
            connection.close()
            logger.info("inbox consumer %s stopped", self.group_id)

    def _consume_with(self, consumer: Consumer, ends_probe: Consumer) -> None:
        """Batches until stopped; ``_consume`` closes the clients."""
        partitions = topic_partitions(consumer, self.topics)
        positions: dict[tuple[str, int], int] = {}  # the next offset to handle, per owned partition

        assignments = Assignments(consumer, self.topics, partitions, positions)
        consumer.subscribe(
            self.topics,
            on_assign=assignments.on_assign,
            on_revoke=assignments.on_revoke,
            on_lost=assignments.on_revoke,
        )
        logger.info("inbox consumer %s subscribed to %s", self.group_id, self.topics)
        last_ends_check = 0.0
        while not self.stop_event.is_set():
            batch = next_batch(consumer, settings.INBOX_BATCH_SIZE)
            assignments.read_positions()  # before the batch is handled: its progress needs them
            # The partitions' ends are asked of the broker at most once an interval, and only when
            # nothing fetched is left over (the batch was not cut at its size limit).
            check_ends = (
                len(batch) < settings.INBOX_BATCH_SIZE
                and time.monotonic() - last_ends_check >= settings.INBOX_PROGRESS_IDLE_INTERVAL_SECONDS
            )
            handled: list[KafkaMessage] = []
            progress_recorded = False
            if batch:
                # Unless the broker is to be asked, the batch's progress is written in the batch's
                # own transaction (no commit of its own); the positions move once that committed.
                moved = dict(positions)
                with_batch = (
                    None
                    if check_ends
                    else partial(record_with_batch, self.group_id, consumer, batch, moved, partitions)
                )
                if self.process_together(batch, before_commit=with_batch):
                    handled = [m for m in batch if store_offset(consumer, m)]
                    if with_batch is not None:
                        positions.update(moved)
                        progress_recorded = True
                else:
                    for kafka_message in batch:
                        if not self.process(kafka_message):
                            break  # stopping in the middle of a retry: leave the rest for redelivery
                        if store_offset(consumer, kafka_message):
                            handled.append(kafka_message)
            if not progress_recorded and len(handled) == len(batch) and (batch or check_ends):
                record_after_batch(
                    self.group_id,
                    progress_after(ends_probe, handled, positions, check_ends=check_ends),
                    partitions,
                )
                if check_ends:
                    last_ends_check = time.monotonic()

    def process_together(
        self, batch: list[KafkaMessage], *, before_commit: Callable[[], None] | None = None
    ) -> bool:
        """Apply the whole batch in one transaction; False if anything in it failed (nothing applied).

        Only the common case takes this path: a batch with a consumer error, an unparseable message
        or an unknown type goes straight to ``process``, message by message.
        """
        work: list[tuple[Envelope, Handler]] = []
        for kafka_message in batch:
            if kafka_message.error() is not None:
                return False
            try:
                envelope = Envelope.from_kafka(
                    kafka_message.key(), kafka_message.value(), kafka_message.headers()
                )
            except Exception:  # whatever it is, the message-by-message path deals with it
                return False
            handler = self.handlers.get(envelope.type)
            if handler is None:
                return False
            work.append((envelope, handler))
        try:
            outcomes = handle_batch(work, scope=self.batch_scope, before_commit=before_commit)
        except Exception as exc:
            if isinstance(exc, _RETRYABLE):
                connection.close()
            logger.info("a batch of %d failed as a whole (%r); one by one now", len(work), exc)
            return False
        for kafka_message, handled in zip(batch, outcomes, strict=True):
            INBOX_MESSAGES.labels(kafka_message.topic(), "handled" if handled else "duplicate").inc()
        return True

    def process(self, kafka_message: KafkaMessage) -> bool:
        """Handle one Kafka message to the end (done, duplicate or dead-lettered); False if stopped first."""
        error = kafka_message.error()
        if error is not None:
            if error.fatal() or error.code() == KafkaError._FATAL:
                # The consumer is dead for good (Apache Kafka fences a static member when another one
                # joins with the same group.instance.id): polling on would consume nothing for ever.
                # run() replaces it, or stops the worker loudly for its supervisor to restart.
                raise ConsumerFailed(f"the consumer of group {self.group_id} failed for good: {error}")
            if error.code() != KafkaError._PARTITION_EOF:
                logger.warning("consumer error: %s", error)
            return True
        attempts = 0
        failure: Exception | None = None
        backoff = 0.05
        while not self.stop_event.is_set():
            try:
                if failure is not None and (_is_poison(failure) or attempts >= self.max_attempts):
                    self.dead_letter(kafka_message, failure, attempts)
                    INBOX_MESSAGES.labels(kafka_message.topic(), "dead_lettered").inc()
                    return True
                envelope = Envelope.from_kafka(
                    kafka_message.key(), kafka_message.value(), kafka_message.headers()
                )
                handler = self.handlers.get(envelope.type)
                if handler is None:
                    raise NoHandler(f"no handler for {envelope.type!r} in {self.group_id}")
                handled = handle_once(envelope, handler, scope=self.batch_scope)
                INBOX_MESSAGES.labels(kafka_message.topic(), "handled" if handled else "duplicate").inc()
                return True
            except (*_RETRYABLE, DeadLetterUnavailable) as exc:
                logger.warning("retrying in %.2fs: %r", backoff, exc)
                connection.close()
            except Exception as exc:
                attempts += 1
                failure = exc
                if _is_poison(exc):
                    continue
                logger.warning("handler failed (attempt %d of %d): %r", attempts, self.max_attempts, exc)
            self.stop_event.wait(backoff)
            backoff = min(backoff * 2, 5.0)
        return False

    def dead_letter(self, kafka_message: KafkaMessage, error: Exception, attempts: int) -> None:
        """Keep the message as a dead letter in the database, then send it, with why it failed, to
        ``<topic>.dlq``; wait for the broker's ack. The row comes first: a crash in between means a
        redelivery, which records nothing twice and sends the copy then."""
        with spans.dead_lettering(kafka_message, error, attempts):
            logger.error(
                "dead-lettering %s[%s]@%s after %d attempt(s): %r",
                kafka_message.topic(),
                kafka_message.partition(),
                kafka_message.offset(),
                attempts,
                error,
            )
            try:
                record_dead_letter(kafka_message, error, attempts)
            except _RETRYABLE:
                raise  # the database is away: the consumer retries, the message is not lost
            except Exception:  # never loop on a row that cannot be written: the .dlq copy still keeps it
                logger.exception(
                    "dead letter %s[%s]@%s not recorded",
                    kafka_message.topic(),
                    kafka_message.partition(),
                    kafka_message.offset(),
                )
            self._dlq.send(kafka_message, error, attempts)


def _is_poison(error: Exception) -> bool:
    """A message that can never succeed, however often it is retried."""
    return isinstance(error, EnvelopeError | NoHandler)
