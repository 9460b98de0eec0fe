from typing import Any

from django.core.management.base import BaseCommand

from saga_common.messaging.retention import prune_messages


class Command(BaseCommand):
    help = (
        "Delete published outbox rows and inbox rows older than their retention (the worker does this too)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        pruned = prune_messages()
        self.stdout.write(f"pruned {pruned.outbox} outbox rows and {pruned.inbox} inbox rows")
