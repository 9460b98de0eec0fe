from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from saga_common.worker import run_worker

LOOPS = ("relay", "consumer", "housekeeping")


class Command(BaseCommand):
    help = "Run this service's outbox relay, inbox consumer and periodic jobs until SIGTERM."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--only", choices=LOOPS, help="run just one of the loops")

    def handle(self, *args: Any, **options: Any) -> None:
        only = options["only"]
        run_worker(**{loop: only in (None, loop) for loop in LOOPS})
