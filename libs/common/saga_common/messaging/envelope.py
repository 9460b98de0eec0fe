"""The envelope: a message as a CloudEvents 1.0 event in Kafka's binary content mode.

On the wire (CloudEvents Kafka protocol binding, binary mode):
- the **value** is the event's data, the message's payload as JSON (``content-type: application/json``);
- the **key** is the order id: the binding's ``partitionkey``, so everything about one order stays in
  order on one partition;
- the **headers** carry the attributes, prefixed ``ce_``: ``ce_specversion`` (1.0), ``ce_id`` (a
  uuid, unique per message), ``ce_source`` (the sending service), ``ce_type`` (namespaced and
  versioned, e.g. ``sagaref.payments.AuthorizePayment.v1``), ``ce_time``, and the extensions
  ``ce_sagaid``, ``ce_correlationid`` and ``ce_causationid``;
- the W3C trace context travels as Kafka's own ``traceparent`` (and ``tracestate``) headers, not as
  CloudEvents' tracing extension: that extension is not meant to replace a protocol's own trace
  headers, which tracing tools read. A message carries the context of the span that sent it
  (``saga_common.observability.tracing``); the relay replaces it with its own produce span's.

Parsing refuses anything malformed with ``EnvelopeError``; the inbox dead-letters such a message at
once, since no retry can mend it. An unknown type or a major version this code does not speak is refused
the same way (``saga_common.messaging.message``).
"""

import builtins
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from opentelemetry.trace import TraceState

from saga_common.json_depth import MAX_JSON_DEPTH, nesting_exceeds
from saga_common.messaging.message import Message, message_class, message_class_for
from saga_common.messaging.rules import PayloadError, Text
from saga_common.observability import tracing

M = TypeVar("M", bound=Message)

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
# The Kafka headers of an event, in the order they are sent; the relay reads exactly these from an
# outbox row (saga_common.messaging.relay). ``partitionkey`` is not among them: it is the Kafka key.
KAFKA_HEADERS = (
    "ce_specversion",
    "ce_id",
    "ce_source",
    "ce_type",
    "ce_time",
    "ce_sagaid",
    "ce_correlationid",
    "ce_causationid",
    "content-type",
    "traceparent",
    "tracestate",
)
PARTITION_KEY = "partitionkey"  # where an outbox or inbox row keeps the Kafka key among its headers

# The W3C limit of a tracestate header (32 entries of at most 256 characters, most much shorter).
_MAX_TRACESTATE = 512
# An escaped NUL in a JSON string (a \u0000 not itself escaped): PostgreSQL's jsonb cannot store it.
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class EnvelopeError(ValueError):
    """Bytes that are not a valid event of ours (a poison message)."""


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """One message: its identity, its place in a saga and its payload (``data``, JSON bytes).

    ``type`` is the message's short name (``AuthorizePayment``), which the system records; the wire
    carries ``cloudevent_type``.
    """

    id: str
    type: str
    cloudevent_type: str
    source: str
    order_id: str
    correlation_id: str
    data: bytes
    saga_id: str | None = None
    causation_id: str | None = None
    time: str = ""
    traceparent: str | None = None
    tracestate: str | None = None

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        order_id: str,
        correlation_id: str,
        source: str,
        saga_id: str | None = None,
        causation: "Envelope | None" = None,
        message_id: str | None = None,
    ) -> "Envelope":
        """Put ``message`` in an envelope, with the trace context of the current span (outside any span,
        the ``causation`` message's, so a trace is not cut where no span was started)."""
        context = tracing.inject() or (causation.trace_headers() if causation else {})
        return cls(
            id=message_id or str(uuid.uuid4()),
            type=message.type_name(),
            cloudevent_type=message.cloudevent_type(),
            source=source,
            order_id=order_id,
            correlation_id=correlation_id,
            data=msgspec.json.encode(message),
            saga_id=saga_id,
            causation_id=causation.id if causation else None,
            time=datetime.now(UTC).isoformat(),
            traceparent=context.get("traceparent"),
            tracestate=context.get("tracestate"),
        )

    # --- the message inside -----------------------------------------------------------------

    def message(self) -> Message:
        """The typed contract carried in the data; raise EnvelopeError if it breaks its rules."""
        return self.message_as(message_class(self.type))

    def message_as(self, cls: builtins.type[M]) -> M:
        """The data as ``cls``; raise EnvelopeError if this envelope carries another type or bad data."""
        if self.type != cls.type_name():
            raise EnvelopeError(f"expected {cls.type_name()}, got {self.type}")
        try:
            return msgspec.json.decode(self.data, type=cls)
        except (msgspec.ValidationError, msgspec.DecodeError, PayloadError) as exc:
            raise EnvelopeError(f"{self.type}: {exc}"[:1000]) from exc

    @property
    def payload(self) -> Any:
        """The data as plain JSON values (for logs, tests and operators; code uses ``message()``)."""
        return json.loads(self.data)

    # --- Kafka ------------------------------------------------------------------------------

    def kafka_headers(self) -> dict[str, str]:
        """The ``ce_*`` attributes, the content type and the trace context, as Kafka headers."""
        headers = {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.cloudevent_type,
            "ce_time": self.time,
            "ce_sagaid": self.saga_id,
            "ce_correlationid": self.correlation_id,
            "ce_causationid": self.causation_id,
            "content-type": CONTENT_TYPE,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
        }
        return {name: value for name, value in headers.items() if value}

    def trace_headers(self) -> dict[str, str]:
        """The W3C trace context it carries, as headers (``saga_common.observability.tracing.extract``)."""
        headers = {"traceparent": self.traceparent, "tracestate": self.tracestate}
        return {name: value for name, value in headers.items() if value}

    def stored_headers(self) -> dict[str, str]:
        """What an outbox or inbox row keeps: the Kafka headers and, as ``partitionkey``, the key."""
        return {**self.kafka_headers(), PARTITION_KEY: self.order_id}

    @classmethod
    def from_kafka(cls, key: bytes | str | None, value: bytes | None, headers: Any) -> "Envelope":
        """Parse a Kafka record (key, value and headers: (name, bytes) pairs, as the client gives them);
        raise EnvelopeError."""
        attributes = {
            name: raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            for name, raw in (headers or [])
            if raw is not None
        }
        order_id = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        return cls.from_attributes(order_id, value or b"", attributes)

    @classmethod
    def from_stored(cls, headers: dict[str, str], data: Any) -> "Envelope":
        """Rebuild an envelope from an outbox or inbox row (its headers and its JSON body)."""
        text = data if isinstance(data, str) else json.dumps(data)
        return cls.from_attributes(headers.get(PARTITION_KEY), text.encode(), headers)

    @classmethod
    def from_attributes(cls, order_id: str | None, data: bytes, attributes: dict[str, str]) -> "Envelope":
        if attributes.get("ce_specversion") != SPEC_VERSION:
            raise EnvelopeError(f"not a CloudEvents {SPEC_VERSION} event (ce_specversion)")
        content_type = attributes.get("content-type", CONTENT_TYPE)
        if content_type.split(";")[0].strip() != CONTENT_TYPE:
            raise EnvelopeError(f"data must be {CONTENT_TYPE}, not {content_type[:100]!r}")
        missing = [
            name for name in ("ce_id", "ce_source", "ce_type", "ce_correlationid") if name not in attributes
        ]
        if missing or not order_id:
            raise EnvelopeError(f"event lacks {missing + ([] if order_id else ['its key (the order id)'])}")
        message_id = attributes["ce_id"]
        try:
            canonical = str(uuid.UUID(message_id))
        except ValueError as exc:
            raise EnvelopeError(f"ce_id is not a uuid: {message_id[:100]!r}") from exc
        if message_id.lower() != canonical:  # one spelling per id, or the inbox would see two ids
            raise EnvelopeError(f"ce_id must be a uuid in its canonical form, not {message_id[:100]!r}")
        try:
            message_type = message_class_for(attributes["ce_type"])
        except LookupError as exc:  # an unknown type or major version: no retry can mend it
            raise EnvelopeError(str(exc)) from exc
        _check_identity(order_id, attributes)
        _check_data(data)
        traceparent, tracestate = _valid_trace_context(
            attributes.get("traceparent"), attributes.get("tracestate")
        )
        return cls(
            id=canonical,
            type=message_type.type_name(),
            cloudevent_type=attributes["ce_type"],
            source=attributes["ce_source"],
            order_id=order_id,
            correlation_id=attributes["ce_correlationid"],
            data=data,
            saga_id=attributes.get("ce_sagaid"),
            causation_id=attributes.get("ce_causationid"),
            time=attributes.get("ce_time", ""),
            traceparent=traceparent,
            tracestate=tracestate,
        )


# What the envelope's own attributes may hold: ids the services store in 64-character columns and key by.
_IDENTIFIER = Text(max_length=64)
_BOUNDED = Text(max_length=255)


def _check_data(data: bytes) -> None:
    """The data is a JSON object the inbox can store (jsonb refuses NUL characters)."""
    if nesting_exceeds(data.decode("utf-8", "replace"), MAX_JSON_DEPTH):  # before any decoder recurses
        raise EnvelopeError(f"data nests more than {MAX_JSON_DEPTH} levels deep")
    try:
        body = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise EnvelopeError(f"data is not JSON: {exc}"[:500]) from exc
    if not isinstance(body, dict):
        raise EnvelopeError("data must be a JSON object")
    if _ESCAPED_NUL.search(data):
        raise EnvelopeError("data holds a NUL character")


# Exactly version 00's shape. OpenTelemetry's own parser is lenient (spaces around it, and for other
# versions any suffix, NUL included), and what passes here is stored in jsonb, which refuses NUL.
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def _valid_trace_context(traceparent: str | None, tracestate: str | None) -> tuple[str | None, str | None]:
    """The W3C trace context if well formed; otherwise none (it is advice for tracing tools: a
    malformed one is dropped rather than passed on, never a reason to refuse the message). The trace
    state is rebuilt from the members W3C allows, so nothing else is stored or passed on."""
    if (
        traceparent is None
        or not _TRACEPARENT.fullmatch(traceparent)
        or traceparent.startswith("ff")
        or not tracing.valid_traceparent(traceparent)
    ):
        return None, None
    if not tracestate or len(tracestate) > _MAX_TRACESTATE:
        return traceparent, None
    return traceparent, TraceState.from_header([tracestate]).to_header() or None


def _check_identity(order_id: str, attributes: dict[str, str]) -> None:
    checks = [
        (_IDENTIFIER, "order id (key)", order_id),
        (_IDENTIFIER, "ce_correlationid", attributes["ce_correlationid"]),
        (_BOUNDED, "ce_source", attributes["ce_source"]),
        (_BOUNDED, "ce_time", attributes.get("ce_time", "-")),
        *(
            (_IDENTIFIER, name, attributes[name])
            for name in ("ce_sagaid", "ce_causationid")
            if name in attributes
        ),
    ]
    for rule, name, value in checks:
        try:
            rule.check(value, name)
        except PayloadError as exc:
            raise EnvelopeError(str(exc)) from exc
