from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.utils import autoreload

from saga_common.checks import refuse_to_start_if_misconfigured
from saga_common.worker import run_worker

LOOPS = ("relay", "consumer", "housekeeping")


class Command(BaseCommand):
    help = "Run this service's outbox relay, inbox consumer and periodic jobs until SIGTERM."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--only", choices=LOOPS, help="run just one of the loops")

    def handle(self, *args: Any, **options: Any) -> None:
        # The command's own checks leave out deployment checks, such as the development keys'.
        try:
            refuse_to_start_if_misconfigured()
        except ImproperlyConfigured as misconfigured:
            raise CommandError(str(misconfigured)) from None  # the message, without a traceback
        only = options["only"]
        loops = {loop: only in (None, loop) for loop in LOOPS}
        if settings.WORKER_AUTORELOAD:  # development: restart on code changes, as runserver does
            autoreload.run_with_reloader(run_worker, **loops)
        else:
            run_worker(**loops)
