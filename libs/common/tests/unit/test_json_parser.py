"""The services' JSON parser measures nesting without recursing, and never lets json recurse deeply."""

import io
import json

import pytest
from rest_framework.exceptions import ParseError

from saga_common.web.parsers import MAX_JSON_DEPTH, JSONParser, nesting_exceeds


def parse(body: bytes) -> object:
    return JSONParser().parse(io.BytesIO(body), "application/json", {})


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "{{{{"]', 1),  # brackets in strings are text
        (r'["\"[[[[", "\\", [[]]]', 3),  # an escaped quote does not end a string; an escaped \ does
        (r'["\\\"[[[["]', 1),
    ],
)
def test_nesting_is_measured_as_json_sees_it(text: str, depth: int) -> None:
    json.loads(text)  # each case is valid JSON
    assert not nesting_exceeds(text, depth)
    assert nesting_exceeds(text, depth - 1) == (depth > 0)


def test_bodies_up_to_the_limit_parse() -> None:
    assert parse(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
def test_deeper_bodies_are_a_parse_error(depth: int) -> None:
    with pytest.raises(ParseError, match=f"nested more than {MAX_JSON_DEPTH} levels deep"):
        parse(b'{"a":' * depth + b"0" + b"}" * depth)


@pytest.mark.parametrize("body", [b"{", b"NaN", b"[Infinity]", b"\xff\xfe"])
def test_what_is_not_strict_json_is_a_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse(body)
