"""A dead letter's key, headers and payload as text an operator can read safely, and its order.

A dead letter keeps its record byte for byte (``saga_common.messaging.records``), and a poison record
may hold anything: bytes that are not UTF-8, control characters that would rewrite a terminal line or
hide text on a page, a payload of a megabyte. Each part is shown as text that says exactly what the
bytes were: UTF-8 is decoded; a byte that does not decode is written ``\\xNN``; a character Python does
not call printable (controls, invisible formatting such as a right-to-left override, odd spaces) is
written ``\\n``, ``\\r``, ``\\t`` or ``\\uNNNN``; and a backslash itself is written ``\\\\``, so a reader
can tell the byte 0xff from the four characters ``\\xff``. The text is data: a JSON answer or a page
escapes it again for its own syntax, and nothing here is markup.

Parts are cut to keep a page of dead letters small. The payload says so in its own fields (truncated,
and its full size); a key, header name or header value that was cut ends in ``\\…``: a single backslash
before an ellipsis, which escaping never writes (a backslash in the data comes out doubled).
"""

import re
from typing import NamedTuple

from saga_common.messaging.records import headers_from_json

PAYLOAD_LIMIT = 4096  # bytes of the payload shown: a few KB, enough for any message of ours
PART_LIMIT = 1024  # bytes of a key, header name or header value shown
CUT = "\\…"

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# The envelope's key is the order id (saga_common.messaging.envelope): an identifier of at most 64
# characters, here also without spaces or controls, so it can be shown and looked up as it is.
_ORDER_ID = re.compile(r"[^\s\x00-\x1f\x7f]{1,64}")


class Preview(NamedTuple):
    text: str
    truncated: bool
    size: int  # the whole part's length in bytes


def escape(raw: bytes) -> str:
    """The bytes as text, every byte and character accounted for (see the module's doc)."""
    # surrogateescape turns each byte that does not decode into one lone surrogate, U+DC80 to U+DCFF,
    # which strict UTF-8 never yields otherwise: so those, and only those, were undecodable bytes.
    text = raw.decode("utf-8", "surrogateescape")
    if text.isprintable() and "\\" not in text:
        return text  # the usual case: nothing to escape
    return "".join(_escaped(char) for char in text)


def preview(raw: bytes | memoryview | None, limit: int = PAYLOAD_LIMIT) -> Preview | None:
    """The first ``limit`` bytes as text (cut before a character, not inside it), or None for no part."""
    if raw is None:
        return None
    data = bytes(raw)  # a BinaryField as PostgreSQL gives it back is a memoryview
    shown = _cut(data, limit)
    return Preview(escape(shown), len(shown) < len(data), len(data))


def clipped(raw: bytes | memoryview | None, limit: int = PART_LIMIT) -> str | None:
    """A short part (a key, a header) as text, ending in ``\\…`` if it was cut; None for no part."""
    shown = preview(raw, limit)
    if shown is None:
        return None
    return shown.text + CUT if shown.truncated else shown.text


def order_id_of(key: bytes | memoryview | None) -> str | None:
    """The order a record concerns: its key, where the key reads as an order id; else None."""
    if key is None:
        return None
    try:
        text = bytes(key).decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _ORDER_ID.fullmatch(text) and text.isprintable() else None


def readable_headers(stored: list[dict[str, str | None]]) -> list[dict[str, str | None]]:
    """The headers, in order and repeats kept, as ``{"name", "value"}`` texts (value None: no value)."""
    return [
        {"name": clipped(name.encode("utf-8", "surrogatepass")) or "", "value": clipped(value)}
        for name, value in headers_from_json(stored)
    ]


def _escaped(char: str) -> str:
    if char.isprintable():
        return "\\\\" if char == "\\" else char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if char in _SHORT:
        return _SHORT[char]
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _cut(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes, backing off (at most 3 bytes) so a UTF-8 character is not split."""
    if len(data) <= limit:
        return data
    end = limit
    while end > max(limit - 3, 0) and 0x80 <= data[end] <= 0xBF:  # a continuation byte: inside one
        end -= 1
    return data[:end]
