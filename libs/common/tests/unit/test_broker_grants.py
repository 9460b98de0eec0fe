"""The ACLs the contract calls for (saga_common.messaging.access.grants), read off the shop's table of
writers and readers. The broker enforcing them is tested in integration/test_broker_access.py."""

import pytest

from saga_common.messaging.access import Grant, grants, groups_from_environment, topic_access, users
from shop_contracts.topics import WRITERS_AND_READERS


def _allowed(user: str, prefix: str = "p.") -> set[tuple[str, str, str]]:
    return {(g.resource, g.name, g.operation) for g in grants(topic_access(), prefix) if g.user == user}


def test_the_table_is_the_contracts() -> None:
    assert topic_access() is WRITERS_AND_READERS
    assert users(topic_access()) == ["orchestrator", "orders", "payments", "shipping"]


def test_every_topic_is_read_by_one_service() -> None:
    """Why a reader may write back to its own topic (a dead-letter replay): no one else reads it, so the
    reader gains no power over another service. A second reader would make that a hole: rethink then."""
    assert all(len(readers) == 1 for _writers, readers in topic_access().values())


def test_a_participant_reads_its_commands_and_writes_replies_and_nothing_else() -> None:
    assert _allowed("payments") == {
        ("topic", "p.payments.commands", "READ"),
        ("topic", "p.payments.commands", "WRITE"),  # its dead letters, replayed
        ("topic", "p.payments.commands.dlq", "WRITE"),
        ("topic", "p.orchestrator.replies", "WRITE"),
        ("group", "p.payments", "READ"),
    }


def test_only_the_orchestrator_writes_another_services_commands_and_only_orders_writes_its_events() -> None:
    for grant in grants(topic_access(), ""):
        if grant.operation != "WRITE" or grant.name.endswith(".dlq"):
            continue
        if grant.name.endswith(".commands") and not grant.name.startswith(f"{grant.user}."):
            assert grant.user == "orchestrator", grant
        if grant.name == "orders.events":
            assert grant.user in {"orders", "orchestrator"}, grant  # its writer, and its one reader


def test_each_service_joins_only_its_own_group() -> None:
    groups = [g for g in grants(topic_access(), "t1.") if g.resource == "group"]
    assert groups == [Grant(user, "group", f"t1.{user}", "READ") for user in users(topic_access())]


def test_a_service_kept_on_an_older_group_is_granted_that_group_instead() -> None:
    """docs/operations.md: an upgrade may keep KAFKA_CONSUMER_GROUP=<service> (no prefix)."""
    groups = [g for g in grants(topic_access(), "t1.", {"orders": "orders"}) if g.resource == "group"]
    assert Grant("orders", "group", "orders", "READ") in groups
    assert Grant("orders", "group", "t1.orders", "READ") not in groups
    assert Grant("payments", "group", "t1.payments", "READ") in groups


def test_grant_broker_access_reads_a_kept_group_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_CONSUMER_GROUP_ORDERS", "orders")
    monkeypatch.delenv("KAFKA_CONSUMER_GROUP_PAYMENTS", raising=False)
    assert groups_from_environment(["orders", "payments"]) == {"orders": "orders"}
