"""Least privilege on the real broker: each service's SASL/SCRAM user may do what the contract lets it
do and nothing else (saga_common.messaging.access), and a client that does not authenticate may do
nothing at all. The refusals are the broker's own (Apache Kafka's StandardAuthorizer), not ours."""

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AclBindingFilter, AdminClient

from devstack.local_keys import broker_passwords
from saga_common.messaging.access import acl_binding, grant_access, topic_access, users
from saga_common.messaging.kafka import common_config, topic_name
from saga_testing.kafka import kafka_record, read_topic
from saga_testing.messages import wrap
from shop_contracts import ORDERS_EVENTS, PAYMENTS_COMMANDS, CapturePayment

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(os.environ.get("BROKER") == "tansu", reason="Tansu authenticates no one"),
]


@pytest.fixture
def granted(kafka_topics: str) -> Iterator[dict[str, str]]:
    """Each service's user and ACLs for this test's topics, with this checkout's passwords (those the
    local stack uses: a test with others would change them under a running stack); the ACLs are
    deleted afterwards, not left to pile up on a shared broker."""
    passwords = {user: broker_passwords()[user] for user in users(topic_access())}
    grants = grant_access(passwords)
    yield passwords
    filters = [
        AclBindingFilter(
            b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type
        )
        for b in map(acl_binding, grants)
    ]
    admin = AdminClient(common_config())  # kept until the answers: a dropped client cancels its calls
    for future in admin.delete_acls(filters).values():
        assert len(future.result(timeout=30)) == 1  # each ACL was there, once


def _as(user: str, password: str) -> dict[str, Any]:
    return {**common_config(), "sasl.username": user, "sasl.password": password}


def _produce_forged_capture(config: dict[str, Any]) -> KafkaError | None:
    """Produce a well-formed CapturePayment on payments.commands; return the delivery error, if any."""
    outcome: list[KafkaError | None] = []
    producer = Producer({**config, "message.timeout.ms": 5000, "enable.idempotence": False, "acks": "all"})
    key, value, headers = kafka_record(wrap(CapturePayment(), order_id=f"o-{uuid.uuid4()}"))
    producer.produce(
        topic_name(PAYMENTS_COMMANDS),
        key=key,
        value=value,
        headers=headers,
        on_delivery=lambda error, _message: outcome.append(error),
    )
    producer.flush(15)
    assert outcome, "the delivery was never reported"
    return outcome[0]


def test_a_capture_payment_forged_under_the_orders_user_is_refused_by_the_broker(
    granted: dict[str, str],
) -> None:
    error = _produce_forged_capture(_as("orders", granted["orders"]))
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    assert read_topic(topic_name(PAYMENTS_COMMANDS), expected=1, timeout=3) == []


def test_the_orchestrator_user_may_send_the_same_command(granted: dict[str, str]) -> None:
    """The record is sound: it is the principal the broker refused."""
    assert _produce_forged_capture(_as("orchestrator", granted["orchestrator"])) is None
    assert len(read_topic(topic_name(PAYMENTS_COMMANDS), expected=1)) == 1


def test_a_client_that_does_not_authenticate_can_neither_produce_nor_consume(granted: dict[str, str]) -> None:
    anonymous = {"bootstrap.servers": common_config()["bootstrap.servers"], "security.protocol": "PLAINTEXT"}
    error = _produce_forged_capture(anonymous)
    assert error is not None
    assert error.code() == KafkaError._MSG_TIMED_OUT, error
    # One record the anonymous client could read, were it let in.
    assert _produce_forged_capture(_as("orchestrator", granted["orchestrator"])) is None
    values, _errors = _consumed(anonymous, topic_name(PAYMENTS_COMMANDS), group=f"{topic_name('')}payments")
    assert values == []


def test_a_wrong_password_is_refused(granted: dict[str, str]) -> None:
    error = _produce_forged_capture(_as("orchestrator", granted["orchestrator"] + "x"))
    assert error is not None
    assert error.code() == KafkaError._MSG_TIMED_OUT, error


def test_a_service_reads_only_its_own_topics_in_its_own_group(granted: dict[str, str]) -> None:
    assert _produce_forged_capture(_as("orchestrator", granted["orchestrator"])) is None
    payments = _as("payments", granted["payments"])
    records, errors = _consumed(payments, topic_name(PAYMENTS_COMMANDS), group=f"{topic_name('')}payments")
    assert len(records) == 1
    assert errors == []
    # orders.events is the orchestrator's to read; the orders group is the orders service's.
    _, errors = _consumed(payments, topic_name(ORDERS_EVENTS), group=f"{topic_name('')}payments")
    assert KafkaError.TOPIC_AUTHORIZATION_FAILED in errors
    _, errors = _consumed(payments, topic_name(PAYMENTS_COMMANDS), group=f"{topic_name('')}orders")
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in errors


def _consumed(config: dict[str, Any], topic: str, *, group: str) -> tuple[list[bytes | None], list[int]]:
    """Join ``group``, read ``topic`` for a few seconds; return the values read and the error codes seen."""
    consumer = Consumer(
        {**config, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": True}
    )
    consumer.subscribe([topic])
    values: list[bytes | None] = []
    errors: list[int] = []
    try:
        for _ in range(12):
            for message in consumer.consume(10, timeout=0.5):
                error = message.error()
                if error is None:
                    values.append(message.value())
                else:
                    errors.append(error.code())
            if values or errors:
                break
        # A commit is where a group's authorization shows if the fetch did not already.
        if values:
            try:
                consumer.commit(asynchronous=False)
            except Exception as exc:
                errors.append(exc.args[0].code())
    finally:
        consumer.close()
    return values, errors
