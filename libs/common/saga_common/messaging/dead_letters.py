"""Record a message the consumer gives up on in this service's database, for an operator to act on.

The consumer calls ``record_dead_letter`` before it sends the same record to ``<topic>.dlq``. The row
keeps the record byte for byte (``saga_common.messaging.records``), so a replay is the very message
that failed. Recording is idempotent on (topic, partition, offset): when the worker dies between this
row and its offset commit, the record is delivered again, fails again and finds its row.
"""

import logging

from confluent_kafka import Message as KafkaMessage
from confluent_kafka import Producer

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.kafka import dlq_name, producer_config
from saga_common.messaging.records import headers_to_json, raw_headers
from saga_common.models import DeadLetter

logger = logging.getLogger(__name__)


class DeadLetterUnavailable(Exception):
    """The dead-letter topic did not acknowledge; keep the message and try again."""


class DeadLetterTopic:
    """Send a record the consumer gave up on to ``<topic>.dlq``, with why, and wait for the ack."""

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id
        self._producer: Producer | None = None

    def send(self, kafka_message: KafkaMessage, error: Exception, attempts: int) -> None:
        topic = kafka_message.topic() or "unknown"
        if self._producer is None:
            self._producer = Producer(producer_config())
        headers = [
            *(kafka_message.headers() or []),
            ("dlq-error", repr(error)[:1000].encode()),
            ("dlq-attempts", str(attempts).encode()),
            ("dlq-source", f"{topic}/{kafka_message.partition()}/{kafka_message.offset()}".encode()),
            ("dlq-consumer-group", self.group_id.encode()),
        ]
        self._producer.produce(
            dlq_name(topic), value=kafka_message.value(), key=kafka_message.key(), headers=headers
        )
        if self._producer.flush(30):
            raise DeadLetterUnavailable(f"{dlq_name(topic)} did not acknowledge")

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(10)


def record_dead_letter(kafka_message: KafkaMessage, error: Exception, attempts: int) -> bool:
    """Keep ``kafka_message`` as a PENDING dead letter; return False if it was already kept."""
    headers = raw_headers(kafka_message.headers())
    message_id, message_type = _identity(kafka_message, headers)
    letter = DeadLetter(
        topic=kafka_message.topic() or "unknown",
        partition=kafka_message.partition() or 0,
        offset=kafka_message.offset() or 0,
        message_id=message_id,
        message_type=message_type,
        key=_as_bytes(kafka_message.key()),
        headers=headers_to_json(headers),
        payload=kafka_message.value(),
        error=_text(repr(error), 4000),
        attempts=attempts,
    )
    # ON CONFLICT DO NOTHING on the (topic, partition, offset) constraint: a redelivery adds no row.
    created = DeadLetter.objects.bulk_create([letter], ignore_conflicts=True)
    return DeadLetter.objects.filter(id=created[0].id).exists()


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
