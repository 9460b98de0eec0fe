"""The transactional outbox: record a message in the same transaction as the change it announces.

The table is django-outbox-pattern's ``Published`` model; rows are written here explicitly (not
through its ``@publish`` decorator, which overrides ``Model.save``) and published to Kafka by
``saga_common.relay``. The row's ``body`` is the envelope's JSON value; the Kafka topic is the
row's ``destination`` and the key is the envelope's ``order_id``.
"""

from django.db import connection
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from saga_common.contracts import Message
from saga_common.envelope import Envelope
from saga_common.kafka import topic_name


class OutboxOutsideTransaction(RuntimeError):
    """An outbox row written outside a transaction could be published for a change that never happened."""


def enqueue(envelope: Envelope, topic: str) -> Published:
    """Write ``envelope`` to the outbox, bound for ``topic``; must run inside ``transaction.atomic``."""
    if not connection.in_atomic_block:
        raise OutboxOutsideTransaction("write outbox rows inside transaction.atomic()")
    row = Published(
        id=envelope.id,
        destination=topic_name(topic),
        body=envelope.body(),
        headers=envelope.headers(),
        status=StatusChoice.SCHEDULE,
    )
    row.save(force_insert=True)
    return row


def send(
    message: Message,
    *,
    order_id: str,
    correlation_id: str,
    saga_id: str | None = None,
    causation: Envelope | None = None,
    message_id: str | None = None,
) -> Envelope:
    """Wrap ``message`` in an envelope and enqueue it on the message's own topic."""
    envelope = Envelope.wrap(
        message,
        order_id=order_id,
        correlation_id=correlation_id,
        saga_id=saga_id,
        causation=causation,
        message_id=message_id,
    )
    enqueue(envelope, message.topic)
    return envelope
