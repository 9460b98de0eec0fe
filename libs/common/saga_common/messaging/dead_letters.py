"""Record a message the consumer gives up on in this service's database, for an operator to act on.

The consumer calls ``record_dead_letter`` before it sends the same record to ``<topic>.dlq``. The row
keeps the record byte for byte (``saga_common.messaging.records``), so a replay is the very message
that failed. A letter is keyed by its message (``DeadLetter.identity``: a digest of its message id
and bytes where the record has an id, else of its position, timestamp and bytes), never by its
position alone: offsets begin again when a topic is recreated or a memory broker restarts, and a
new poison message at an old offset must still reach the operator. When the worker dies between
this row and its offset commit, the same record is delivered again, fails again and finds its row
unchanged; the same message failing again from another record brings its letter back to PENDING,
counted in ``occurrences``.
"""

import hashlib
import json
import logging
import uuid
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError, KafkaException, Producer
from confluent_kafka import Message as KafkaMessage
from django.db import connection
from django.utils import timezone

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.kafka import dlq_name, producer_config
from saga_common.messaging.records import RawHeaders, headers_to_json, raw_headers
from saga_common.models import DeadLetter
from saga_common.observability.metrics import DEAD_LETTER_COPIES

logger = logging.getLogger(__name__)


class DeadLetterUnavailable(Exception):
    """The dead-letter topic did not answer (the broker is away); keep the message and try again."""


# Broker refusals of a record's size: the copy is sent again with its payload replaced by a reference.
_TOO_LARGE = {KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE}
_REFERENCE_KEY_LIMIT = 1024


class DeadLetterTopic:
    """Send a record the consumer gave up on to ``<topic>.dlq``, with why, and wait for the ack.

    The database row (``record_dead_letter``, written first) is the dead letter an operator acts on;
    the copy is for tools that read topics. So the copy must never hold the consumer up for good: one
    the broker refuses for its size goes again with its payload (and its own headers) replaced by a
    reference to the row; one refused for any other lasting reason is counted and logged. Only a
    broker that does not answer (a retriable error, or no acknowledgement in time) raises
    ``DeadLetterUnavailable``, and the consumer tries again: a copy is never taken as sent unless the
    broker acknowledged it.
    """

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self._producer: Producer | None = None

    def send(self, kafka_message: KafkaMessage, error: Exception, attempts: int) -> None:
        topic = kafka_message.topic() or "unknown"
        source = f"{topic}/{kafka_message.partition()}/{kafka_message.offset()}"
        why = [
            ("dlq-error", repr(error)[:1000].encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-source", source.encode()),
            ("dlq-consumer-group", self.group_id.encode()),
        ]
        key, value = kafka_message.key(), kafka_message.value()
        refused = self._deliver(dlq_name(topic), key, value, [*(kafka_message.headers() or []), *why])
        outcome = "sent"
        if refused is not None and refused.code() in _TOO_LARGE:
            size = len(value or b"") + len(key or b"")
            reference = (
                f"payload of {len(value or b'')} bytes not copied (the broker refused its size): "
                f"the dead letter from {source} in the database of consumer group {self.group_id}"
            )
            trimmed_key = key if key is None or len(key) <= _REFERENCE_KEY_LIMIT else None
            refused = self._deliver(
                dlq_name(topic),
                trimmed_key,
                reference.encode(),
                [*why, ("dlq-trimmed", str(size).encode())],
            )
            outcome = "trimmed"
        if refused is None:
            DEAD_LETTER_COPIES.labels(outcome).inc()
            return
        if refused.fatal() or refused.code() == KafkaError._FATAL:
            # An idempotent producer's fatal error (a fenced or reset producer id) refuses every later
            # copy: start again with a new producer rather than count them all as lost.
            self._producer = None
            raise DeadLetterUnavailable(f"the producer for {dlq_name(topic)} failed for good: {refused}")
        if refused.retriable() or refused.code() in _UNANSWERED:
            raise DeadLetterUnavailable(f"{dlq_name(topic)} did not acknowledge: {refused}")
        DEAD_LETTER_COPIES.labels("lost").inc()
        logger.error(
            "the copy of dead letter %s to %s was refused for good: %s", source, dlq_name(topic), refused
        )

    def _deliver(self, topic: str, key: Any, value: Any, headers: list[Any]) -> KafkaError | None:
        """Produce one record and wait for the broker's answer: None once acknowledged, else why not."""
        if self._producer is None:
            self._producer = Producer(producer_config())
        answers: list[KafkaError | None] = []
        try:
            self._producer.produce(
                topic,
                value=value,
                key=key,
                headers=headers,
                on_delivery=lambda err, _msg: answers.append(err),
            )
        except KafkaException as exc:  # refused before sending (too large for the producer, say)
            return (
                exc.args[0]
                if exc.args and isinstance(exc.args[0], KafkaError)
                else KafkaError(KafkaError._FAIL)
            )
        except BufferError:
            return KafkaError(KafkaError._QUEUE_FULL)
        self._producer.flush(_DELIVERY_WAIT_S)
        if answers:
            return answers[0]
        # Unanswered: drop what is still queued so that a retry does not send a second copy, and use
        # a new producer next time (one that may still deliver the old copy late is not reused).
        self._producer.purge(in_queue=True, in_flight=False)
        self._producer = None
        return KafkaError(KafkaError._MSG_TIMED_OUT)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)


# How long one copy waits for the broker's answer. A copy may take two (the trimmed one after a refusal),
# and the consumer does not poll meanwhile: both must fit well within KAFKA_MAX_POLL_INTERVAL_MS (20 s),
# or the group evicts the worker and another one dead-letters the same record again.
_DELIVERY_WAIT_S = 8.0

# Errors that mean the broker did not answer rather than said no.
_UNANSWERED = {
    KafkaError._MSG_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._QUEUE_FULL,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.NOT_ENOUGH_REPLICAS,
    KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION,
}


_UPSERT = f"""
    INSERT INTO {DeadLetter._meta.db_table} AS d
        (id, topic, partition, "offset", timestamp_ms, identity, occurrences, message_id, message_type,
         key, headers, payload, error, attempts, received_at, status, acted_by, acted_at)
    VALUES (%s, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s, 'PENDING', NULL, NULL)
    ON CONFLICT (topic, identity) DO UPDATE SET
        partition = EXCLUDED.partition, "offset" = EXCLUDED."offset", timestamp_ms = EXCLUDED.timestamp_ms,
        occurrences = d.occurrences + 1, message_type = EXCLUDED.message_type, key = EXCLUDED.key,
        headers = EXCLUDED.headers, payload = EXCLUDED.payload, error = EXCLUDED.error,
        attempts = EXCLUDED.attempts, received_at = EXCLUDED.received_at,
        status = 'PENDING', acted_by = NULL, acted_at = NULL
    -- the very same record again (a redelivery after a crash) changes nothing
    WHERE (d.partition, d."offset", d.timestamp_ms)
        IS DISTINCT FROM (EXCLUDED.partition, EXCLUDED."offset", EXCLUDED.timestamp_ms)
    RETURNING d.id, d.occurrences
"""


def record_dead_letter(kafka_message: KafkaMessage, error: Exception, attempts: int) -> bool:
    """Keep ``kafka_message`` as a PENDING dead letter; False if this very record was already kept."""
    headers = raw_headers(kafka_message.headers())
    message_id, message_type = _identity(kafka_message, headers)
    topic = kafka_message.topic() or "unknown"
    partition, offset = kafka_message.partition() or 0, kafka_message.offset() or 0
    kind, millis = kafka_message.timestamp()
    timestamp_ms = None if kind == TIMESTAMP_NOT_AVAILABLE else millis
    key = _as_bytes(kafka_message.key())
    value = kafka_message.value()
    # The message's id with its bytes (a record that merely copies an id is another letter); a record
    # with no id is told apart by where and when it was, too.
    identity = (
        "id:" + _digest(message_id, key, value, headers)
        if message_id
        else "record:" + _digest(f"{partition}/{offset}/{timestamp_ms}", key, value, headers)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT,
            [
                uuid.uuid4(), topic, partition, offset, timestamp_ms, identity, message_id, message_type,
                key, json.dumps(headers_to_json(headers)), value,
                _text(repr(error), 4000), attempts, timezone.now(),
            ],
        )  # fmt: skip
        written = cursor.fetchone()
    if written is not None and written[1] > 1:
        logger.warning(
            "dead letter %s (%s) failed again: back to PENDING, %d occurrences",
            written[0],
            identity,
            written[1],
        )
    return written is not None


def _digest(name: str, key: bytes | None, value: bytes | None, headers: RawHeaders) -> str:
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass"))
    for part in (key, value, json.dumps(headers_to_json(headers)).encode()):
        digest.update(b"\x00" if part is None else b"\x01%d:" % len(part) + part)
    return digest.hexdigest()


def _identity(
    kafka_message: KafkaMessage, headers: list[tuple[str, bytes | None]]
) -> tuple[str | None, str | None]:
    """The message id and type: the envelope's, or, for a record that is no envelope of ours, what its
    ``ce_id`` and ``ce_type`` headers say (when they are text), so the operator still sees something."""
    try:
        envelope = Envelope.from_kafka(kafka_message.key(), kafka_message.value(), kafka_message.headers())
    except Exception:  # a poison message: whatever is wrong with it, it is still kept
        attributes = dict(headers)
        return _header_text(attributes.get("ce_id"), 100), _header_text(attributes.get("ce_type"), 255)
    return envelope.id, envelope.type


def _header_text(raw: bytes | None, limit: int) -> str | None:
    if raw is None:
        return None
    try:
        return _text(raw.decode("utf-8"), limit) or None
    except UnicodeDecodeError:
        return None


def _text(value: str, limit: int) -> str:
    """Text PostgreSQL stores (no NUL), at most ``limit`` characters."""
    return value.replace("\x00", "\\x00")[:limit]


def _as_bytes(key: bytes | str | None) -> bytes | None:
    return key.encode() if isinstance(key, str) else key
