"""The inbox: apply each Kafka message once, in one database transaction with its effect.

In one transaction the inbox records the message id in django-outbox-pattern's ``Received`` table
(``INSERT ... ON CONFLICT DO NOTHING``) and runs the handler registered for the message type; a
redelivered id inserts nothing and the handler is skipped. A fetched batch is applied the same way in
one transaction (one commit, one inbox INSERT, one outbox INSERT) for all its messages, in order
(``handle_batch``). A service may wrap the batch's handlers in a scope of its own (``BatchScope``): the
orchestrator loads every saga the batch addresses up front and writes their changes together at the
end (``saga_common.sagas.unit_of_work``), so a batch costs a handful of statements, not a few per
message.
Each message is handled inside its ``handle <Type>`` span (``saga_common.messaging.spans``), whose
outcome says whether it was handled or dropped as a duplicate.

The loop that consumes topics, commits offsets and dead-letters poison is
``saga_common.messaging.consumer``.
"""

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Received
from opentelemetry import trace
from opentelemetry.trace import Span

from saga_common.faults import crash_point, fail_point
from saga_common.messaging import outbox, spans
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.message import Message
from saga_common.observability.logs import bind

logger = logging.getLogger(__name__)

Handler = Callable[[Envelope], None]
HandlerRegistry = Mapping[type[Message], Handler]
# What a batch's handlers run inside, given the batch's envelopes (in its transaction).
BatchScope = Callable[[Sequence[Envelope]], AbstractContextManager[Any]]

_RECEIVED_ROW = "(%s, %s, %s, %s, %s, %s, 0, %s)"
_INSERT_RECEIVED = f"""
    INSERT INTO {Received._meta.db_table} (id, msg_id, headers, body, added, expires_at, retry, status)
    VALUES {{values}}
    ON CONFLICT (msg_id) DO NOTHING
    RETURNING msg_id
"""


def configured_batch_scope() -> BatchScope | None:
    """The scope a fetched batch's handlers run in, named by ``settings.SAGA_BATCH_SCOPE`` (None: none)."""
    scope: BatchScope | None = import_string(settings.SAGA_BATCH_SCOPE) if settings.SAGA_BATCH_SCOPE else None
    return scope


def bind_message(envelope: Envelope) -> Any:
    """Every log line while the message is handled carries its ids (``saga_common.observability.logs``)."""
    return bind(
        correlation_id=envelope.correlation_id,
        saga_id=envelope.saga_id,
        order_id=envelope.order_id,
        message_id=envelope.id,
        message_type=envelope.type,
    )


def record_received(envelopes: list[Envelope]) -> set[str]:
    """Record the envelopes' ids in the inbox (one INSERT); return the ids that were not there yet."""
    now = timezone.now()
    expires_at = now + timedelta(days=settings.INBOX_RETENTION_DAYS)
    rows = [
        (
            uuid.uuid4(),
            envelope.id,
            json.dumps(envelope.stored_headers()),
            envelope.data.decode("utf-8", "replace"),
            now,
            expires_at,
            StatusChoice.SUCCEEDED,
        )
        for envelope in envelopes
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_RECEIVED.format(values=", ".join([_RECEIVED_ROW] * len(rows))),
            [value for row in rows for value in row],
        )
        return {msg_id for (msg_id,) in cursor.fetchall()}


def handle_batch(
    work: list[tuple[Envelope, Handler]],
    *,
    scope: BatchScope | None = None,
    before_commit: Callable[[], None] | None = None,
) -> list[bool]:
    """Run each message's handler and record every message, all in one transaction, in order.

    A message already in the inbox, or a second copy within the batch, is skipped. The handlers run
    inside ``scope(envelopes)``, and the outbox rows they write go out in one INSERT after it;
    ``before_commit`` runs last, in the same transaction. Returns, for each message, whether it was
    handled (False: a duplicate). Raises if anything raises; then nothing of the batch was applied.
    """
    traced: list[tuple[Span, str]] = []  # each message's span and outcome, ended with the transaction
    envelopes = [envelope for envelope, _ in work]
    try:
        with transaction.atomic():
            fresh = record_received(envelopes)
            with outbox.buffered(), scope(envelopes) if scope else nullcontext():
                outcomes = _run_handlers(work, fresh, traced)
            if before_commit is not None:
                before_commit()
            crash_point("inbox.before_commit")
    except BaseException:
        for span, outcome in traced:  # nothing of the batch was applied
            spans.end_handling(span, "failed" if outcome == "failed" else "rolled_back")
        raise
    for span, outcome in traced:
        spans.end_handling(span, outcome)
    crash_point("inbox.after_commit")
    return outcomes


def _run_handlers(
    work: list[tuple[Envelope, Handler]], fresh: set[str], traced: list[tuple[Span, str]]
) -> list[bool]:
    outcomes = []
    for envelope, handler in work:
        handled = envelope.id in fresh
        fresh.discard(envelope.id)
        span = spans.start_handling(envelope)
        traced.append((span, "failed"))
        with trace.use_span(span), bind_message(envelope):
            if handled:
                fail_point(envelope.type)  # a test-only switch (saga_common.faults); off unless set
                handler(envelope)
            else:
                logger.info("duplicate %s %s ignored", envelope.type, envelope.id)
        traced[-1] = (span, "handled" if handled else "duplicate")
        outcomes.append(handled)
    return outcomes


def handle_once(envelope: Envelope, handler: Handler, *, scope: BatchScope | None = None) -> bool:
    """Run ``handler`` and record the message in one transaction; return False for a duplicate."""
    return handle_batch([(envelope, handler)], scope=scope)[0]
