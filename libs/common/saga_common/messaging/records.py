"""A Kafka record kept exactly as it came (key, value and headers, byte for byte), stored as JSON.

Dead letters keep the record that failed so that a replay puts the very same bytes back on the topic:
the same key (so the same partition), the same headers (so the same message id, and the inbox
handles it once) and the same value, even when the record was poison (not JSON, not UTF-8, headers
repeated or without a value). PostgreSQL's json and text types cannot hold every byte string (no NUL,
only UTF-8), so each header part is kept as text when it can be and as base64 when it cannot.
"""

import base64
import binascii
import json
from typing import Any, NamedTuple

RawHeaders = list[tuple[str, bytes | None]]


class RawRecord(NamedTuple):
    """One Kafka record as the client gave it (headers in order, repeats kept)."""

    key: bytes | None
    value: bytes | None
    headers: RawHeaders


def raw_headers(headers: Any) -> RawHeaders:
    """The headers as confluent-kafka gives them (None, or (name, bytes | str | None) pairs), as bytes."""
    return [(str(name), value.encode() if isinstance(value, str) else value) for name, value in headers or []]


def headers_to_json(headers: RawHeaders) -> list[dict[str, str | None]]:
    """``[{"name": ..., "value": ...}]``; a part that is not NUL-free UTF-8 is kept in ``*_base64``."""
    stored = []
    for name, value in headers:
        entry: dict[str, str | None] = {}
        _put(entry, "name", name.encode("utf-8", "surrogatepass"))
        if value is None:
            entry["value"] = None
        else:
            _put(entry, "value", value)
        stored.append(entry)
    return stored


def headers_from_json(stored: list[dict[str, str | None]]) -> RawHeaders:
    """The inverse of ``headers_to_json``."""
    headers: RawHeaders = []
    for entry in stored:
        name = _take(entry, "name")
        headers.append(((name or b"").decode("utf-8", "surrogatepass"), _take(entry, "value")))
    return headers


def bytes_to_json(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode()


def bytes_from_json(stored: str | None) -> bytes | None:
    return None if stored is None else base64.b64decode(stored, validate=True)


def record_to_json(record: RawRecord) -> dict[str, Any]:
    """The record as a JSON object (an outbox row's body): key and value in base64, headers as above."""
    return {
        "key": bytes_to_json(record.key),
        "value": bytes_to_json(record.value),
        "headers": headers_to_json(record.headers),
    }


def record_from_json(stored: dict[str, Any]) -> RawRecord:
    """The inverse of ``record_to_json``; raises ValueError on anything it did not write."""
    try:
        return RawRecord(
            bytes_from_json(stored["key"]),
            bytes_from_json(stored["value"]),
            headers_from_json(stored["headers"]),
        )
    except (KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ValueError(f"not a stored raw record: {exc!r}") from exc


def record_from_text(text: str) -> RawRecord:
    """A record from the JSON text of ``record_to_json``; raises ValueError on anything else."""
    stored = json.loads(text)
    if not isinstance(stored, dict):
        raise ValueError("not a stored raw record: not a JSON object")
    return record_from_json(stored)


def _put(entry: dict[str, str | None], field: str, raw: bytes) -> None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        entry[field] = text
    else:
        entry[f"{field}_base64"] = base64.b64encode(raw).decode()


def _take(entry: dict[str, str | None], field: str) -> bytes | None:
    if f"{field}_base64" in entry:
        return base64.b64decode(entry[f"{field}_base64"] or "", validate=True)
    text = entry[field]
    return None if text is None else text.encode("utf-8")
