import json
from argparse import ArgumentParser
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand

from saga_common.monitoring import messaging_status
from saga_common.storage import table_sizes
from saga_common.worker import message_handlers


class Command(BaseCommand):
    help = (
        "Show the outbox backlog (and its oldest row's age), the consumer lag, the dead letters and the "
        "tables' sizes."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        status, tables = messaging_status(message_handlers()), table_sizes()
        if options["json"]:
            self.stdout.write(json.dumps({**status.as_dict(), "tables": [asdict(t) for t in tables]}))
            return
        age = status.outbox_oldest_age_seconds
        self.stdout.write(
            f"outbox: {status.outbox_backlog} unpublished"
            + (f", oldest {age:.1f}s old" if age is not None else "")
            + (f", {status.outbox_refused} refused and set aside" if status.outbox_refused else "")
        )
        for topic, lag in status.consumer_lag.items():
            self.stdout.write(f"consumer lag {topic}: {lag}")
        for topic, depth in status.dead_letters.items():
            self.stdout.write(f"dead letters {topic}: {depth}")
        for table in tables:
            rows = f"~{table.rows} rows" if table.rows is not None else "never analysed"
            self.stdout.write(f"table {table.table}: {rows}, {table.bytes} bytes")
