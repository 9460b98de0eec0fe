from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from saga_common.messaging.access import grant_access, passwords_from_environment, topic_access, users


class Command(BaseCommand):
    help = (
        "Create each service's user on the broker (SASL/SCRAM-SHA-512, passwords from KAFKA_PASSWORD_<USER>) "
        "and the ACLs the contract calls for; run as the broker's administrator. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.KAFKA_SECURITY_PROTOCOL.upper().startswith("SASL"):
            self.stdout.write("nothing to grant: these settings use a broker that authenticates no one")
            return
        granted = grant_access(passwords_from_environment(users(topic_access())))
        for grant in granted:
            self.stdout.write(f"User:{grant.user} {grant.operation} {grant.resource} {grant.name}")
        self.stdout.write(f"broker access granted ({len(granted)} ACLs)")
