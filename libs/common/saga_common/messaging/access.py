"""Least privilege on the broker: each service's user, and ACLs for just what the contract lets it do.

The contract's table of who writes and who reads each topic (``WRITERS_AND_READERS`` in the contracts'
``topics`` module, ``<SAGA_CONTRACTS>.topics``) says it all:

- a writer of a topic may WRITE it (and DESCRIBE it: WRITE implies it);
- a reader of a topic may READ it, WRITE its dead-letter topic (``<topic>.dlq``), and WRITE the topic
  itself: an operator's replay of a dead letter puts the record back there through the reader's outbox
  (saga_common.operations.dead_letters). That is no power over anyone else: every topic has one reader,
  the service that would handle the record anyway (``test_every_topic_is_read_by_one_service``);
- each service may READ its consumer group, ``<prefix><service>`` (the services' KAFKA_CONSUMER_GROUP).

Nothing else: a forged command from another service's user is refused by the broker
(TOPIC_AUTHORIZATION_FAILED), and so is every request of a client that did not authenticate. Users are
SASL/SCRAM-SHA-512; their passwords come from ``KAFKA_PASSWORD_<USER>`` (docs/kafka.md).
"""

import importlib
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)
from django.conf import settings

from saga_common.messaging.kafka import common_config, dlq_name

logger = logging.getLogger(__name__)

TopicAccess = Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]  # topic -> (writers, readers)
SCRAM_ITERATIONS = 8192


@dataclass(frozen=True, order=True)
class Grant:
    """One ACL: ``user`` may do ``operation`` on the topic or group ``name``."""

    user: str
    resource: str  # "topic" or "group"
    name: str
    operation: str  # "READ" or "WRITE"


def topic_access() -> TopicAccess:
    """The contracts' table of writers and readers (``<SAGA_CONTRACTS>.topics.WRITERS_AND_READERS``)."""
    module = importlib.import_module(f"{settings.SAGA_CONTRACTS}.topics")
    table: TopicAccess = module.WRITERS_AND_READERS
    return table


def users(table: TopicAccess) -> list[str]:
    return sorted({user for writers, readers in table.values() for user in (*writers, *readers)})


def grants(table: TopicAccess, prefix: str, groups: Mapping[str, str] | None = None) -> list[Grant]:
    """Every ACL the table calls for, with the deployment's topic prefix; each service's consumer group
    is ``<prefix><service>`` (the services' KAFKA_CONSUMER_GROUP default) unless ``groups`` names it."""
    wanted: set[Grant] = set()
    for base, (writers, readers) in table.items():
        topic = f"{prefix}{base}"
        wanted |= {Grant(user, "topic", topic, "WRITE") for user in writers}
        for user in readers:
            wanted |= {
                Grant(user, "topic", topic, "READ"),
                Grant(user, "topic", topic, "WRITE"),  # dead-letter replays
                Grant(user, "topic", dlq_name(topic), "WRITE"),
            }
    named = groups or {}
    wanted |= {Grant(user, "group", named.get(user) or f"{prefix}{user}", "READ") for user in users(table)}
    return sorted(wanted)


def password_variable(user: str) -> str:
    return f"KAFKA_PASSWORD_{user.upper()}"


def groups_from_environment(names: list[str]) -> dict[str, str]:
    """A service's consumer group where it is not the default (``KAFKA_CONSUMER_GROUP_<USER>``, set to
    the service's own KAFKA_CONSUMER_GROUP: an upgrade that keeps an old group, say)."""
    return {
        user: group for user in names if (group := os.environ.get(f"KAFKA_CONSUMER_GROUP_{user.upper()}"))
    }


def passwords_from_environment(names: list[str]) -> dict[str, str]:
    missing = [password_variable(user) for user in names if not os.environ.get(password_variable(user))]
    if missing:
        raise RuntimeError(f"set {', '.join(missing)}: each service's password on the broker")
    return {user: os.environ[password_variable(user)] for user in names}


def grant_access(
    passwords: Mapping[str, str], prefix: str | None = None, groups: Mapping[str, str] | None = None
) -> list[Grant]:
    """Create (or update) each service's SCRAM user and its ACLs, as the broker's administrator (these
    settings' user); wait until every user can see what it was granted. Safe to run again."""
    table = topic_access()
    prefix = settings.KAFKA_TOPIC_PREFIX if prefix is None else prefix
    wanted = grants(table, prefix, groups)
    admin = AdminClient(common_config())
    upserts: list[UserScramCredentialAlteration] = [
        scram_upsert(user, passwords[user]) for user in users(table)
    ]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result(timeout=30)
    for future in admin.create_acls([acl_binding(grant) for grant in wanted]).values():
        future.result(timeout=30)
    for user in users(table):
        topics = {grant.name for grant in wanted if grant.user == user and grant.resource == "topic"}
        _wait_until_visible(user, passwords[user], topics)
    logger.info("granted %s ACLs to %s", len(wanted), ", ".join(users(table)))
    return wanted


def scram_upsert(user: str, password: str) -> UserScramCredentialUpsertion:
    """``user``'s SCRAM-SHA-512 key for ``password`` (created, or replaced), as the services and the
    admin have them."""
    return UserScramCredentialUpsertion(
        user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS), password.encode()
    )


def acl_binding(grant: Grant) -> AclBinding:
    return AclBinding(
        ResourceType.TOPIC if grant.resource == "topic" else ResourceType.GROUP,
        grant.name,
        ResourcePatternType.LITERAL,
        f"User:{grant.user}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def _wait_until_visible(user: str, password: str, topics: set[str], timeout: float = 30.0) -> None:
    """Users and ACLs reach the brokers with the metadata, a moment after they are accepted: a service
    started before would fail its first requests (and its relay would set aside as refused what a
    leader that had not caught up refused). Asked of each bootstrap address in turn."""
    for address in settings.KAFKA_BOOTSTRAP_SERVERS.split(","):
        config = {
            **common_config(),
            "bootstrap.servers": address,
            "sasl.username": user,
            "sasl.password": password,
        }
        _wait_on(AdminClient(config), user, topics, timeout)


def _wait_on(client: AdminClient, user: str, topics: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            missing = topics - set(client.list_topics(timeout=5).topics)
        except Exception as exc:  # e.g. the SCRAM user is not known yet
            missing = topics
            logger.info("%s cannot connect yet: %s", user, exc)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{user} still cannot see {sorted(missing)} after {timeout}s")
        time.sleep(0.3)
