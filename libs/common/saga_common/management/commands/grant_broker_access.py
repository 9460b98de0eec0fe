from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from saga_common.messaging.access import (
    grant_access,
    groups_from_environment,
    passwords_from_environment,
    topic_access,
    users,
)
from saga_common.messaging.kafka import uses_sasl


class Command(BaseCommand):
    help = (
        "Create each service's user on the broker (SASL/SCRAM-SHA-512, passwords from KAFKA_PASSWORD_<USER>) "
        "and the ACLs the contract calls for (a service's group: <prefix><service>, or "
        "KAFKA_CONSUMER_GROUP_<USER>); run as the broker's administrator. Safe to run again."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not uses_sasl(settings.KAFKA_SECURITY_PROTOCOL):
            self.stdout.write("nothing to grant: these settings use a broker that authenticates no one")
            return
        names = users(topic_access())
        granted = grant_access(passwords_from_environment(names), groups=groups_from_environment(names))
        if options["verbosity"] >= 2:
            for grant in granted:
                self.stdout.write(f"User:{grant.user} {grant.operation} {grant.resource} {grant.name}")
        if options["verbosity"] >= 1:
            self.stdout.write(f"broker access granted ({len(granted)} ACLs)")
