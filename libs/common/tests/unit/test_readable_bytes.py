"""A dead letter's bytes as text an operator reads (saga_common.operations.readable): every byte accounted
for, nothing that could rewrite a line or hide text, cut at a character and said to be cut."""

from saga_common.operations.readable import (
    PAYLOAD_LIMIT,
    clipped,
    escape,
    order_id_of,
    preview,
    readable_headers,
)

ORDER = "5b0c9f8e-0000-4000-8000-000000000001"


def test_utf8_text_is_shown_as_it_is() -> None:
    assert escape('{"city": "Köln", "note": "ok"}'.encode()) == '{"city": "Köln", "note": "ok"}'


def test_bytes_that_do_not_decode_are_written_as_hex() -> None:
    assert escape(b"ab\xffc\xc3") == "ab\\xffc\\xc3"  # \xc3 alone: a character begun, never ended


def test_controls_and_invisible_characters_are_escaped() -> None:
    raw = "a\nb\tc\x00d\x1b[2Je\u202ef\u00a0g".encode()  # a terminal reset, a right-to-left override
    assert escape(raw) == "a\\nb\\tc\\u0000d\\u001b[2Je\\u202ef\\u00a0g"


def test_a_backslash_is_doubled_so_the_text_stays_unambiguous() -> None:
    assert escape(b"\\xff") == "\\\\xff"  # the four characters, not the byte
    assert escape(b"\xff") == "\\xff"


def test_a_long_payload_is_cut_before_a_character_and_says_how_long_it_was() -> None:
    raw = b"a" + "é".encode() * 3000  # 6001 bytes; byte 4096 falls inside an é
    shown = preview(raw)
    assert shown is not None
    assert (shown.truncated, shown.size) == (True, 6001)
    assert shown.text == "a" + "é" * 2047  # 4095 bytes: the split é is left out, not escaped
    assert len(shown.text.encode()) <= PAYLOAD_LIMIT
    whole = preview(b"{}")
    assert whole is not None
    assert (whole.text, whole.truncated, whole.size) == ("{}", False, 2)
    assert preview(None) is None
    assert preview(memoryview(b"\x01")) == ("\\u0001", False, 1)  # as PostgreSQL gives a BinaryField


def test_a_short_part_that_was_cut_ends_with_the_mark() -> None:
    assert clipped(b"k" * 2000) == "k" * 1024 + "\\…"
    assert clipped(b"\\\xe2\x80\xa6") == "\\\\…"  # a backslash and an ellipsis in the data: doubled
    assert clipped(None) is None


def test_the_order_is_the_key_where_the_key_reads_as_an_order_id() -> None:
    assert order_id_of(ORDER.encode()) == ORDER
    assert order_id_of(memoryview(b"o-1")) == "o-1"
    for not_an_order in (None, b"", b"\xff\xfe", b"o 1", b"o-1\n", b"x" * 65, "o\u202e1".encode()):
        assert order_id_of(not_an_order) is None


def test_headers_keep_their_order_repeats_and_missing_values() -> None:
    stored: list[dict[str, str | None]] = [
        {"name": "ce_type", "value": "sagaref.payments.AuthorizePayment.v1"},
        {"name": "x", "value_base64": "AP8="},  # b"\x00\xff": not storable as text
        {"name": "x", "value": None},
        {"name": "evil\u202e", "value": "a\nb"},
    ]
    assert readable_headers(stored) == [
        {"name": "ce_type", "value": "sagaref.payments.AuthorizePayment.v1"},
        {"name": "x", "value": "\\u0000\\xff"},
        {"name": "x", "value": None},
        {"name": "evil\\u202e", "value": "a\\nb"},
    ]
