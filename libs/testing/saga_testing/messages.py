"""Deliver messages to handlers the way the inbox consumer does, and read what landed in the outbox."""

from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_outbox_pattern.models import Published

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import HandlerRegistry, configured_batch_scope, handle_batch, handle_once
from saga_common.messaging.message import Message
from saga_common.messaging.outbox import RAW_RECORD
from saga_common.messaging.records import record_from_json

SOURCE = "/tests"  # the CloudEvents source of the messages tests send by hand


def outbox_messages() -> list[Envelope]:
    """Every message in this database's outbox, oldest first (a replayed dead letter's as it will go out)."""
    return [
        Envelope.from_kafka(*record_from_json(body))
        if RAW_RECORD in headers
        else Envelope.from_stored(headers, body)
        for headers, body in Published.objects.order_by("added").values_list("headers", "body")
    ]


def wrap(
    message: Message,
    *,
    order_id: str = "o-1",
    correlation_id: str = "corr-1",
    saga_id: str | None = None,
    causation: Envelope | None = None,
    message_id: str | None = None,
) -> Envelope:
    """``message`` in an envelope sent by the tests."""
    return Envelope.wrap(
        message,
        order_id=order_id,
        correlation_id=correlation_id,
        source=SOURCE,
        saga_id=saga_id,
        causation=causation,
        message_id=message_id,
    )


def deliver(
    message: Message, handlers: HandlerRegistry, *, order_id: str = "o-1", saga_id: str = "saga-1"
) -> Envelope:
    """Hand ``message`` to its handler through the inbox; return the one reply it sent."""
    command = wrap(message, order_id=order_id, saga_id=saga_id)
    handle_once(command, handlers[type(message)])
    (reply,) = [m for m in outbox_messages() if m.causation_id == command.id]
    return reply


def deliver_batch(commands: list[Envelope], handlers: HandlerRegistry) -> list[Envelope]:
    """Hand ``commands`` to their handlers through the inbox as one fetched batch, in the service's
    batch scope (``settings.SAGA_BATCH_SCOPE``), as the worker does; return the reply to each."""
    handle_batch([(c, handlers[type(c.message())]) for c in commands], scope=configured_batch_scope())
    replies = {m.causation_id: m for m in outbox_messages()}
    return [replies[c.id] for c in commands]


def deliver_each(commands: list[Envelope], handlers: HandlerRegistry) -> list[Envelope]:
    """The same commands, each in a transaction of its own (the inbox's fallback after a failed batch)."""
    for command in commands:
        handle_once(command, handlers[type(command.message())], scope=configured_batch_scope())
    replies = {m.causation_id: m for m in outbox_messages()}
    return [replies[c.id] for c in commands]


def statements_of(action: Callable[[], object]) -> int:
    """How many SQL statements ``action`` sent to the database."""
    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries)
