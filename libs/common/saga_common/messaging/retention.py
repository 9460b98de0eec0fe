"""Prune the outbox and the inbox so they do not grow forever.

- Outbox rows are deleted once published and older than ``OUTBOX_RETENTION_HOURS``; unpublished rows
  are never deleted, however old.
- Inbox rows are what makes redelivery harmless, so they must outlive every copy of their message:
  ``INBOX_RETENTION_DAYS`` must exceed the topics' retention (``KAFKA_TOPIC_RETENTION_HOURS``); the
  system check ``saga_common.E001`` refuses to start otherwise.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int


def prune_messages(*, now: datetime | None = None, batch_size: int = 5000) -> Pruned:
    """Delete expired outbox and inbox rows in batches (short transactions, no long locks)."""
    now = now or timezone.now()
    outbox = _delete_in_batches(
        Published._meta.db_table,
        "status = %s AND added < %s",
        [StatusChoice.SUCCEEDED, now - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)],
        batch_size,
    )
    inbox = _delete_in_batches(
        Received._meta.db_table,
        "added < %s",
        [now - timedelta(days=settings.INBOX_RETENTION_DAYS)],
        batch_size,
    )
    if outbox or inbox:
        logger.info("pruned %d outbox and %d inbox rows", outbox, inbox)
    return Pruned(outbox=outbox, inbox=inbox)


def _delete_in_batches(table: str, where: str, params: list[Any], batch_size: int) -> int:
    total = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {where} LIMIT %s)",
                [*params, batch_size],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total
