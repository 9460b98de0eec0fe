"""The saga's history, written with the engine call that made it.

Every engine entry point runs in ``engine_call()``: its own transaction, or part of the caller's (the
inbox's). The events it records are kept in a context variable and written in one INSERT when it
ends, rather than one INSERT each.
"""

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from saga_common.messaging.envelope import Envelope
from saga_common.sagas.models import SagaEvent, SagaInstance

_journal: contextvars.ContextVar[list[SagaEvent] | None] = contextvars.ContextVar("journal", default=None)


@contextmanager
def engine_call(*, savepoint: bool = False) -> Iterator[None]:
    """One engine call, in one transaction, its events written together at its end.

    Messages are handled without a savepoint (two round trips fewer): an error anywhere rolls back the
    caller's whole transaction, which is what the inbox wants (it then retries message by message).
    Operator actions and the deadline sweep keep one, so a refused action or one saga that cannot move
    leaves a caller's transaction usable.
    """
    events: list[SagaEvent] = []
    token = _journal.set(events)
    try:
        with transaction.atomic(savepoint=savepoint):
            yield
            SagaEvent.objects.bulk_create(events)
    finally:
        _journal.reset(token)


def record(instance: SagaInstance, event: str, envelope: Envelope | None, detail: str = "") -> None:
    """Add an event to the saga's history (written when the engine call ends)."""
    events = _journal.get()
    if events is None:
        raise RuntimeError("saga events are recorded only inside an engine call (engine_call)")
    events.append(
        SagaEvent(
            saga=instance,
            event=event,
            message_type=envelope.type if envelope else "",
            message_id=envelope.id if envelope else "",
            detail=detail[:500],
        )
    )
