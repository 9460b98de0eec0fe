from typing import Any

from django.core.management.base import BaseCommand

from saga_common.messaging.kafka import all_topic_names, ensure_topics, wait_for_topics


class Command(BaseCommand):
    help = "Create every topic of the system (and its dead-letter topic) that does not exist yet."

    def handle(self, *args: Any, **options: Any) -> None:
        created = ensure_topics()
        wait_for_topics(all_topic_names())
        self.stdout.write(f"topics ready ({len(created)} created)")
