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
    contracts.OrderApprovalFailed(reason="order is REJECTED"),
    contracts.OrderRejectionFailed(reason="order is APPROVED"),
    contracts.PaymentVoidFailed(reason="payment is CAPTURED"),
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
        "PaymentVoidFailed",
        "ShipmentRejected",
        "OrderApprovalFailed",
        "OrderRejectionFailed",
    }


def test_every_refusal_a_command_can_send_is_one_of_its_outcomes() -> None:
    commands = [cls for cls in contracts._REGISTRY.values() if issubclass(cls, Command)]
    refusable = {cls.__name__ for cls in commands if cls.refusal is not None}
    assert refusable == {
        name for name in contracts._REGISTRY if issubclass(contracts._REGISTRY[name], Command)
    } - {"CancelShipment"}
    assert all(cls.refusal in cls.outcomes for cls in commands if cls.refusal is not None)


GOOD_AUTHORIZE = {"customer_id": "c-1", "amount": "25.00", "currency": "EUR"}


@pytest.mark.parametrize(
    ("message_type", "payload", "error"),
    [
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "-50.00"}, "must be more than 0.00"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "0.00"}, "must be more than 0.00"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "1.005"}, "at most two decimal places"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "NaN"}, "finite"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "Infinity"}, "finite"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "1e30"}, "must be below"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "currency": "eur"}, "must match"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "currency": "EURO"}, "length"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "customer_id": ""}, "length"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "customer_id": "c" * 65}, "length"),
        ("AuthorizePayment", {**GOOD_AUTHORIZE, "customer_id": "c\x00"}, "NUL"),
        ("VoidPayment", {"amount": "-1.00"}, "at least 0.00"),
        ("ScheduleShipment", {"country": "de", "address": {}}, "must match"),
        ("ScheduleShipment", {"country": "DE", "address": {str(i): "x" for i in range(11)}}, "at most 10"),
        ("ScheduleShipment", {"country": "DE", "address": {"line1": "x" * 201}}, "longer than 200"),
        ("ScheduleShipment", {"country": "DE", "address": {"a": {"b": {"c": {"d": {"e": {}}}}}}}, "deeply"),
        ("RejectOrder", {"reason": "r" * 501}, "length"),
        ("PaymentAuthorized", {"payment_id": "p", "amount": "-1.00"}, "more than 0.00"),
    ],
)
def test_a_message_breaking_its_contracts_rules_is_refused_when_parsed(
    message_type: str, payload: dict[str, object], error: str
) -> None:
    # given a message put on a topic by hand, well formed but outside the rules
    envelope = Envelope.from_body(
        {
            "id": "6d1c9f6e-6c35-4a0e-9d8e-2b1f0e3f4a55",
            "type": message_type,
            "order_id": "o-1",
            "correlation_id": "c",
            "payload": payload,
        }
    )
    # when a participant parses it, then it is refused with the rule it broke (the inbox dead-letters it)
    with pytest.raises(EnvelopeError, match=error):
        envelope.message()


def test_the_rules_hold_for_a_sender_too() -> None:
    with pytest.raises(PayloadError, match=r"more than 0\.00"):
        contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("-50.00"), currency="EUR")


@pytest.mark.parametrize(
    ("field", "value"),
    [("order_id", 7), ("order_id", ""), ("order_id", "o" * 65), ("correlation_id", None), ("saga_id", 3)],
)
def test_an_envelope_with_ill_typed_identity_is_refused(field: str, value: object) -> None:
    body = {
        "id": "6d1c9f6e-6c35-4a0e-9d8e-2b1f0e3f4a55",
        "type": "ApproveOrder",
        "order_id": "o",
        "correlation_id": "c",
        "payload": {},
        field: value,
    }
    with pytest.raises(EnvelopeError, match=field):
        Envelope.from_body(body)


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
        b"[" * 5000 + b"]" * 5000,  # json.loads alone would raise RecursionError
        b"\xff\xfe",
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
