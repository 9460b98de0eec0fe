"""Every contract survives the trip sender -> Kafka value -> receiver unchanged."""

import json
from decimal import Decimal

import pytest

from saga_common import contracts
from saga_common.contracts import Command, Message, Reply, message_class, reply_classes
from saga_common.envelope import Envelope, EnvelopeError
from saga_common.serialization import PayloadError, from_dict

EXAMPLES: list[Message] = [
    contracts.OrderCreated(
        customer_id="c-1",
        total=Decimal("25.00"),
        currency="EUR",
        items=[{"sku": "SKU-1", "quantity": 2, "unit_price": "12.50"}],
        shipping_address={"country": "DE"},
    ),
    contracts.ApproveOrder(),
    contracts.OrderApproved(),
    contracts.RejectOrder(reason="no credit"),
    contracts.OrderRejected(),
    contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("25.00"), currency="EUR"),
    contracts.PaymentAuthorized(payment_id="p-1", amount=Decimal("25.00")),
    contracts.PaymentDeclined(reason="no account"),
    contracts.VoidPayment(),
    contracts.PaymentVoided(),
    contracts.CapturePayment(),
    contracts.PaymentCaptured(payment_id="p-1", amount=Decimal("25.00")),
    contracts.PaymentCaptureFailed(reason="voided"),
    contracts.RefundPayment(),
    contracts.PaymentRefunded(),
    contracts.PaymentRefundFailed(reason="x"),
    contracts.ScheduleShipment(country="DE", address={"country": "DE"}),
    contracts.ShipmentScheduled(shipment_id="s-1"),
    contracts.ShipmentRejected(reason="AQ"),
    contracts.CancelShipment(),
    contracts.ShipmentCancelled(),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_contract_round_trips_through_a_kafka_value(message: Message) -> None:
    # given a message wrapped by its sender
    envelope = Envelope.wrap(message, order_id="o-1", correlation_id="corr-1", saga_id="s-1")
    # when the receiver parses the bytes that went to Kafka
    value = json.dumps(envelope.body()).encode()
    received = Envelope.from_kafka(value, [(k, v.encode()) for k, v in envelope.headers().items()])
    # then it gets the same message, the same identity and the same trace
    assert received.message() == message
    assert (received.id, received.type, received.order_id, received.saga_id) == (
        envelope.id,
        type(message).__name__,
        "o-1",
        "s-1",
    )
    assert received.traceparent == envelope.traceparent


def test_every_contract_is_exercised_above() -> None:
    assert {type(m).__name__ for m in EXAMPLES} == {name for name in contracts._REGISTRY}


def test_every_command_answers_with_replies_only() -> None:
    commands = [m for m in EXAMPLES if isinstance(m, Command)]
    assert all(issubclass(outcome, Reply) for c in commands for outcome in c.outcomes)
    assert {r.__name__ for r in reply_classes() if not r.succeeded} == {
        "PaymentDeclined",
        "PaymentCaptureFailed",
        "PaymentRefundFailed",
        "ShipmentRejected",
    }


def test_reply_causation_carries_the_commands_trace() -> None:
    command = Envelope.wrap(contracts.VoidPayment(), order_id="o-1", correlation_id="c")
    answer = Envelope.wrap(contracts.PaymentVoided(), order_id="o-1", correlation_id="c", causation=command)
    assert answer.causation_id == command.id
    assert answer.traceparent.split("-")[1] == command.traceparent.split("-")[1]
    assert answer.traceparent != command.traceparent


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"customer_id": "c", "amount": 25.0, "currency": "EUR"}, "decimal must be a string"),
        ({"customer_id": "c", "amount": "x", "currency": "EUR"}, "not a decimal"),
        ({"customer_id": "c", "currency": "EUR"}, "missing field 'amount'"),
        ({"customer_id": 1, "amount": "1.00", "currency": "EUR"}, "expected str"),
        ({"customer_id": "c", "amount": "1.00", "currency": "EUR", "extra": 1}, "unknown fields"),
    ],
)
def test_payload_that_does_not_fit_its_contract_is_refused(payload: dict[str, object], error: str) -> None:
    with pytest.raises(PayloadError, match=error):
        from_dict(contracts.AuthorizePayment, payload)


@pytest.mark.parametrize(
    "value",
    [
        b"not json",
        b"[]",
        b'{"id": "x"}',
        json.dumps(
            {
                "id": "not-a-uuid",
                "type": "ApproveOrder",
                "order_id": "o",
                "correlation_id": "c",
                "payload": {},
            }
        ).encode(),
    ],
)
def test_malformed_envelope_is_refused(value: bytes) -> None:
    with pytest.raises(EnvelopeError):
        Envelope.from_kafka(value, [])


def test_unknown_message_type_is_refused() -> None:
    envelope = Envelope.from_body(
        {
            "id": "6d1c9f6e-6c35-4a0e-9d8e-2b1f0e3f4a55",
            "type": "LaunchRocket",
            "order_id": "o",
            "correlation_id": "c",
            "payload": {},
        }
    )
    with pytest.raises(EnvelopeError):
        envelope.message()
    with pytest.raises(KeyError):
        message_class("LaunchRocket")
