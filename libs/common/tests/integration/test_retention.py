"""Pruning the outbox, the inbox and the dead letters an operator dealt with, and the checks that keep
the inbox and the sagas longer than the topics."""

import uuid
from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received
from pytest_django.fixtures import Settings

from saga_common.messaging.retention import prune_dead_letters, prune_messages
from saga_common.models import DeadLetter, DeadLetterStatus

pytestmark = pytest.mark.django_db


def outbox_row(name: str, status: int, age: timedelta) -> None:
    row = Published.objects.create(destination="t", body={"name": name}, status=status)
    Published.objects.filter(id=row.id).update(added=timezone.now() - age)


def inbox_row(name: str, age: timedelta) -> None:
    row = Received.objects.create(msg_id=name, body={})
    Received.objects.filter(id=row.id).update(added=timezone.now() - age)


def dead_letter(name: str, status: DeadLetterStatus, acted: timedelta | None, received: timedelta) -> None:
    now = timezone.now()
    DeadLetter.objects.create(
        topic="orders.commands",
        partition=0,
        offset=DeadLetter.objects.count(),
        identity=f"id:{uuid.uuid4()}",
        message_id=name,
        error="HandlerBroke()",
        attempts=5,
        received_at=now - received,
        status=status,
        acted_by="op" if acted is not None else None,
        acted_at=now - acted if acted is not None else None,
    )


def test_prunes_only_published_outbox_rows_and_inbox_rows_past_their_retention(
    settings: Settings,
) -> None:
    settings.OUTBOX_RETENTION_HOURS, settings.INBOX_RETENTION_DAYS = 24, 14
    outbox_row("old published", StatusChoice.SUCCEEDED, timedelta(hours=25))
    outbox_row("new published", StatusChoice.SUCCEEDED, timedelta(hours=23))
    outbox_row("old unpublished", StatusChoice.SCHEDULE, timedelta(days=30))
    inbox_row("old", timedelta(days=15))
    inbox_row("new", timedelta(days=13))
    pruned = prune_messages(batch_size=1)  # batches of one: the loop must go on until done
    assert (pruned.outbox, pruned.inbox) == (1, 1)
    assert sorted(Published.objects.values_list("body__name", flat=True)) == [
        "new published",
        "old unpublished",
    ]
    assert list(Received.objects.values_list("msg_id", flat=True)) == ["new"]


def test_an_inbox_retention_shorter_than_the_topics_is_refused(settings: Settings) -> None:
    settings.INBOX_RETENTION_DAYS, settings.KAFKA_TOPIC_RETENTION_HOURS = 7, 7 * 24
    assert [m.id for m in run_checks()] == ["saga_common.E001"]
    settings.INBOX_RETENTION_DAYS = 8
    assert run_checks() == []


def test_prunes_dead_letters_an_operator_dealt_with_past_their_retention_never_pending_ones(
    settings: Settings,
) -> None:
    settings.DEAD_LETTER_RETENTION_DAYS = 30
    old, recent = timedelta(days=31), timedelta(days=29)
    dead_letter("old replayed", DeadLetterStatus.REPLAYED, acted=old, received=old)
    dead_letter("old discarded", DeadLetterStatus.DISCARDED, acted=old, received=old)
    dead_letter("recent replayed", DeadLetterStatus.REPLAYED, acted=recent, received=timedelta(days=90))
    dead_letter("recent discarded", DeadLetterStatus.DISCARDED, acted=timedelta(hours=1), received=old)
    dead_letter("old pending", DeadLetterStatus.PENDING, acted=None, received=timedelta(days=365))
    # batches of one: the loop must go on until done
    assert prune_dead_letters(batch_size=1) == 2
    assert sorted(str(name) for name in DeadLetter.objects.values_list("message_id", flat=True)) == [
        "old pending",
        "recent discarded",
        "recent replayed",
    ]


def test_a_saga_retention_shorter_than_the_topics_is_refused(settings: Settings) -> None:
    """A reply may come as late as the topics keep it: its saga must still be there to take it (a
    step that succeeded after the saga gave up on it is undone then)."""
    settings.SAGA_RETENTION_DAYS, settings.KAFKA_TOPIC_RETENTION_HOURS = 7, 7 * 24
    assert [m.id for m in run_checks()] == ["saga_common.E005"]
    settings.SAGA_RETENTION_DAYS = 8
    assert run_checks() == []
