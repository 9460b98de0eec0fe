"""The chaos checker's dead-letter checks, on hand-made rows and records: each must catch what it is for
(a poison message that vanished, a row that was no poison, an oversized copy that did not arrive)."""

import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from devstack import postgres
from e2e.checker import CONSUMES, check_dead_letter_rows
from e2e.topics import RawMessage

PREFIX = "chk-"


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    """One scratch database per service, each with a dead-letter table as the services have it."""
    admin = f"{postgres.DEFAULT_SERVER_URL}/postgres"
    postgres.ensure_server(admin)
    names = {service: f"e2e_dead_letter_checks_{service}" for service in CONSUMES}
    postgres.drop_databases(list(names.values()), admin)
    postgres.ensure_databases(list(names.values()), admin)
    urls = {service: f"{postgres.DEFAULT_SERVER_URL}/{name}" for service, name in names.items()}
    for url in urls.values():
        with psycopg2.connect(url) as connection, connection.cursor() as cursor:
            cursor.execute("CREATE TABLE saga_dead_letter (topic text, payload bytea, status text)")
        connection.close()
    yield urls
    postgres.drop_databases(list(names.values()), admin)


def keep(url: str, topic: str, payload: bytes, status: str = "PENDING") -> None:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO saga_dead_letter VALUES (%s, %s, %s)", [topic, payload, status])
    connection.close()


def poison(base: str) -> RawMessage:
    return RawMessage(f"{PREFIX}{base}", b"k", f"\x00poison {uuid.uuid4()}".encode(), [])


def test_every_poison_kept_and_nothing_else_passes(databases: dict[str, str]) -> None:
    sent = [poison("payments.commands"), poison("orchestrator.replies"), poison("orders.events")]
    for message in sent:
        service = next(s for s, bases in CONSUMES.items() if message.topic.removeprefix(PREFIX) in bases)
        keep(databases[service], message.topic, message.value)
    keep(databases["payments"], sent[0].topic, b"handled by an operator", status="DISCARDED")
    assert check_dead_letter_rows(databases, sent) == []


def test_a_poison_message_that_vanished_is_reported(databases: dict[str, str]) -> None:
    kept, vanished = poison("payments.commands"), poison("payments.commands")
    keep(databases["payments"], kept.topic, kept.value)
    assert check_dead_letter_rows(databases, [kept, vanished]) == [
        "payments's dead letters: 1 poison messages not kept, 0 kept that were no poison"
    ]


def test_a_dead_letter_that_was_no_poison_is_reported(databases: dict[str, str]) -> None:
    keep(databases["shipping"], f"{PREFIX}shipping.commands", b"a real command, dead-lettered")
    assert check_dead_letter_rows(databases, []) == [
        "shipping's dead letters: 0 poison messages not kept, 1 kept that were no poison"
    ]
