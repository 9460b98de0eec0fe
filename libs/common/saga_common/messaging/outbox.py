"""The transactional outbox: record a message in the same transaction as the change it announces.

The table is django-outbox-pattern's ``Published`` model; rows are written here with one plain
INSERT (not through its ``@publish`` decorator, which overrides ``Model.save``, nor through
``Published.save``, whose header merging costs more than the insert and adds ``dop-*`` headers that
nothing here reads) and published to Kafka by ``saga_common.messaging.relay``. A row is one
CloudEvent as it will go out (``saga_common.messaging.envelope``): its ``body`` is the event's data,
its ``headers`` the Kafka headers plus the key (``partitionkey``, the order id) and the trace context
of the span that wrote it (``traceparent``: the relay's send span is its child), and its
``destination`` the topic.

Inside ``buffered()`` (the inbox's batch) rows are kept in memory and written when it ends, in one
multi-row INSERT, still inside the transaction: a batch's replies or commands cost one statement.

A raw row (``enqueue_raw``) instead carries a Kafka record exactly as it once came, to go out again
byte for byte: an operator's replay of a dead letter. Its body is the record in
``saga_common.messaging.records``' JSON form and its headers mark it (``RAW_RECORD``); the relay sends
the record it holds rather than the body.
"""

import contextvars
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from saga_common.messaging.envelope import PARTITION_KEY, Envelope
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.message import Message
from saga_common.messaging.records import RawRecord, record_to_json
from saga_common.observability import tracing

# The header that marks a raw row (saga_common.messaging.relay reads it); no CloudEvent has it.
RAW_RECORD = "saga-raw-record"

_ROW = "(%s, %s, %s, %s, %s, %s, 0, %s)"
_INSERT_ROWS = f"""
    INSERT INTO {Published._meta.db_table} (id, destination, body, headers, added, expires_at, retry, status)
    VALUES {{rows}}
"""
_buffer: contextvars.ContextVar[list[tuple[Any, ...]] | None] = contextvars.ContextVar(
    "outbox_buffer", default=None
)
# The library's publisher skips expired rows; ours publishes every scheduled row, so this only keeps
# the column as the library fills it (a day after ``added``).
_EXPIRES_AFTER = timedelta(days=1)


class OutboxOutsideTransaction(RuntimeError):
    """An outbox row written outside a transaction could be published for a change that never happened."""


def enqueue(envelope: Envelope, topic: str) -> None:
    """Write ``envelope`` to the outbox, bound for ``topic``; must run inside ``transaction.atomic``."""
    if not connection.in_atomic_block:
        raise OutboxOutsideTransaction("write outbox rows inside transaction.atomic()")
    # The span writing it (a request's, say) is about this order; the row keeps its context (the envelope's).
    tracing.annotate(
        {"order.id": envelope.order_id, **({"saga.id": envelope.saga_id} if envelope.saga_id else {})}
    )
    now = timezone.now()
    row = (
        envelope.id,
        topic_name(topic),
        envelope.data.decode(),
        json.dumps(envelope.stored_headers()),
        now,
        now + _EXPIRES_AFTER,
        StatusChoice.SCHEDULE,
    )
    buffer = _buffer.get()
    if buffer is not None:
        buffer.append(row)
    else:
        _insert([row])


def enqueue_raw(record: RawRecord, destination: str, *, row_id: uuid.UUID) -> None:
    """Write ``record`` to the outbox as it is, bound for ``destination`` (a deployed topic name, taken
    as it is); must run inside ``transaction.atomic``. ``row_id`` is the row's primary key: a caller that
    derives it from what it replays cannot enqueue the same thing twice."""
    if not connection.in_atomic_block:
        raise OutboxOutsideTransaction("write outbox rows inside transaction.atomic()")
    key = record.key.decode("utf-8", "replace").replace("\x00", "") if record.key is not None else None
    now = timezone.now()
    _insert(
        [
            (
                row_id,
                destination,
                json.dumps(record_to_json(record)),
                json.dumps({RAW_RECORD: "1", **({PARTITION_KEY: key} if key else {})}),
                now,
                now + _EXPIRES_AFTER,
                StatusChoice.SCHEDULE,
            )
        ]
    )


@contextmanager
def buffered() -> Iterator[None]:
    """Keep the rows ``enqueue`` writes meanwhile and insert them together when the block ends (not if
    it raises: the transaction they belong to is rolling back). Use it inside ``transaction.atomic``."""
    if _buffer.get() is not None:  # already buffering: the outer block writes them
        yield
        return
    rows: list[tuple[Any, ...]] = []
    token = _buffer.set(rows)
    try:
        yield
    finally:
        _buffer.reset(token)
    if rows:
        _insert(rows)


def _insert(rows: list[tuple[Any, ...]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ROWS.format(rows=", ".join([_ROW] * len(rows))), [value for row in rows for value in row]
        )


def send(
    message: Message,
    *,
    order_id: str,
    correlation_id: str,
    saga_id: str | None = None,
    causation: Envelope | None = None,
    message_id: str | None = None,
) -> Envelope:
    """Wrap ``message`` in an envelope from this service and enqueue it on the message's own topic."""
    envelope = Envelope.wrap(
        message,
        order_id=order_id,
        correlation_id=correlation_id,
        source=event_source(),
        saga_id=saga_id,
        causation=causation,
        message_id=message_id,
    )
    enqueue(envelope, message.topic)
    return envelope


def event_source() -> str:
    """This service as a CloudEvents ``source``: ``/<SERVICE_NAME>``."""
    return f"/{settings.SERVICE_NAME}"
