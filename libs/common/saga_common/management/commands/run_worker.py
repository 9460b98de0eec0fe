from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from saga_common.worker import run_worker


class Command(BaseCommand):
    help = "Run this service's outbox relay and inbox consumer until SIGTERM (or only one with --only)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--only", choices=["relay", "consumer"], help="run just one of the two loops")

    def handle(self, *args: Any, **options: Any) -> None:
        only = options["only"]
        run_worker(relay=only in (None, "relay"), consumer=only in (None, "consumer"))
