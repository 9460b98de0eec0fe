"""Who may connect to the Apache Kafka devstack runs, and as whom (docs/kafka.md, "Who may do what").

Clients authenticate with SASL/SCRAM-SHA-512 on the broker listener: one user per service, which the
``grant_broker_access`` command creates with ACLs for just what the contract lets it do, and ``admin``,
the one super user (devstack, the tests, the benchmarks, and the nodes among themselves). SCRAM keeps
passwords off the wire and out of the broker (it stores salted keys), needs no certificates to mint and
rotate, and is what managed Kafka services offer; mTLS would also encrypt, which loopback does not need
(docs/kafka.md says what production adds). The admin's SCRAM key is written into the log directory when
it is formatted (KIP-900): the nodes replicate as admin before any user could be created over the wire.
The controller listener uses PLAIN with the admin alone: SCRAM keys live in the metadata the controllers
serve, so they cannot authenticate the controllers themselves.

Apache Kafka only: Tansu (``BROKER=tansu``) runs without authentication.
"""

import os
from typing import Any

from devstack import broker_kind
from devstack.local_keys import broker_passwords
from saga_common.messaging.access import password_variable
from saga_common.messaging.kafka import security_config

ADMIN = "admin"
MECHANISM = "SCRAM-SHA-512"
PROTOCOL = "SASL_PLAINTEXT"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def enabled() -> bool:
    return broker_kind.kind() == "kafka"


def admin_password() -> str:
    return broker_passwords()[ADMIN]


def server_settings(password: str) -> dict[str, str]:
    """The node's listeners, SASL and authorizer (its listener addresses are set by devstack.kafka)."""
    scram = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN}" password="{password}";'
    )
    plain = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{ADMIN}" password="{password}" user_{ADMIN}="{password}";'
    )
    return {
        "listener.security.protocol.map": f"BROKER:{PROTOCOL},CONTROLLER:{PROTOCOL}",
        "inter.broker.listener.name": "BROKER",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.broker.sasl.enabled.mechanisms": MECHANISM,
        "listener.name.broker.scram-sha-512.sasl.jaas.config": scram,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain,
        "authorizer.class.name": AUTHORIZER,
        "super.users": f"User:{ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
    }


def format_options(password: str) -> list[str]:
    """The storage tool's options that put the admin's SCRAM key in a new log directory."""
    return ["--add-scram", f"{MECHANISM}=[name={ADMIN},password={password}]"]


def admin_environment(password: str | None = None) -> dict[str, str]:
    """The settings (saga_common's names) of a client acting as the broker's administrator: devstack
    itself, the tests, the benchmarks. What this shell sets wins (another broker, other credentials)."""
    chosen = _user_environment(ADMIN, password or admin_password()) if enabled() else UNAUTHENTICATED
    return {name: os.environ.get(name) or value for name, value in chosen.items()}


def service_environment(service: str) -> dict[str, str]:
    """The settings of ``service``'s processes: its own user, and no other's password."""
    return _user_environment(service, broker_passwords()[service]) if enabled() else dict(UNAUTHENTICATED)


UNAUTHENTICATED = {"KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}  # Tansu's clients


def _user_environment(user: str, password: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY_PROTOCOL": PROTOCOL,
        "KAFKA_SASL_MECHANISM": MECHANISM,
        "KAFKA_SASL_USERNAME": user,
        "KAFKA_SASL_PASSWORD": password,
    }


def grant_environment() -> dict[str, str]:
    """What ``manage.py grant_broker_access`` needs: the admin's settings and every service's password."""
    passwords = broker_passwords()
    return {
        **admin_environment(passwords[ADMIN]),
        **{password_variable(user): password for user, password in passwords.items() if user != ADMIN},
    }


def client_config(bootstrap: str) -> dict[str, Any]:
    """librdkafka's settings for a tool's client: the admin's."""
    return {"bootstrap.servers": bootstrap, **security_config(admin_environment())}
