"""Deliver messages to handlers the way the inbox consumer does, and read what landed in the outbox."""

from django_outbox_pattern.models import Published

from saga_common.contracts import Message
from saga_common.envelope import Envelope
from saga_common.inbox import HandlerRegistry, handle_once


def outbox_messages() -> list[Envelope]:
    """Every message in this database's outbox, oldest first."""
    return [
        Envelope.from_body(body)
        for body in Published.objects.order_by("added").values_list("body", flat=True)
    ]


def deliver(
    message: Message, handlers: HandlerRegistry, *, order_id: str = "o-1", saga_id: str = "saga-1"
) -> Envelope:
    """Hand ``message`` to its handler through the inbox; return the one reply it sent."""
    command = Envelope.wrap(message, order_id=order_id, correlation_id="corr-1", saga_id=saga_id)
    handle_once(command, handlers[type(message)])
    (reply,) = [m for m in outbox_messages() if m.causation_id == command.id]
    return reply
