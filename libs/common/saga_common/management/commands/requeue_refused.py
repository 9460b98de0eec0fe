from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published

from saga_common.messaging.commits import notify_relay
from saga_common.messaging.outbox import RAW_RECORD


class Command(BaseCommand):
    help = "Schedule outbox rows the relay set aside as refused (all, or these ids) again, once fixed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("ids", nargs="*", help="outbox row ids (default: every refused row)")

    def handle(self, *args: Any, **options: Any) -> None:
        rows = Published.objects.filter(status=StatusChoice.FAILED)
        if options["ids"]:
            rows = rows.filter(id__in=options["ids"])
        # Rows written before messages were CloudEvents would go out without their key and headers, and
        # every consumer would dead-letter them: leave those where they are. (A replayed dead letter's raw
        # row carries its record's own headers in its body.)
        sendable = Q(headers__has_key="ce_specversion") | Q(headers__has_key=RAW_RECORD)
        old_format = rows.exclude(sendable)
        if old_format.exists():
            self.stdout.write(f"{old_format.count()} rows are in the old envelope format; left as they are")
        with transaction.atomic():
            sent = rows.filter(sendable).update(status=StatusChoice.SCHEDULE)
            notify_relay()  # the trigger only notifies on INSERT; the relay would wait for its poll
        self.stdout.write(f"{sent} rows scheduled again")
