"""Print every saga definition version the orchestrator runs, described as JSON (no database needed):
what ``make contract-docs`` draws into docs/sagas/ and the README."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from orchestrator.selectors import saga_descriptions


class Command(BaseCommand):
    help = __doc__
    requires_system_checks: list[str] = []  # a documentation tool: no database, no broker

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(saga_descriptions(), indent=2))
