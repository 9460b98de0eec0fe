"""Commands put on payments.commands by hand, through the real inbox consumer and the real broker."""

import json
import uuid
from decimal import Decimal

import pytest

from payments.handlers import HANDLERS
from payments.models import Account, Payment
from payments.selectors import account_available
from saga_common.messaging.consumer import InboxConsumer
from saga_common.messaging.kafka import dlq_name, topic_name
from saga_testing.kafka import (
    Record,
    committed_offset,
    headers_of,
    kafka_record,
    produce,
    read_topic,
    run_until,
)
from saga_testing.messages import wrap
from shop_contracts import PAYMENTS_COMMANDS, AuthorizePayment

pytestmark = pytest.mark.django_db(transaction=True)


def by_hand(order_id: str, payload: dict[str, object]) -> Record:
    """An AuthorizePayment as someone with access to the topic could write it: no sender's checks."""
    headers = {
        "ce_specversion": "1.0",
        "ce_id": str(uuid.uuid4()),
        "ce_source": "/by-hand",
        "ce_type": "sagaref.payments.AuthorizePayment.v1",
        "ce_time": "2026-12-02T00:00:00+00:00",
        "ce_sagaid": str(uuid.uuid4()),
        "ce_correlationid": "by-hand",
        "content-type": "application/json",
    }
    return Record(
        order_id.encode(), json.dumps(payload).encode(), [(k, v.encode()) for k, v in headers.items()]
    )


def test_an_invalid_command_has_no_effect_and_is_dead_lettered_with_the_reason(kafka_topics: str) -> None:
    # given an account with 50.00 of credit, two invalid authorizations and a valid one on the topic
    Account.objects.create(customer_id="c-1", currency="EUR", credit_limit=Decimal("50.00"))
    topic = topic_name(PAYMENTS_COMMANDS)
    valid = wrap(
        AuthorizePayment(customer_id="c-1", amount=Decimal("10.00"), currency="EUR"),
        order_id="o-3",
        correlation_id="c",
    )
    produce(
        topic,
        [
            by_hand("o-1", {"customer_id": "c-1", "amount": "-50.00", "currency": "EUR"}),
            by_hand("o-2", {"customer_id": "c-1", "amount": "1.005", "currency": "EUR"}),
            kafka_record(valid),
        ],
    )
    # when the payments consumer works through them
    consumer = InboxConsumer(HANDLERS, group_id=f"{kafka_topics}payments", max_attempts=2)
    run_until(consumer, lambda: committed_offset(topic, consumer.group_id) == 3)
    # then only the valid one took effect: the negative amount raised no credit, nothing was rounded
    assert list(Payment.objects.values_list("order_id", "amount")) == [("o-3", Decimal("10.00"))]
    assert account_available(Account.objects.get()) == Decimal("40.00")
    # and the invalid ones are in the dead-letter topic, each with the rule it broke
    dead = read_topic(dlq_name(topic), expected=2)
    errors = [headers_of(m)["dlq-error"].decode() for m in dead]
    assert len(errors) == 2
    assert "must be more than 0.00, got -50.00" in errors[0]
    assert "at most two decimal places, got 1.005" in errors[1]
    assert {headers_of(m)["dlq-attempts"] for m in dead} == {b"1"}  # refused at once, not retried
