"""Pruning the outbox and the inbox, and the check that keeps the inbox longer than the topics."""

from datetime import timedelta

import pytest
from django.core.checks import run_checks
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published, Received
from pytest_django.fixtures import Settings

from saga_common.messaging.retention import prune_messages

pytestmark = pytest.mark.django_db


def outbox_row(name: str, status: int, age: timedelta) -> None:
    row = Published.objects.create(destination="t", body={"name": name}, status=status)
    Published.objects.filter(id=row.id).update(added=timezone.now() - age)


def inbox_row(name: str, age: timedelta) -> None:
    row = Received.objects.create(msg_id=name, body={})
    Received.objects.filter(id=row.id).update(added=timezone.now() - age)


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
