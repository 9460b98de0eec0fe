"""The message envelope every service puts on Kafka (see docs/design.md, "Kafka topics and messages")."""

import builtins
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from saga_common.contracts import Message, message_class
from saga_common.json_depth import MAX_JSON_DEPTH, nesting_exceeds
from saga_common.serialization import PayloadError, Text, from_dict, to_dict

M = TypeVar("M", bound=Message)
ENVELOPE_VERSION = 1
ENVELOPE_FIELDS = (
    "id",
    "type",
    "version",
    "saga_id",
    "order_id",
    "correlation_id",
    "causation_id",
    "occurred_at",
    "payload",
)


class EnvelopeError(ValueError):
    """Bytes that are not a valid envelope (a poison message)."""


def new_traceparent(trace_id: str | None = None) -> str:
    """Return a W3C traceparent for a new span, inside ``trace_id`` when given."""
    return f"00-{trace_id or secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


@dataclass(frozen=True)
class Envelope:
    """One message: its identity, its place in a saga and its payload."""

    id: str
    type: str
    order_id: str
    correlation_id: str
    payload: dict[str, Any]
    saga_id: str | None = None
    causation_id: str | None = None
    version: int = ENVELOPE_VERSION
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    traceparent: str = field(default_factory=new_traceparent)

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        order_id: str,
        correlation_id: str,
        saga_id: str | None = None,
        causation: "Envelope | None" = None,
        message_id: str | None = None,
    ) -> "Envelope":
        """Put ``message`` in an envelope; a ``causation`` message passes on its trace."""
        return cls(
            id=message_id or str(uuid.uuid4()),
            type=message.type_name(),
            order_id=order_id,
            correlation_id=correlation_id,
            payload=to_dict(message),
            saga_id=saga_id,
            causation_id=causation.id if causation else None,
            traceparent=new_traceparent(trace_id_of(causation.traceparent) if causation else None),
        )

    def message(self) -> Message:
        """Return the typed contract carried in the payload; raise EnvelopeError if it does not fit."""
        try:
            return from_dict(message_class(self.type), self.payload)
        except (KeyError, PayloadError) as exc:
            raise EnvelopeError(f"{self.type}: {exc}") from exc

    def message_as(self, cls: builtins.type[M]) -> M:
        """Return the payload as ``cls``; raise EnvelopeError if this envelope carries another type."""
        message = self.message()
        if not isinstance(message, cls):
            raise EnvelopeError(f"expected {cls.__name__}, got {self.type}")
        return message

    def body(self) -> dict[str, Any]:
        """Return the JSON value written to Kafka."""
        return {name: getattr(self, name) for name in ENVELOPE_FIELDS}

    def headers(self) -> dict[str, str]:
        return {"id": self.id, "type": self.type, "traceparent": self.traceparent}

    @classmethod
    def from_body(cls, body: Any, headers: dict[str, str] | None = None) -> "Envelope":
        """Rebuild an envelope from its JSON value (and Kafka headers); raise EnvelopeError."""
        if not isinstance(body, dict):
            raise EnvelopeError("envelope must be a JSON object")
        missing = [
            name for name in ("id", "type", "order_id", "correlation_id", "payload") if name not in body
        ]
        if missing:
            raise EnvelopeError(f"envelope lacks {missing}")
        if not isinstance(body["payload"], dict):
            raise EnvelopeError("envelope payload must be an object")
        try:
            uuid.UUID(str(body["id"]))
        except ValueError as exc:
            raise EnvelopeError(f"envelope id is not a uuid: {body['id']!r}") from exc
        _check_identity(body)
        values = {name: body[name] for name in ENVELOPE_FIELDS if name in body}
        traceparent = (headers or {}).get("traceparent") or new_traceparent()
        return cls(**values, traceparent=traceparent)

    @classmethod
    def from_kafka(cls, value: bytes | None, headers: Any) -> "Envelope":
        """Parse a Kafka record's value and headers (a list of (name, bytes) pairs, as the client gives)."""
        try:
            text = (value or b"").decode()
            if nesting_exceeds(text, MAX_JSON_DEPTH):  # json.loads would recurse past Python's limit
                raise EnvelopeError(f"value nests more than {MAX_JSON_DEPTH} levels deep")
            body = json.loads(text)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise EnvelopeError(f"value is not JSON: {exc!r}"[:500]) from exc
        decoded = {
            key: raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            for key, raw in (headers or [])
            if raw is not None
        }
        return cls.from_body(body, decoded)


# What the envelope's own fields may hold: ids the services store in 64-character columns and key by.
_IDENTITY_FIELDS = {
    "type": False,
    "order_id": False,
    "correlation_id": False,
    "saga_id": True,
    "causation_id": True,
}


_IDENTIFIER = Text(max_length=64)  # the contracts' rule for ids


def _check_identity(body: dict[str, Any]) -> None:
    for name, optional in _IDENTITY_FIELDS.items():
        value = body.get(name)
        if value is None and optional:
            continue
        try:
            _IDENTIFIER.check(value, f"envelope {name}")
        except PayloadError as exc:
            raise EnvelopeError(str(exc)) from exc
    if not isinstance(body.get("version", ENVELOPE_VERSION), int):
        raise EnvelopeError("envelope version must be an integer")
