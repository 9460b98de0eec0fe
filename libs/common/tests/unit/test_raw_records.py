"""A Kafka record survives being stored as JSON byte for byte, whatever its bytes: the replay of a dead
letter depends on it."""

import json

import pytest

from saga_common.messaging.records import (
    RawRecord,
    headers_from_json,
    headers_to_json,
    raw_headers,
    record_from_json,
    record_to_json,
)

AWKWARD = RawRecord(
    key=b"\xff\x00key",
    value=b"\x00\xfe{not json",
    headers=[
        ("ce_id", b"0b0e3c4e-0000-4000-8000-000000000001"),
        ("repeated", b"one"),
        ("repeated", b"two"),
        ("no-value", None),
        ("nul", b"a\x00b"),
        ("binary", b"\xff\xfe"),
        ("empty", b""),
        ("n\x00ame", b"x"),
    ],
)


@pytest.mark.parametrize("record", [AWKWARD, RawRecord(None, None, []), RawRecord(b"o-1", b"{}", [])])
def test_a_record_round_trips_through_json_text(record: RawRecord) -> None:
    # through json.dumps/loads, as it goes through a jsonb column
    assert record_from_json(json.loads(json.dumps(record_to_json(record)))) == record


def test_text_stays_readable_and_what_json_cannot_hold_is_base64() -> None:
    stored = headers_to_json(AWKWARD.headers)
    assert stored[0] == {"name": "ce_id", "value": "0b0e3c4e-0000-4000-8000-000000000001"}
    assert stored[3] == {"name": "no-value", "value": None}
    assert stored[4] == {"name": "nul", "value_base64": "YQBi"}
    assert stored[7] == {"name_base64": "bgBhbWU=", "value": "x"}
    assert "\\u0000" not in json.dumps(stored)  # jsonb refuses NUL characters
    assert headers_from_json(stored) == AWKWARD.headers


def test_headers_as_the_client_gives_them_become_bytes() -> None:
    assert raw_headers(None) == []
    assert raw_headers([("a", "text"), ("b", b"raw"), ("c", None)]) == [
        ("a", b"text"),
        ("b", b"raw"),
        ("c", None),
    ]


@pytest.mark.parametrize("stored", [{}, {"key": None, "value": "not base64!", "headers": []}, {"key": 1}])
def test_what_was_not_written_as_a_record_is_refused(stored: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a stored raw record"):
        record_from_json(stored)
