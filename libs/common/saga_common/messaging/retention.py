"""Prune the outbox, the inbox and the dead letters so they do not grow forever.

- Outbox rows are deleted once published and older than ``OUTBOX_RETENTION_HOURS``; unpublished rows
  are never deleted, however old.
- Inbox rows are what makes redelivery harmless, so they must outlive every copy of their message:
  ``INBOX_RETENTION_DAYS`` must exceed the topics' retention (``KAFKA_TOPIC_RETENTION_HOURS``); the
  system check ``saga_common.E001`` refuses to start otherwise.
- Dead letters an operator replayed or discarded are deleted ``DEAD_LETTER_RETENTION_DAYS`` after
  they acted; PENDING ones wait for an operator and are never deleted.

``delete_in_batches`` is how every table is pruned (the sagas, the orders' Idempotency-Keys too).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

from saga_common.models import DeadLetter, DeadLetterStatus

logger = logging.getLogger(__name__)

# What an operator dealt with: kept for reference a while, then pruned.
HANDLED_DEAD_LETTERS = (DeadLetterStatus.REPLAYED, DeadLetterStatus.DISCARDED)


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int


def prune_messages(*, now: datetime | None = None, batch_size: int = 5000) -> Pruned:
    """Delete expired outbox and inbox rows in batches (short transactions, no long locks)."""
    now = now or timezone.now()
    outbox = delete_in_batches(
        Published._meta.db_table,
        "status = %s AND added < %s",
        [StatusChoice.SUCCEEDED, now - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)],
        batch_size,
    )
    inbox = delete_in_batches(
        Received._meta.db_table,
        "added < %s",
        [now - timedelta(days=settings.INBOX_RETENTION_DAYS)],
        batch_size,
    )
    if outbox or inbox:
        logger.info("pruned %d outbox and %d inbox rows", outbox, inbox)
    return Pruned(outbox=outbox, inbox=inbox)


def prune_dead_letters(*, now: datetime | None = None, batch_size: int = 1000) -> int:
    """Delete the dead letters replayed or discarded over ``DEAD_LETTER_RETENTION_DAYS`` ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.DEAD_LETTER_RETENTION_DAYS)
    deleted = delete_in_batches(
        DeadLetter._meta.db_table,
        "status IN %s AND acted_at < %s",
        [HANDLED_DEAD_LETTERS, cutoff],
        batch_size,
    )
    if deleted:
        logger.info("pruned %d dead letters replayed or discarded before %s", deleted, cutoff.isoformat())
    return deleted


def delete_in_batches(
    table: str,
    where: str,
    params: list[Any],
    batch_size: int,
    *,
    children: Sequence[tuple[str, str]] = (),
) -> int:
    """Delete the rows of ``table`` (keyed by ``id``) that match ``where``, ``batch_size`` at a time,
    each batch a short transaction of its own (no long locks, no huge transaction); return how many.

    ``children`` are (table, foreign key column) pairs whose rows referring to a deleted row go in the
    same statement: Django's ``on_delete=CASCADE`` is Django's, the database's foreign keys do not
    cascade. Rows another transaction holds are skipped, for the next run: pruning never waits.
    """
    doomed = f"SELECT id FROM {table} WHERE {where} LIMIT %s FOR UPDATE SKIP LOCKED"
    cascades = "".join(
        f", gone_{i} AS (DELETE FROM {child} WHERE {column} IN (SELECT id FROM doomed))"
        for i, (child, column) in enumerate(children)
    )
    statement = f"WITH doomed AS ({doomed}){cascades} DELETE FROM {table} WHERE id IN (SELECT id FROM doomed)"
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [*params, batch_size])
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total
