"""The one request body parser of every service (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES).

DRF's JSON parser hands the body to ``json``, which recurses once per level of nesting: a body of a
few thousand ``[`` (well under the body size limit) raised RecursionError, a 500. This parser
measures the nesting first, without recursing, and refuses anything deeper than ``MAX_JSON_DEPTH``
with a 400, before ``json`` or a serializer recurses over it.
"""

import json
import re
from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

# Our deepest body (an order: object, items list, item object) has 3 levels; 32 is generous.
MAX_JSON_DEPTH = 32

# Outside strings: what opens or closes a level, or starts a string.
_OUTSIDE = re.compile(r'[\[\]{}"]')
# The rest of a string after its opening quote, up to the closing one (a backslash escapes the next
# character). Possessive, so an unterminated string fails in one pass instead of backtracking.
_STRING_TAIL = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)


def nesting_exceeds(text: str, limit: int) -> bool:
    """Whether the JSON ``text`` nests arrays and objects more than ``limit`` levels deep.

    Linear, and stops at the first level too many; strings are skipped whole (brackets in them are
    text). On invalid JSON the answer may be either, but harmlessly: ``json`` reads strings the same
    way, so it fails on the text no deeper than this scan had got.
    """
    if text.count("[") + text.count("{") <= limit:  # most bodies: decided at C speed
        return False
    depth = 0
    position = 0
    while match := _OUTSIDE.search(text, position):
        char, position = match.group(), match.end()
        if char == '"':
            tail = _STRING_TAIL.match(text, position)
            if tail is None:  # unterminated: not JSON
                return False
            position = tail.end()
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            # Bounded: BodySizeLimitMiddleware has refused bodies over the limit.
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if nesting_exceeds(text, MAX_JSON_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep")
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # cannot happen after the depth check; a 400 all the same if it did
            raise ParseError("JSON parse error - nested too deeply") from None
