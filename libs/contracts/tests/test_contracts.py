"""The shop's contracts: every one survives the trip sender -> Kafka record (CloudEvents, binary
mode) -> receiver, and everything that breaks a contract's rules or the envelope's is refused."""

import json
import uuid
from decimal import Decimal

import msgspec
import pytest
from cloudevents.core.bindings import kafka as cloudevents_kafka
from cloudevents.core.formats.json import JSONFormat
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

import shop_contracts as contracts
from saga_common.messaging.envelope import Envelope, EnvelopeError
from saga_common.messaging.message import (
    Command,
    Message,
    Reply,
    message_class,
    message_class_for,
    registered_messages,
    reply_classes,
)
from saga_common.messaging.rules import PayloadError, UncheckedField, _rules
from saga_common.observability import tracing
from saga_testing.kafka import kafka_record

EXAMPLES: list[Message] = [
    contracts.OrderCreated(
        customer_id="c-1", total=Decimal("25.00"), currency="EUR", shipping_address={"country": "DE"}
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
    contracts.ScheduleShipment(country="DE", address={"country": "DE"}),
    contracts.ShipmentScheduled(shipment_id="s-1"),
    contracts.ShipmentRejected(reason="AQ"),
    contracts.CancelShipment(),
    contracts.ShipmentCancelled(),
    contracts.ShipmentCancellationRefused(reason="shipment is DISPATCHED"),
    contracts.ScheduleShipment(country="DE", address={"country": "DE"}, hold_until_released=True),
    contracts.ReleaseShipment(),
    contracts.ShipmentReleased(),
    contracts.ShipmentReleaseFailed(reason="shipment is CANCELLED"),
    contracts.OrderCancellationRequested(
        customer_id="c-1", total=Decimal("25.00"), currency="EUR", country="DE", reason="changed my mind"
    ),
    contracts.RefundPayment(),
    contracts.PaymentRefunded(payment_id="p-1", amount=Decimal("25.00")),
    contracts.PaymentRefundFailed(reason="payment is VOIDED"),
    contracts.ConfirmOrderCancellation(),
    contracts.OrderCancelled(),
    contracts.OrderCancellationFailed(reason="order is APPROVED"),
    contracts.RefuseOrderCancellation(reason="shipment is DISPATCHED"),
    contracts.OrderCancellationRefused(),
    contracts.OrderCancellationRefusalFailed(reason="order is CANCELLED"),
]
ID = "6d1c9f6e-6c35-4a0e-9d8e-2b1f0e3f4a55"


def wrap(
    message: Message, *, order_id: str = "o-1", correlation_id: str = "corr-1", **fields: object
) -> Envelope:
    """``message`` as a sender wraps it (no Django here: these tests are the contracts' alone)."""
    return Envelope.wrap(message, order_id=order_id, correlation_id=correlation_id, source="/tests", **fields)  # type: ignore[arg-type]


def headers(**attributes: str | None) -> list[tuple[str, bytes]]:
    """CloudEvents headers of an ApproveOrder, with ``attributes`` changed (None: left out)."""
    base = {
        "ce_specversion": "1.0",
        "ce_id": ID,
        "ce_source": "/tests",
        "ce_type": "sagaref.orders.ApproveOrder.v1",
        "ce_correlationid": "c",
        "content-type": "application/json",
    }
    merged = {**base, **attributes}
    return [(name, value.encode()) for name, value in merged.items() if value is not None]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_contract_round_trips_through_a_kafka_record(message: Message) -> None:
    # given a message wrapped by its sender
    envelope = wrap(message, order_id="o-1", saga_id="s-1")
    # when the receiver parses the record that went to Kafka
    key, value, kafka_headers = kafka_record(envelope)
    received = Envelope.from_kafka(key, value, kafka_headers)
    # then it gets the same message, the same identity and the same trace
    assert received.message() == message
    assert (received.id, received.type, received.order_id, received.saga_id) == (
        envelope.id,
        type(message).__name__,
        "o-1",
        "s-1",
    )
    assert received.traceparent == envelope.traceparent


def test_the_record_is_a_cloudevent_the_official_sdk_reads_in_binary_mode() -> None:
    # given an AuthorizePayment as it goes to Kafka
    message = contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("25.00"), currency="EUR")
    command = wrap(message, order_id="o-1", saga_id="s-1", correlation_id="corr-1")
    key, value, kafka_headers = kafka_record(command)
    # when the CloudEvents SDK reads the record
    record = cloudevents_kafka.KafkaMessage(headers=dict(kafka_headers), key=key, value=value)  # type: ignore[arg-type]
    event = cloudevents_kafka.from_binary(record, JSONFormat())
    # then every attribute is where the standard puts it, and the data is the payload
    assert event.get_specversion() == "1.0"
    assert event.get_id() == command.id
    assert event.get_type() == "sagaref.payments.AuthorizePayment.v1"
    assert event.get_source() == "/tests"
    assert event.get_datacontenttype() == "application/json"
    assert event.get_extension("partitionkey") == "o-1"
    assert event.get_extension("sagaid") == "s-1"
    assert event.get_extension("correlationid") == "corr-1"
    assert event.get_time() is not None  # ce_time parses as RFC 3339
    data = event.get_data()
    assert (json.loads(data) if isinstance(data, bytes | str) else data) == {
        "customer_id": "c-1",
        "amount": "25.00",
        "currency": "EUR",
    }


def test_every_contract_is_exercised_above() -> None:
    assert {type(m).__name__ for m in EXAMPLES} == {cls.__name__ for cls in registered_messages()}


def test_every_type_is_namespaced_and_versioned_and_found_again() -> None:
    for cls in registered_messages():
        assert cls.cloudevent_type().startswith("sagaref.")
        assert cls.cloudevent_type().endswith(".v1")
        assert message_class_for(cls.cloudevent_type()) is cls


def test_every_command_answers_with_replies_only() -> None:
    commands = [m for m in EXAMPLES if isinstance(m, Command)]
    assert all(issubclass(outcome, Reply) for c in commands for outcome in c.outcomes)
    assert {r.__name__ for r in reply_classes() if not r.succeeded} == {
        "PaymentDeclined",
        "PaymentCaptureFailed",
        "PaymentVoidFailed",
        "ShipmentRejected",
        "OrderApprovalFailed",
        "OrderRejectionFailed",
        "ShipmentCancellationRefused",
        "PaymentRefundFailed",
        "OrderCancellationFailed",
        "OrderCancellationRefusalFailed",
        "ShipmentReleaseFailed",
    }


def test_every_refusal_a_command_can_send_is_one_of_its_outcomes() -> None:
    commands = [cls for cls in registered_messages() if issubclass(cls, Command)]
    refusable = {cls.__name__ for cls in commands if cls.refusal is not None}
    assert refusable == {cls.__name__ for cls in commands}
    assert all(cls.refusal in cls.outcomes for cls in commands if cls.refusal is not None)


GOOD_AUTHORIZE = {"customer_id": "c-1", "amount": "25.00", "currency": "EUR"}


@pytest.mark.parametrize(
    ("message_type", "payload", "error"),
    [
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "-50.00"}, "must be more than 0.00"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "0.00"}, "must be more than 0.00"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "1.005"}, "at most two decimal places"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": 1.005}, "at most two decimal places"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "NaN"}, "finite"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "Infinity"}, "finite"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "1e30"}, "must be below"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "amount": "x"}, "decimal"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "currency": "eur"}, "regex"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "currency": "EURO"}, "regex"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "currency": "EUR\n"}, "must match"),
        ("shipping.CancelShipment", {"country": "\n"}, "must match"),
        (
            "shipping.ScheduleShipment",
            {"country": "DE", "address": {"country": "DE"}, "hold_until_released": "yes"},
            "Expected `bool`",
        ),
        (
            "orders.OrderCancellationRequested",
            {"customer_id": "c", "total": "1.00", "currency": "EUR", "country": "DE", "reason": "x" * 201},
            "length",
        ),
        (
            "orders.OrderCreated",
            {"customer_id": "c", "total": "1.00", "currency": "EUR", "shipping_address": {}},
            "must name its country",
        ),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "customer_id": ""}, "length"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "customer_id": "c" * 65}, "length"),
        ("payments.AuthorizePayment", {**GOOD_AUTHORIZE, "customer_id": 1}, "Expected `str`"),
        (
            "payments.AuthorizePayment",
            {"customer_id": "c", "currency": "EUR"},
            "missing required field `amount`",
        ),
        ("payments.VoidPayment", {"amount": "-1.00"}, "at least 0.00"),
        ("shipping.ScheduleShipment", {"country": "de", "address": {}}, "regex"),
        (
            "shipping.ScheduleShipment",
            {"country": "DE", "address": {str(i): "x" for i in range(11)}},
            "at most 10",
        ),
        ("shipping.ScheduleShipment", {"country": "DE", "address": {"line1": "x" * 201}}, "longer than 200"),
        (
            "shipping.ScheduleShipment",
            {"country": "DE", "address": {"a": {"b": {"c": {"d": {"e": {}}}}}}},
            "deeply",
        ),
        ("orders.RejectOrder", {"reason": "r" * 501}, "length"),
        ("payments.PaymentAuthorized", {"payment_id": "p", "amount": "-1.00"}, "more than 0.00"),
    ],
)
def test_a_message_breaking_its_contracts_rules_is_refused_when_parsed(
    message_type: str, payload: dict[str, object], error: str
) -> None:
    # given a message put on a topic by hand, well formed but outside the rules
    envelope = Envelope.from_kafka(
        b"o-1", json.dumps(payload).encode(), headers(ce_type=f"sagaref.{message_type}.v1")
    )
    # when a participant parses it, then it is refused with the rule it broke (the inbox dead-letters it)
    with pytest.raises(EnvelopeError, match=error):
        envelope.message()


def test_a_field_a_receiver_does_not_know_is_ignored_within_a_major_version() -> None:
    payload = {**GOOD_AUTHORIZE, "loyalty_points": 7}  # added by a newer sender
    envelope = Envelope.from_kafka(
        b"o-1", json.dumps(payload).encode(), headers(ce_type="sagaref.payments.AuthorizePayment.v1")
    )
    assert envelope.message() == contracts.AuthorizePayment(
        customer_id="c-1", amount=Decimal("25.00"), currency="EUR"
    )


def test_money_sent_as_a_json_number_is_read_exactly_never_through_a_float() -> None:
    payload = {**GOOD_AUTHORIZE, "amount": 0.1}
    envelope = Envelope.from_kafka(
        b"o-1", json.dumps(payload).encode(), headers(ce_type="sagaref.payments.AuthorizePayment.v1")
    )
    assert envelope.message_as(contracts.AuthorizePayment).amount == Decimal("0.1")


def test_the_rules_hold_for_a_sender_too() -> None:
    with pytest.raises(PayloadError, match=r"more than 0\.00"):
        contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("-50.00"), currency="EUR")
    with pytest.raises(PayloadError, match="must match"):
        contracts.AuthorizePayment(customer_id="c-1", amount=Decimal("5.00"), currency="eur")
    with pytest.raises(PayloadError, match="NUL"):
        contracts.AuthorizePayment(customer_id="c\x00", amount=Decimal("5.00"), currency="EUR")
    with pytest.raises(PayloadError, match="NUL"):
        contracts.ScheduleShipment(country="DE", address={"country": "DE", "a\x00": "x"})


@pytest.mark.parametrize(
    ("key", "changed", "error"),
    [
        (b"o" * 65, {}, "order id"),
        (None, {}, "key"),
        (b"o", {"ce_correlationid": None}, "ce_correlationid"),
        (b"o", {"ce_correlationid": "c" * 65}, "ce_correlationid"),
        (b"o", {"ce_sagaid": "s" * 65}, "ce_sagaid"),
        (b"o", {"ce_causationid": "x" * 65}, "ce_causationid"),
        (b"o", {"ce_id": "not-a-uuid"}, "uuid"),
        (b"o", {"ce_id": None}, "ce_id"),
        (b"o", {"ce_source": None}, "ce_source"),
        (b"o", {"ce_specversion": "0.3"}, "1.0"),
        (b"o", {"ce_specversion": None}, "1.0"),
        (b"o", {"content-type": "application/xml"}, "application/json"),
        (b"o", {"ce_type": "ApproveOrder"}, "namespaced"),
        (b"o", {"ce_type": "sagaref.orders.LaunchRocket.v1"}, "no contract"),
        (b"o", {"ce_type": "sagaref.orders.ApproveOrder.v2"}, "not understood here"),
        (b"o", {"ce_type": "sagaref.orders.ApproveOrder.v1\n"}, "namespaced"),
        (b"o", {"ce_id": "{" + ID + "}"}, "canonical"),
        (b"o", {"ce_id": "urn:uuid:" + ID}, "canonical"),
        (b"o", {"ce_id": ID.replace("-", "")}, "canonical"),
        (b"o", {"ce_source": "/x\x00"}, "NUL"),
    ],
)
def test_an_event_with_bad_attributes_is_refused(
    key: bytes | None, changed: dict[str, str | None], error: str
) -> None:
    with pytest.raises(EnvelopeError, match=error):
        Envelope.from_kafka(key, b"{}", headers(**changed))


def test_a_message_carries_the_trace_context_of_the_span_that_sends_it() -> None:
    # given a span being recorded, when a command is sent inside it
    with tracing.routed_to(TracerProvider()), tracing.tracer().start_as_current_span("send") as span:
        command = wrap(contracts.VoidPayment(), causation=wrap(contracts.PaymentVoided()))
    # then the command names that span (W3C), whatever its causation carried
    sent = span.get_span_context()
    assert command.traceparent is not None
    named = command.traceparent.split("-")[1:3]
    assert named == [format_trace_id(sent.trace_id), format_span_id(sent.span_id)]
    # outside any span (a process that records none), a reply passes its command's context on as it is
    answer = wrap(contracts.PaymentVoided(), causation=command)
    assert (answer.causation_id, answer.traceparent) == (command.id, command.traceparent)
    # and a message nothing traced carries no context at all
    assert wrap(contracts.VoidPayment()).trace_headers() == {}


def test_the_trace_state_travels_with_the_trace_context() -> None:
    parent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    received = Envelope.from_kafka(b"o", b"{}", headers(traceparent=parent, tracestate="vendor=x"))
    assert received.trace_headers() == {"traceparent": parent, "tracestate": "vendor=x"}
    assert kafka_record(received)[2][-2:] == [("traceparent", parent.encode()), ("tracestate", b"vendor=x")]
    # a trace state without a trace context, or over the W3C limit, is dropped
    assert Envelope.from_kafka(b"o", b"{}", headers(tracestate="vendor=x")).tracestate is None
    too_long = headers(traceparent=parent, tracestate="v=" + "x" * 600)
    assert Envelope.from_kafka(b"o", b"{}", too_long).tracestate is None


@pytest.mark.parametrize(
    "value",
    [
        b"not json",
        b"[]",
        b"[" * 5000 + b"]" * 5000,  # a recursive decoder would overflow its stack
        b"\xff\xfe",
        b'{"reason": "a\\u0000b"}',  # PostgreSQL's jsonb cannot store NUL
        b'{"reason": "\\ud800"}',  # a lone surrogate
    ],
)
def test_malformed_data_is_refused(value: bytes) -> None:
    with pytest.raises(EnvelopeError):
        Envelope.from_kafka(b"o", value, headers())


def test_a_malformed_trace_context_is_dropped_not_passed_on() -> None:
    good = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    assert Envelope.from_kafka(b"o", b"{}", headers(traceparent=good)).traceparent == good
    for bad in (
        "00-" + "a" * 32 + "-\x00" + "b" * 15 + "-01",
        "x" * 300,
        "00-AAAA",
        "01-" + "a" * 32 + "-" + "b" * 16 + "-01-\x00",  # OpenTelemetry's parser takes any suffix here
        " " + good + "\t",  # and spaces around it
        "ff-" + "a" * 32 + "-" + "b" * 16 + "-01",  # a version W3C forbids
    ):
        assert Envelope.from_kafka(b"o", b"{}", headers(traceparent=bad)).traceparent is None, repr(bad)
    # a trace state keeps only what W3C allows: a NUL (which jsonb would refuse) never gets stored
    nul_state = Envelope.from_kafka(b"o", b"{}", headers(traceparent=good, tracestate="v=1,bad\x00=2"))
    assert "\x00" not in (nul_state.tracestate or "")
    assert (
        Envelope.from_kafka(b"o", b"{}", headers(traceparent=good, tracestate="a=1,b=2")).tracestate
        == "a=1,b=2"
    )


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    envelope = Envelope.from_kafka(
        b"o", b'{"reason": "C:\\\\u0000"}', headers(ce_type="sagaref.orders.RejectOrder.v1")
    )
    assert envelope.message_as(contracts.RejectOrder).reason == "C:\\u0000"


def test_every_field_of_every_contract_has_rules_that_check_it() -> None:
    for cls in registered_messages():
        assert len(_rules(cls)) == len(cls.__struct_fields__), cls.__name__


def test_a_contract_field_no_rule_checks_is_refused() -> None:
    class Unchecked(Command, frozen=True, kw_only=True):  # not registered: no topic, no namespace
        note: str | None = None

    with pytest.raises(UncheckedField, match=r"Unchecked\.note"):
        Unchecked(note="x")


def test_data_of_another_type_is_refused() -> None:
    envelope = Envelope.from_kafka(b"o", b"{}", headers())
    with pytest.raises(EnvelopeError, match="expected RejectOrder"):
        envelope.message_as(contracts.RejectOrder)
    with pytest.raises(KeyError):
        message_class("LaunchRocket")


def test_a_stored_row_gives_back_the_same_envelope() -> None:
    sent = wrap(contracts.RejectOrder(reason="no"), order_id=str(uuid.uuid4()), saga_id="s")
    again = Envelope.from_stored(sent.stored_headers(), json.loads(sent.data))
    assert again.message() == sent.message()
    assert (again.id, again.order_id, again.saga_id, again.traceparent) == (
        sent.id,
        sent.order_id,
        "s",
        sent.traceparent,
    )
    assert msgspec.json.decode(again.data) == {"reason": "no"}
