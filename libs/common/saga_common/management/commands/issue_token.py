from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from saga_common.web.auth import CUSTOMER, OPERATOR, mint_token


class Command(BaseCommand):
    help = "Print a bearer token signed with JWT_SIGNING_KEY: for a customer, or with --operator."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("subject", help="the customer id (or the operator's name with --operator)")
        parser.add_argument("--operator", action="store_true", help="an operator token")
        parser.add_argument("--lifetime", type=int, default=3600, help="seconds until it expires")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["lifetime"] <= 0:
            raise CommandError("--lifetime must be positive")
        if settings.JWT_JWKS_URL:
            raise CommandError("JWT_JWKS_URL is set: only the identity provider's tokens are accepted")
        roles = [OPERATOR] if options["operator"] else [CUSTOMER]
        self.stdout.write(
            mint_token(
                settings.SIMPLE_JWT["SIGNING_KEY"],
                options["subject"],
                roles,
                lifetime_seconds=options["lifetime"],
            )
        )
