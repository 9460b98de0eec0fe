"""The spans of messaging and sagas, recorded in memory: each message's handling is a child of the span
that sent it, the relay's send span sits between the writer and the receiver, a redelivery is seen
as a duplicate, a saga's commands are children of its steps' spans, and the deadline sweeper's joins
the order's trace."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_outbox_pattern.choices import StatusChoice
from django_outbox_pattern.models import Published
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_span_id, format_trace_id

import shop_contracts as contracts
from saga_common.messaging import outbox, spans
from saga_common.messaging.envelope import Envelope
from saga_common.messaging.inbox import handle_batch, handle_once
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.message import Message
from saga_common.messaging.relay import OutboxRelay
from saga_common.observability import tracing
from saga_common.sagas.engine import SagaEngine
from saga_common.sagas.models import WAITING_STATUSES, SagaInstance, SagaStep
from saga_testing.kafka import read_envelopes
from saga_testing.messages import outbox_messages, wrap
from tests.example_saga import Data, example_saga

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded() -> Iterator[InMemorySpanExporter]:
    """saga_common's spans, recorded in memory (no global provider is set, nothing is exported)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with tracing.routed_to(provider):
        yield exporter


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def ids(traceparent: str | None) -> tuple[int, int]:
    """The trace id and span id a traceparent names."""
    _, trace_id, span_id, _ = (traceparent or "---").split("-")
    return int(trace_id, 16), int(span_id, 16)


def sent_in_a_span(message: Message, **fields: Any) -> tuple[Envelope, tuple[int, int]]:
    with tracing.tracer().start_as_current_span("sender") as sender:
        envelope = wrap(message, **fields)
    context = sender.get_span_context()
    return envelope, (context.trace_id, context.span_id)


def test_a_message_is_handled_in_a_span_whose_parent_sent_it(recorded: InMemorySpanExporter) -> None:
    # given an ApproveOrder sent inside a span
    command, (trace_id, sender_id) = sent_in_a_span(
        contracts.ApproveOrder(), order_id="o-1", saga_id="s-1", correlation_id="corr-1"
    )
    assert ids(command.traceparent) == (trace_id, sender_id)

    def handler(envelope: Envelope) -> None:  # replies as a participant does
        outbox.send(contracts.OrderApproved(), order_id="o-1", correlation_id="corr-1", causation=envelope)

    # when it is handled, then delivered again
    assert handle_once(command, handler) is True
    assert handle_once(command, handler) is False
    handled, duplicate = named(recorded, "handle ApproveOrder")
    # then both are children of the sender, consumer spans, and say what became of the message
    for span in (handled, duplicate):
        assert span.kind is SpanKind.CONSUMER
        assert span.parent is not None
        assert (span.parent.trace_id, span.parent.span_id) == (
            trace_id,
            sender_id,
        )
    assert handled.attributes is not None
    assert duplicate.attributes is not None
    assert (handled.attributes["messaging.outcome"], duplicate.attributes["messaging.outcome"]) == (
        "handled",
        "duplicate",
    )
    assert {k: handled.attributes[k] for k in ("messaging.system", "messaging.message.id", "order.id")} == {
        "messaging.system": "kafka",
        "messaging.message.id": command.id,
        "order.id": "o-1",
    }
    assert handled.attributes["messaging.destination.name"] == topic_name(contracts.ORDERS_COMMANDS)
    assert handled.attributes["saga.id"] == "s-1"
    # and the reply it sent names the handling span as its sender
    (reply,) = outbox_messages()
    assert ids(reply.traceparent) == (trace_id, handled.context.span_id)


def test_a_batch_that_fails_as_a_whole_says_so_on_every_span(recorded: InMemorySpanExporter) -> None:
    good, _ = sent_in_a_span(contracts.ApproveOrder(), order_id="o-1")
    bad, _ = sent_in_a_span(contracts.ApproveOrder(), order_id="o-2")

    def fail(envelope: Envelope) -> None:
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        handle_batch([(good, lambda envelope: None), (bad, fail)])
    first, second = named(recorded, "handle ApproveOrder")
    assert first.attributes is not None
    assert second.attributes is not None
    assert (first.attributes["messaging.outcome"], second.attributes["messaging.outcome"]) == (
        "rolled_back",
        "failed",
    )
    assert first.status.status_code is second.status.status_code is StatusCode.ERROR
    assert [event.name for event in second.events] == ["exception"]


def test_tracing_off_passes_the_context_on_unchanged() -> None:
    command, _ = sent_in_a_span(contracts.ApproveOrder())  # no provider: nothing recorded, no context
    assert command.traceparent is None
    traced = Envelope.from_stored(
        {**command.stored_headers(), "traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"}, "{}"
    )

    def handler(envelope: Envelope) -> None:
        outbox.send(contracts.OrderApproved(), order_id="o-1", correlation_id="c", causation=envelope)

    handle_once(traced, handler)
    (reply,) = outbox_messages()
    assert reply.traceparent == traced.traceparent


@pytest.mark.django_db(transaction=True)
def test_the_relay_sends_each_row_in_a_span_between_its_writer_and_its_receiver(
    kafka_topics: str, recorded: InMemorySpanExporter
) -> None:
    # given a row written inside a request's span
    with (
        tracing.tracer().start_as_current_span("POST", kind=SpanKind.SERVER) as request,
        transaction.atomic(),
    ):
        sent = outbox.send(contracts.ApproveOrder(), order_id="o-9", correlation_id="corr", saga_id="s-9")
    (written,) = named(recorded, "POST")  # the span that wrote it is about the order now
    assert written.attributes is not None
    assert written.attributes["order.id"] == "o-9"
    # when the relay publishes it
    assert OutboxRelay().publish_batch() == 1
    (send,) = named(recorded, "send ApproveOrder")
    # then its send span is a child of the request's, and the record names the send span
    assert send.kind is SpanKind.PRODUCER
    assert send.parent is not None
    assert send.parent.span_id == request.get_span_context().span_id
    assert send.attributes is not None
    assert (send.attributes["outbox.row_id"], send.attributes["messaging.outcome"]) == (sent.id, "published")
    (received,) = read_envelopes(topic_name(contracts.ORDERS_COMMANDS), expected=1)
    assert ids(received.traceparent) == (send.context.trace_id, send.context.span_id)
    # and a row published again (its relay died before marking it) is a second send span of that row
    Published.objects.update(status=StatusChoice.SCHEDULE)
    assert OutboxRelay().publish_batch() == 1
    first, again = named(recorded, "send ApproveOrder")
    assert again.attributes is not None
    assert again.attributes["outbox.row_id"] == sent.id
    assert again.parent == first.parent


def test_a_sagas_commands_are_sent_in_step_spans_and_the_sweepers_join_the_orders_trace(
    recorded: InMemorySpanExporter,
) -> None:
    saga = example_saga()
    engine = SagaEngine([saga])
    created, (trace_id, _) = sent_in_a_span(
        contracts.OrderCreated(
            customer_id="c-1", total=Decimal("9.99"), currency="EUR", shipping_address={"country": "DE"}
        ),
        order_id="o-1",
    )

    def start(event: Envelope) -> None:
        engine.start(saga, order_id="o-1", data=Data(), cause=event)

    # when the saga starts while its OrderCreated is handled
    handle_once(created, start)
    instance = SagaInstance.objects.get(order_id="o-1")
    # then it keeps the order's trace, and its first command is sent in a step span under the handling
    assert instance.trace_id == format_trace_id(trace_id)
    (step,) = named(recorded, "Example saga: authorize")
    (handling,) = named(recorded, "handle OrderCreated")
    assert step.parent is not None
    assert step.parent.span_id == handling.context.span_id
    (command,) = outbox_messages()
    assert ids(command.traceparent) == (trace_id, step.context.span_id)
    assert instance.trace_parent.split("-")[2] == format_span_id(step.context.span_id)
    # when the deadline passes with no reply, the sweeper (no span of its own) sends it again
    SagaStep.objects.filter(status__in=WAITING_STATUSES).update(
        deadline_at=timezone.now() - timedelta(seconds=1)
    )
    assert engine.expire_due_steps() == 1
    first, retry = named(recorded, "Example saga: authorize")
    # and the retry's span is a child of the attempt it repeats, in the order's trace
    assert retry.parent is not None
    assert (retry.parent.trace_id, retry.parent.span_id) == (
        trace_id,
        first.context.span_id,
    )
    assert retry.attributes is not None
    assert (retry.attributes["saga.trigger"], retry.attributes["saga.step.attempt"]) == ("deadline", 2)
    assert ids(outbox_messages()[-1].traceparent) == (trace_id, retry.context.span_id)


class _Record:
    """A Kafka record as the consumer holds it (what dead-lettering reads of it)."""

    def __init__(self, envelope: Envelope) -> None:
        self._headers = [(name, value.encode()) for name, value in envelope.kafka_headers().items()]
        self._key = envelope.order_id.encode()

    def topic(self) -> str:
        return "orders.commands"

    def partition(self) -> int:
        return 2

    def offset(self) -> int:
        return 41

    def key(self) -> bytes:
        return self._key

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers


def test_a_dead_lettered_message_is_a_handle_span_that_says_so(recorded: InMemorySpanExporter) -> None:
    command, (trace_id, sender_id) = sent_in_a_span(contracts.ApproveOrder(), order_id="o-1")
    with spans.dead_lettering(_Record(command), RuntimeError("the handler failed"), 5):
        pass
    (span,) = named(recorded, "handle ApproveOrder")
    assert span.parent is not None
    assert (span.parent.trace_id, span.parent.span_id) == (trace_id, sender_id)
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert {k: span.attributes[k] for k in ("messaging.outcome", "error.type", "inbox.attempts")} == {
        "messaging.outcome": "dead_lettered",
        "error.type": "RuntimeError",
        "inbox.attempts": 5,
    }
