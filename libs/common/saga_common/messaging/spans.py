"""The spans of messaging (see ``saga_common.observability.tracing``): a message sent, handled, dead-lettered.

- ``send <Type>`` (PRODUCER), by the relay for each outbox row it produces: a child of the context the
  row stores (the span that wrote it, in the same transaction as the change); the headers sent carry
  this span's context instead, so the receiver's span is its child. It ends once the batch is settled,
  with ``messaging.outcome`` ``published``, ``refused`` (set aside for good) or ``failed`` (not
  acknowledged: the row is sent again). ``outbox.row_id`` names the row: two send spans of one row
  are a re-publish (after a relay crashed between producing and marking, say); ``outbox.republish``
  says so when this relay itself sends a row again. A raw row (an operator's replay) goes out byte for
  byte, its headers untouched: its span is a child of the context the record carries.
- ``handle <Type>`` (CONSUMER), by the inbox for each message: a child of the context in the message's
  headers. It is current while the handler runs (its queries and the messages it sends are its
  children) and ends with the inbox's transaction: ``handled``, ``duplicate`` (the inbox already had
  the message id: a redelivery, dropped), ``rolled_back`` (another message of its batch failed, so
  the batch is handled again one by one) or ``failed`` (its handler raised: it is retried).
- ``handle <Type>`` with ``dead_lettered``, by the consumer when it gives up on a message.

Every one carries ``messaging.system`` (kafka), ``messaging.destination.name`` (the topic),
``messaging.message.id`` (``ce_id``), ``messaging.message.conversation_id`` (the correlation id),
``order.id`` and, within a saga, ``saga.id``.
"""

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from saga_common.messaging.envelope import Envelope
from saga_common.messaging.kafka import topic_name
from saga_common.messaging.message import message_class, message_class_for
from saga_common.observability import tracing

OUTCOME = "messaging.outcome"
_TRACE_HEADERS = ("traceparent", "tracestate")


# --- the relay ----------------------------------------------------------------------------------


def start_send(
    row_id: str, destination: str, key: Any, headers: list[tuple[str, Any]], *, raw: bool, again: bool
) -> tuple[Span | None, list[tuple[str, Any]]]:
    """Start the span of producing an outbox row; return it and the headers to send. Tracing off:
    (None, the headers as they are), at no cost."""
    if not tracing.enabled():
        return None, headers
    found = _text_headers(headers)
    attributes = _attributes(
        destination, found.get("ce_id"), found.get("ce_correlationid"), _text(key), found.get("ce_sagaid")
    )
    attributes |= {"messaging.operation.type": "send", "outbox.row_id": row_id}
    if again:
        attributes["outbox.republish"] = True
    if raw:
        attributes["outbox.raw_record"] = True
    span = tracing.tracer().start_span(
        f"send {_type_name(found.get('ce_type', ''))}",
        context=tracing.extract(found),
        kind=SpanKind.PRODUCER,
        attributes=attributes,
    )
    if raw:
        return span, headers
    context = tracing.inject(trace.set_span_in_context(span))
    return span, [*((name, value) for name, value in headers if name not in _TRACE_HEADERS), *context.items()]


def end_sends(spans: dict[str, Span], outcomes: Mapping[str, object], refused: Collection[str]) -> None:
    """End the send spans of a settled batch (``outcomes``: row id -> its error, None if acknowledged)."""
    for row_id, span in spans.items():
        error = outcomes.get(row_id, "not settled")
        if error is None:
            span.set_attribute(OUTCOME, "published")
        else:
            span.set_attribute(OUTCOME, "refused" if row_id in refused else "failed")
            span.set_status(Status(StatusCode.ERROR, str(error)[:300]))
        span.end()
    spans.clear()


# --- the inbox and the consumer ----------------------------------------------------------------


def start_handling(envelope: Envelope) -> Span:
    """Start the span of handling ``envelope``, neither current nor ended (the inbox does both). Tracing
    off: the no-op span holding the message's context, which it then passes on."""
    attributes: dict[str, AttributeValue] | None = None
    if tracing.enabled():
        attributes = _attributes(
            _topic_of(envelope.type),
            envelope.id,
            envelope.correlation_id,
            envelope.order_id,
            envelope.saga_id,
        )
        attributes["messaging.operation.type"] = "process"
    return tracing.tracer().start_span(
        f"handle {envelope.type}",
        context=tracing.extract(envelope.trace_headers()),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    )


def end_handling(span: Span, outcome: str) -> None:
    span.set_attribute(OUTCOME, outcome)
    if outcome in ("failed", "rolled_back"):
        span.set_status(Status(StatusCode.ERROR))
    span.end()


@contextmanager
def dead_lettering(kafka_message: Any, error: Exception, attempts: int) -> Iterator[None]:
    """The span of dead-lettering a Kafka message (readable or not), current while it is recorded and sent."""
    headers = _text_headers(kafka_message.headers() or [])
    attributes = _attributes(
        kafka_message.topic() or "unknown",
        headers.get("ce_id"),
        headers.get("ce_correlationid"),
        _text(kafka_message.key()),
        headers.get("ce_sagaid"),
    )
    attributes |= {
        "messaging.operation.type": "process",
        "messaging.kafka.offset": kafka_message.offset(),
        "messaging.destination.partition.id": str(kafka_message.partition()),
        "error.type": type(error).__name__,
        "inbox.attempts": attempts,
        OUTCOME: "dead_lettered",
    }
    with tracing.tracer().start_as_current_span(
        f"handle {_type_name(headers.get('ce_type', ''))}",
        context=tracing.extract(headers),
        kind=SpanKind.CONSUMER,
        attributes=attributes,
    ) as span:
        span.set_status(Status(StatusCode.ERROR, repr(error)[:300]))
        yield


# --- helpers -----------------------------------------------------------------------------------


def _attributes(
    topic: str, message_id: str | None, correlation_id: str | None, order_id: str | None, saga_id: str | None
) -> dict[str, AttributeValue]:
    found = {
        "messaging.message.id": message_id,
        "messaging.message.conversation_id": correlation_id,
        "order.id": order_id,
        "saga.id": saga_id,
    }
    return {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        **{name: value for name, value in found.items() if value},
    }


def _text_headers(headers: list[tuple[str, Any]]) -> dict[str, str]:
    return {name: text for name, value in headers if (text := _text(value)) is not None}


def _text(value: Any) -> str | None:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _type_name(cloudevent_type: str) -> str:
    """``sagaref.payments.AuthorizePayment.v1`` -> ``AuthorizePayment`` (as unknown types are named too)."""
    try:
        return message_class_for(cloudevent_type).type_name()
    except LookupError:
        parts = cloudevent_type.split(".")
        return parts[-2] if len(parts) > 2 else cloudevent_type or "message"


def _topic_of(message_type: str) -> str:
    try:
        return topic_name(message_class(message_type).topic)
    except LookupError:
        return "unknown"
